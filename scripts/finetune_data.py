from ragft.finetune import build_train_data, data_report
from ragft.jsonl import read_jsonl, write_json, write_jsonl
from ragft.logs import setup
from ragft.models import load_tokenizer

log = setup(snakemake.log[0])
p = snakemake.params
data = build_train_data(read_jsonl(snakemake.input.chunks), read_jsonl(snakemake.input.train), p.builders, p.seed, p.templates)
report = data_report(data, load_tokenizer(p.base))
write_jsonl(snakemake.output.train, data, sort_key=None)  # seeded training order
write_json(snakemake.output.report, report)
log.info("training data: %s", report)
