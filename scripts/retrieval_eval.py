from ragft.jsonl import read_jsonl, write_json, write_jsonl
from ragft.logs import setup
from ragft.retrieval.index import open_searcher
from ragft.retrieval.metrics import run_retrievers

log = setup(snakemake.log[0], snakemake.threads)
p = snakemake.params
chunks = read_jsonl(snakemake.input.chunks)
chunk_text = {c["id"]: c["text"] for c in chunks}
opened = {}  # retrievers share their loaded indexes and models
makers = {
    r: (lambda r=r: open_searcher(r, dict(snakemake.input.items()), chunk_text=chunk_text, reranker=p.reranker,
                                  cache_dir=snakemake.config["embed"].get("cache") or None, opened=opened))
    for r in p.retrievers
}
metrics, runs = run_retrievers(
    makers, read_jsonl(snakemake.input.questions), {c["id"]: c["doc_id"] for c in chunks}, chunk_text, p.ks
)
for retriever, run_path in zip(p.retrievers, snakemake.output.runs):
    write_jsonl(run_path, runs[retriever])
    log.info("%s: %s", retriever, metrics[retriever])
write_json(snakemake.output.metrics, metrics)
