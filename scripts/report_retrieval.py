from ragft import plots
from ragft.jsonl import read_json, write_text
from ragft.logs import setup
from ragft.report import retrieval_markdown

log = setup(snakemake.log[0])
metrics = read_json(snakemake.input.metrics)
write_text(snakemake.output.md, retrieval_markdown(metrics, read_json(snakemake.input.hybrid)))
plots.recall_at_k(metrics, snakemake.output.recall_at_k, f"Retrieval recall@k on {snakemake.wildcards.corpus}")
log.info("retrieval table and recall@k plot of %d retrievers written", len(metrics))
