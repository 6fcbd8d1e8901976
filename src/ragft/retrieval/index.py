"""The dense FAISS index, the BM25 index, and search over them.

Dense: normalised float32 vectors (see `ragft.embed`) in a FAISS index built from an
`index_factory` string with inner product (cosine on normalised vectors), or `auto`, which picks
the factory by vector count (`choose_factory`). An approximate index gets its search parameter
(`nprobe`, `efSearch`) tuned at build time to reach a target recall@10 against exact search
on held-out vectors (`tune_search`) unless one is configured. Files: `index.faiss`, `ids.json` (row -> chunk id),
`meta.json` (embedder, backend, quantize, query and passage prompts, dims, count, factory, search
parameters, build seconds); queries are embedded with the backend and query prompt it records.
BM25: bm25s over lower-cased word tokens, English stop words removed; files written by bm25s plus
`ids.json`.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ragft.config import schema_defaults
from ragft.jsonl import atomic_directory, write_json
from ragft.retrieval.embed import Embedder, describe, model_prompts, own_prompt
from ragft.retrieval.files import NEEDS

RETRIEVERS = (*NEEDS, "rerank")
AUTO_FLAT_BELOW = 50_000  # exact search up to here: < ~1 ms a query on one core
AUTO_HNSW_QUANTIZER_FROM = 1_000_000  # coarse assignment by HNSW instead of scanning K centroids
AUTO_SQ8_FROM = 10_000_000  # 8-bit scalar codes: a quarter of the memory, recall barely changes
TRAIN_POINTS_PER_CENTROID = 40  # k-means sample per IVF centroid (FAISS asks for at least 39)


def choose_factory(n: int) -> str:
    """The FAISS factory string `auto` stands for at `n` vectors, after FAISS's guidelines
    (wiki: "Guidelines to choose an index"): exact `Flat` below 50,000 vectors; above, an inverted
    file with K = 4·sqrt(n) lists (the low end of FAISS's 4–16·sqrt(n), so that k-means stays
    quick), rounded to a power of two; from 1M vectors its coarse quantizer is HNSW32, from 10M
    the vectors are stored as 8-bit scalar codes."""
    if n < AUTO_FLAT_BELOW:
        return "Flat"
    lists = 2 ** round(math.log2(4 * math.sqrt(n)))
    quantizer = "_HNSW32" if n >= AUTO_HNSW_QUANTIZER_FROM else ""
    codes = "SQ8" if n >= AUTO_SQ8_FROM else "Flat"
    return f"IVF{lists}{quantizer},{codes}"


def exact_neighbours(queries: np.ndarray, vectors: np.ndarray, k: int) -> np.ndarray:
    """Row ids of the exact top-k inner products of each query, best first."""
    import faiss

    _, rows = faiss.knn(np.ascontiguousarray(queries), np.ascontiguousarray(vectors), k,
                        metric=faiss.METRIC_INNER_PRODUCT)
    return rows


def _search_knob(index) -> tuple[str, list[int]]:
    """The parameter that trades speed for recall, and the values to try, smallest first."""
    import faiss

    ivf = faiss.try_extract_index_ivf(index)
    if ivf is not None:
        return "nprobe", [p for p in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512) if p <= ivf.nlist] or [1]
    if isinstance(faiss.downcast_index(index), faiss.IndexHNSW):
        return "efSearch", [16, 32, 64, 128, 256, 512, 1024]
    return "", []


def _param_string(index, knob: str, value: int) -> str:
    import faiss

    ivf = faiss.try_extract_index_ivf(index)
    if knob == "nprobe" and ivf is not None and isinstance(faiss.downcast_index(ivf.quantizer), faiss.IndexHNSW):
        return f"nprobe={value},quantizer_efSearch={max(64, 2 * value)}"
    return f"{knob}={value}"


def recall_at_k(found: np.ndarray, truth: np.ndarray, k: int = 10) -> float:
    """Mean share of each query's exact top-k rows (`truth`) that the search found (`found`)."""
    hits = sum(len(set(t[:k]) & {r for r in f[:k] if r >= 0}) for t, f in zip(truth, found))
    return hits / (k * len(truth)) if len(truth) else 0.0


