from ragft.finetune import build_train_data, data_report
from ragft.index import DenseSearcher
from ragft.jsonl import read_jsonl, write_json, write_jsonl
from ragft.logs import setup
from ragft.models import load_embedder, load_tokenizer

log = setup(snakemake.log[0], snakemake.threads)
p = snakemake.params
questions = read_jsonl(snakemake.input.train)
hits = None
if p.builders.get("retrieval", {}).get("enabled", False):
    searcher = DenseSearcher(snakemake.input.index, load_embedder(p.embedder))
    hits = searcher.search([q["question"] for q in questions], p.builders["retrieval"]["k"])
data = build_train_data(read_jsonl(snakemake.input.chunks), questions, p.builders, p.seed, p.templates, hits)
report = data_report(data, load_tokenizer(p.base))
write_jsonl(snakemake.output.train, data, sort_key=None)  # seeded training order
write_json(snakemake.output.report, report)
log.info("training data: %s", report)
