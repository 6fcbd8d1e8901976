from ragft.jsonl import read_json, write_text
from ragft.logs import setup
from ragft.report import plots
from ragft.report.tables import (
    hybrid_note,
    retrieval_markdown,
    retrieval_table,
    to_html,
)

log = setup(snakemake.log[0])
corpus = snakemake.wildcards.corpus
metrics, hybrid = read_json(snakemake.input.metrics), read_json(snakemake.input.hybrid)
write_text(snakemake.output.md, retrieval_markdown(metrics, hybrid))
write_text(snakemake.output.html, to_html(retrieval_table(metrics), f"Retrievers on {corpus}", hybrid_note(hybrid)))
plots.recall_at_k(metrics, snakemake.output.recall_at_k, f"Retrieval recall@k on {corpus}")
log.info("retrieval table and recall@k plot of %d retrievers written", len(metrics))