def tune_search(index, vectors: np.ndarray, queries: np.ndarray, target: float = 0.95,
                k: int = 10) -> tuple[str, float | None]:
    """The cheapest search setting (smallest nprobe or efSearch) whose recall@k against exact
    search over `vectors` (what `index` holds) reaches `target` on `queries`, else the best one
    tried; with its recall. Exact indexes need none: ("", None)."""
    import faiss

    knob, values = _search_knob(index)
    if not knob or not len(queries):
        return "", None
    queries = np.ascontiguousarray(queries)
    truth = exact_neighbours(queries, vectors, k)
    space = faiss.ParameterSpace()
    best = ("", -1.0)
    for value in values:
        params = _param_string(index, knob, value)
        space.set_index_parameters(index, params)
        recall = recall_at_k(index.search(queries, k)[1], truth, k)
        if recall > best[1]:
            best = (params, recall)
        if recall >= target:
            break
    space.set_index_parameters(index, best[0])
    return best[0], round(best[1], 4)


def build_index(vectors: np.ndarray, factory: str = "Flat", seed: int = 0, search_params: str = "",
                target_recall: float = 0.95, holdout: int = 200) -> dict:
    """A trained, filled and tuned FAISS inner-product index (`auto` resolved by `choose_factory`).

    An approximate index without `search_params` is tuned (`tune_search`) with `holdout` vectors
    as queries that are added only afterwards, so the recall is that of unseen queries. Returns
    `index`, `factory`, `order` (the row of `vectors` at each index position), `search_params`
    and `tuned_recall`."""
    import faiss

    factory = choose_factory(len(vectors)) if factory == "auto" else factory
    index = faiss.index_factory(vectors.shape[1], factory, faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(seed)
    if not index.is_trained:
        ivf = faiss.try_extract_index_ivf(index)
        sample = vectors
        if ivf is not None:
            ivf.cp.seed = seed
            cap = TRAIN_POINTS_PER_CENTROID * ivf.nlist
            if len(vectors) > cap:
                sample = vectors[np.sort(rng.choice(len(vectors), cap, replace=False))]
        try:
            index.train(sample)
        except RuntimeError as err:
            raise ValueError(f"index.factory {factory!r} cannot be trained on {len(vectors)} vectors "
                             f"({str(err).splitlines()[0]}); use auto or Flat") from err
    order, tuned = np.arange(len(vectors)), None
    if search_params:
        index.add(vectors)
        faiss.ParameterSpace().set_index_parameters(index, search_params)
    elif _search_knob(index)[0] and len(vectors) >= 2:
        held = np.zeros(len(vectors), dtype=bool)
        held[rng.choice(len(vectors), min(holdout, len(vectors) // 5 or 1), replace=False)] = True
        order = np.concatenate([np.flatnonzero(~held), np.flatnonzero(held)])
        index.add(vectors[~held])
        search_params, tuned = tune_search(index, vectors[~held], vectors[held], target_recall)
        index.add(vectors[held])
    else:
        index.add(vectors)
    return {"index": index, "factory": factory, "order": order, "search_params": search_params,
            "tuned_recall": tuned}


def build_dense(vectors: np.ndarray, ids: list[str], out_dir: str | Path, embedder, factory: str = "Flat",
                search_params: str = "", target_recall: float = 0.95, seed: int = 0,
                embedding: dict | None = None) -> dict:
    """Write a FAISS inner-product index of `vectors` and its id map; return its meta.

    `embedder` is a `ragft.embed.Embedder` or a model spec (torch, the model's own prompts);
    `embedding` (counts of embedded and cached chunks, how `auto` chose the backend) is recorded
    as given."""
    import faiss

    if len(vectors) != len(ids):
        raise ValueError(f"{len(vectors)} vectors for {len(ids)} ids")
    start = time.time()
    built = build_index(np.ascontiguousarray(vectors, dtype=np.float32), factory, seed, search_params, target_recall)
    if isinstance(embedder, str):  # the model folder's own prompts, if it is one
        own = model_prompts(embedder) or {}
        embedder = Embedder(embedder, query_prompt=own_prompt(own, "query"), passage_prompt=own_prompt(own, "passage"))
    described = describe(embedder)
    meta = {
        "embedder": described.pop("model"),
        **described,
        "dims": int(vectors.shape[1]),
        "count": len(ids),
        "factory": built["factory"],
        "factory_config": factory,
        "search_params": built["search_params"],
        "tuned_recall@10": built["tuned_recall"],
        "build_seconds": round(time.time() - start, 3),
    }
    if embedding is not None:
        meta["embedding"] = embedding
    with atomic_directory(out_dir) as tmp:  # a killed build leaves no index a rerun would accept
        faiss.write_index(built["index"], str(tmp / "index.faiss"))
        write_json(tmp / "ids.json", [ids[i] for i in built["order"]])
        write_json(tmp / "meta.json", meta)
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
    with atomic_directory(out_dir) as tmp:
        retriever.save(str(tmp))
        write_json(tmp / "ids.json", ids)


class DenseSearcher:
    """Top-k search in a dense index, queries embedded as its meta.json says (model, backend,
    quantisation, query prompt) or by `embedder`;
    `cache_dir` is where exported onnx/openvino models are found (queries are not cached, so
    queries/s measures the real work)."""

    def __init__(self, index_dir: str | Path, embedder=None, cache_dir: str | Path | None = None):
        import faiss

        index_dir = Path(index_dir)
        self.index = faiss.read_index(str(index_dir / "index.faiss"))
        self.ids = json.loads((index_dir / "ids.json").read_text())
        self.meta = json.loads((index_dir / "meta.json").read_text())
        if self.meta.get("search_params"):
            faiss.ParameterSpace().set_index_parameters(self.index, self.meta["search_params"])
        if embedder is None or isinstance(embedder, str):
            # an index from before prompts were recorded was embedded without any
            embedder = Embedder(embedder or self.meta["embedder"], self.meta.get("backend", "torch"),
                                self.meta.get("quantize", "none"), cache_dir=cache_dir,
                                query_prompt=self.meta.get("query_prompt", ""),
                                passage_prompt=self.meta.get("passage_prompt", ""))
        self.embedder = embedder

    def search(self, queries: list[str], k: int) -> list[list[tuple[str, float]]]:
        """For each query, the k best (chunk id, score) pairs, best first."""
        if isinstance(self.embedder, Embedder):
            vecs = self.embedder.encode(queries, kind="query")
        else:  # a plain SentenceTransformer
            vecs = np.asarray(self.embedder.encode(queries, normalize_embeddings=True), dtype=np.float32)
        scores, rows = self.index.search(np.ascontiguousarray(vecs), min(k, len(self.ids)))
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


def open_searcher(retriever: str, paths: Mapping[str, str], *, chunk_text: Mapping[str, str] | None = None,
                  reranker: Mapping | None = None, cache_dir: str | Path | None = None,
                  opened: dict | None = None):
    """The searcher of a retriever (`none` gives None) from its index files: `paths` holds `dense`
    and `bm25` index folders, `hybrid` (its weights file) and `reranker` (a cross-encoder folder) as
    the retriever needs them. `opened` shares loaded indexes between calls."""
    opened = {} if opened is None else opened

    def part(name, make):
        if name not in opened:
            opened[name] = make()
        return opened[name]

    if retriever == "none":
        return None
    if retriever == "dense":
        return part("dense", lambda: DenseSearcher(paths["dense"], cache_dir=cache_dir))
    if retriever == "bm25":
        return part("bm25", lambda: BM25Searcher(paths["bm25"]))
    if retriever == "hybrid":
        from ragft.retrieval.hybrid import HybridSearcher, read_weights

        return HybridSearcher(open_searcher("dense", paths, cache_dir=cache_dir, opened=opened),
                              open_searcher("bm25", paths, opened=opened), **read_weights(paths["hybrid"]))
    if retriever == "rerank":
        from ragft.retrieval.rerank import Reranker, RerankSearcher

        reranker = {**schema_defaults("retrieval.reranker"), **(reranker or {})}
        if not reranker["model"]:
            raise ValueError("retriever rerank needs retrieval.reranker.model (a cross-encoder folder)")
        first = open_searcher(reranker["first_stage"], paths, cache_dir=cache_dir, opened=opened)
        model = part("reranker", lambda: Reranker(paths.get("reranker") or reranker["model"], reranker["batch_size"]))
        return RerankSearcher(first, model, chunk_text or {}, reranker["top_n"])
    raise ValueError(f"retriever {retriever!r} is not one of: {', '.join(RETRIEVERS)}")
