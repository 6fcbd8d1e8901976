from ragft.evaluate.judge import judge
from ragft.jsonl import read_jsonl, write_jsonl
from ragft.logs import setup
from ragft.models.load import load_causal_lm, load_tokenizer
from ragft.prompts import chat_prompt, uses_chat

log = setup(snakemake.log[0], snakemake.threads)
spec, trust = snakemake.params.judge, snakemake.params.trust_remote_code
tokenizer = load_tokenizer(snakemake.input.model, trust)
model = load_causal_lm(snakemake.input.model, None, spec["dtype"], trust)
render = (lambda p: chat_prompt(tokenizer, p, {"instruction": None})) if uses_chat(tokenizer, spec["chat_template"]) else None
verdicts = judge(model, tokenizer, read_jsonl(snakemake.input.predictions), spec.get("template"), spec["batch_size"], render)
write_jsonl(snakemake.output.judge, verdicts)
log.info("judged %d answers: %d correct", len(verdicts), sum(v["judge"] for v in verdicts))
