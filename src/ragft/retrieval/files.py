"""Which index files each retriever searches: the one mapping the rules, evaluation and `ragft ask` share."""

from __future__ import annotations

from pathlib import Path

# under results/{corpus}/
INDEX_FILES = {"dense": "index/dense", "bm25": "index/bm25", "hybrid": "index/hybrid.json"}
NEEDS = {"none": (), "dense": ("dense",), "bm25": ("bm25",), "hybrid": ("dense", "bm25", "hybrid")}


def index_files(retriever: str, corpus_dir: str | Path, first_stage: str = "hybrid") -> dict[str, str]:
    """The files a retriever searches, by name (`dense`, `bm25`, `hybrid`), under a corpus's results
    folder; `rerank` searches its first stage's (`retrieval.reranker.first_stage`)."""
    if retriever == "rerank":
        retriever = first_stage
    if retriever not in NEEDS:
        raise ValueError(f"retriever {retriever!r} is not one of: {', '.join([*NEEDS, 'rerank'])}")
    return {name: f"{corpus_dir}/{INDEX_FILES[name]}" for name in NEEDS[retriever]}
