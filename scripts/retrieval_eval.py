from ragft.evaluate import run_retrievers
from ragft.index import BM25Searcher, DenseSearcher
from ragft.jsonl import read_jsonl, write_json, write_jsonl
from ragft.logs import setup
from ragft.models import load_embedder

log = setup(snakemake.log[0], snakemake.threads)
chunks = read_jsonl(snakemake.input.chunks)
makers = {
    "dense": lambda: DenseSearcher(snakemake.input.dense, load_embedder(snakemake.params.embedder)),
    "bm25": lambda: BM25Searcher(snakemake.input.bm25),
}
metrics, runs = run_retrievers(
    {r: makers[r] for r in snakemake.params.retrievers},
    read_jsonl(snakemake.input.questions),
    {c["id"]: c["doc_id"] for c in chunks},
    {c["id"]: c["text"] for c in chunks},
    snakemake.params.ks,
)
for retriever, run_path in zip(snakemake.params.retrievers, snakemake.output.runs):
    write_jsonl(run_path, runs[retriever])
    log.info("%s: %s", retriever, metrics[retriever])
write_json(snakemake.output.metrics, metrics)
