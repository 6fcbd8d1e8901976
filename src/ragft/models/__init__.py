"""Stage `model` (rules/model.smk) and the causal-LM building blocks every later stage shares:
model specs and built-ins (`specs`), loading (`load`), training batches and loss (`batches`),
batched generation and answer scoring (`generate`), and `builtin:tiny` (`tiny`, `reading_corpus`)."""
