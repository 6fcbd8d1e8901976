"""Embedding, the dense FAISS index, the BM25 index, and search over both.

Dense: normalised float32 sentence embeddings in a FAISS index built from a factory string with
inner product (cosine on normalised vectors). Files: `index.faiss`, `ids.json` (row -> chunk id),
`meta.json` (embedder, dims, count, factory, build seconds).
BM25: bm25s over lower-cased word tokens; files written by bm25s plus `ids.json`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from ragft.jsonl import write_json

RETRIEVERS = ("none", "dense", "bm25")


def embed_texts(model, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
    """Normalised float32 embeddings, one row per text."""
    vecs = model.encode(
        texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=progress
    )
    return np.ascontiguousarray(vecs, dtype=np.float32)


def build_dense(vectors: np.ndarray, ids: list[str], out_dir: str | Path, embedder: str, factory: str = "Flat") -> dict:
    """Write a FAISS inner-product index of `vectors` and its id map; return its meta."""
    import faiss

    start = time.time()
    index = faiss.index_factory(vectors.shape[1], factory, faiss.METRIC_INNER_PRODUCT)
    if not index.is_trained:
        index.train(vectors)
    index.add(vectors)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    faiss.write_index(index, str(out_dir / "index.faiss"))
    write_json(out_dir / "ids.json", ids)
    meta = {
        "embedder": embedder,
        "dims": int(vectors.shape[1]),
        "count": len(ids),
        "factory": factory,
        "build_seconds": round(time.time() - start, 3),
    }
    write_json(out_dir / "meta.json", meta)
    return meta


def bm25_tokenize(texts: list[str]):
    """Lower-cased word tokens with English stop words removed (bm25s' own tokenizer)."""
    import bm25s

    return bm25s.tokenize(texts, lower=True, stopwords="en", show_progress=False)


def build_bm25(texts: list[str], ids: list[str], out_dir: str | Path, k1: float = 1.5, b: float = 0.75) -> None:
    """Write a BM25 index of `texts` and its id map."""
    import bm25s

    retriever = bm25s.BM25(k1=k1, b=b)
    retriever.index(bm25_tokenize(texts), show_progress=False)
    out_dir = Path(out_dir)
    retriever.save(str(out_dir))
    write_json(out_dir / "ids.json", ids)


class DenseSearcher:
    """Top-k search in a dense index with the embedder that built it."""

    def __init__(self, index_dir: str | Path, embedder):
        import faiss

        index_dir = Path(index_dir)
        self.index = faiss.read_index(str(index_dir / "index.faiss"))
        self.ids = json.loads((index_dir / "ids.json").read_text())
        self.embedder = embedder

    def search(self, queries: list[str], k: int) -> list[list[tuple[str, float]]]:
        """For each query, the k best (chunk id, score) pairs, best first."""
        scores, rows = self.index.search(embed_texts(self.embedder, queries), min(k, len(self.ids)))
        return [[(self.ids[r], float(s)) for r, s in zip(row, sc) if r >= 0] for row, sc in zip(rows, scores)]


class BM25Searcher:
    """Top-k search in a BM25 index."""

    def __init__(self, index_dir: str | Path):
        import bm25s

        index_dir = Path(index_dir)
        self.retriever = bm25s.BM25.load(str(index_dir))
        self.ids = json.loads((index_dir / "ids.json").read_text())

    def search(self, queries: list[str], k: int) -> list[list[tuple[str, float]]]:
        """For each query, the k best (chunk id, score) pairs, best first."""
        rows, scores = self.retriever.retrieve(bm25_tokenize(queries), k=min(k, len(self.ids)), show_progress=False)
        return [[(self.ids[int(r)], float(s)) for r, s in zip(row, sc)] for row, sc in zip(rows, scores)]
