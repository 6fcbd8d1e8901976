from ragft.jsonl import read_jsonl
from ragft.logs import setup
from ragft.retrieval.hybrid import choose_weight, write_weights
from ragft.retrieval.index import BM25Searcher, DenseSearcher

log = setup(snakemake.log[0], snakemake.threads)
h = snakemake.params.hybrid
chunks = read_jsonl(snakemake.input.chunks)
questions = read_jsonl(snakemake.input.questions)  # the train split: eval questions never tune
texts = [q["question"] for q in questions]
dense = DenseSearcher(snakemake.input.dense, cache_dir=snakemake.config["embed"].get("cache") or None).search(texts, h["depth"])
bm25 = BM25Searcher(snakemake.input.bm25).search(texts, h["depth"])
choice = choose_weight(dense, bm25, questions, {c["id"]: c["doc_id"] for c in chunks}, {c["id"]: c["text"] for c in chunks},
                       metric=h["metric"], grid=h["grid"], method=h["method"], rrf_k=h["rrf_k"])
write_weights(snakemake.output.weights, choice, h["depth"])
log.info("hybrid weights: %s", choice)
