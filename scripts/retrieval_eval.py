import time

from ragft.evaluate import retrieval_metrics
from ragft.index import BM25Searcher, DenseSearcher
from ragft.jsonl import read_jsonl, write_json, write_jsonl
from ragft.logs import setup
from ragft.models import load_embedder

log = setup(snakemake.log[0], snakemake.threads)
chunks = read_jsonl(snakemake.input.chunks)
chunk_doc = {c["id"]: c["doc_id"] for c in chunks}
chunk_text = {c["id"]: c["text"] for c in chunks}
questions = read_jsonl(snakemake.input.questions)
searchers = {
    "dense": lambda: DenseSearcher(snakemake.input.dense, load_embedder(snakemake.params.embedder)),
    "bm25": lambda: BM25Searcher(snakemake.input.bm25),
}
k = max(snakemake.params.ks)
results = {}
for retriever, run_path in zip(snakemake.params.retrievers, snakemake.output.runs):
    searcher = searchers[retriever]()
    start = time.time()
    runs = searcher.search([q["question"] for q in questions], k)
    qps = len(questions) / max(1e-9, time.time() - start)
    results[retriever] = {**retrieval_metrics(runs, questions, chunk_doc, chunk_text, snakemake.params.ks),
                          "queries_per_s": round(qps, 1), "n": len(questions)}
    write_jsonl(run_path, [
        {"id": q["id"], "hits": [{"chunk_id": c, "doc_id": chunk_doc[c], "score": round(s, 6)} for c, s in hits]}
        for q, hits in zip(questions, runs)
    ])
    log.info("%s: %s", retriever, results[retriever])
write_json(snakemake.output.metrics, results)
