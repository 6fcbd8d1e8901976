"""Stage `evaluate` (rules/evaluate.smk): each system answers the eval questions (`answer`: retrieve,
fit the prompt, generate, score the gold answer), its answers are scored (`metrics`), and an
optional local LLM judges them (`judge`)."""
