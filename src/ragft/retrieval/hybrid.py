"""Hybrid retrieval: one ranking fused from the dense and the BM25 ranking of each query.

Fusion (`fuse`) is `weight · dense part + (1 − weight) · BM25 part`, where a part is the
min-max-normalised score within the query's list (`score`, the convex combination that Bruch et
al. 2023 found better than RRF) or `1 / (rrf_k + rank)` (`rrf`, weighted reciprocal rank fusion),
and a chunk missing from a list gets 0 from it. Ties and empty matches carry no preference:
- a BM25 hit scoring 0 matched no query term (bm25s still fills its top k with such chunks, in
  arbitrary order), so it is no hit at all: it gets nothing from BM25 in either method;
- equal scores share a rank (the best of theirs: 1, 2, 2, 4), so they get equal RRF credit;
- a list whose scores are all equal (a single hit included) has no spread to normalise: in
  `score` fusion it gives 0 to each of its chunks, as to a missing one.
Fused ties go to the better rank in the list with the larger weight, then in the other, and only
then to the smaller chunk id. The weight is chosen on the train questions (`choose_weight`), never
on the eval ones: every weight of a grid from 0 (BM25 alone) to 1 (dense alone) is scored, so on
those questions the chosen fusion is at least as good as either part.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ragft.jsonl import write_json

METHODS = ("score", "rrf")
Hits = list[tuple[str, float]]


def matched(bm25: Hits) -> Hits:
    """The BM25 hits that matched a query term (score above 0); the others' order is arbitrary."""
    return [(c, s) for c, s in bm25 if s > 0]


def ranks(hits: Hits) -> dict[str, int]:
    """Each hit's rank by score, 1 the best; equal scores share the best rank of theirs (1, 2, 2, 4)."""
    desc = np.sort(-np.array([s for _, s in hits], dtype=np.float64))
    return {c: int(np.searchsorted(desc, -s, side="left")) + 1 for c, s in hits}


def _parts(hits: Hits, method: str, rrf_k: int) -> dict[str, float]:
    if method == "rrf":
        return {c: 1.0 / (rrf_k + r) for c, r in ranks(hits).items()}
    if not hits:
        return {}
    scores = [s for _, s in hits]
    lo, hi = min(scores), max(scores)
    return {c: (s - lo) / (hi - lo) if hi > lo else 0.0 for c, s in hits}  # all equal: no preference


def _candidates(dense: Hits, bm25: Hits, method: str, rrf_k: int):
    """Every chunk of either list (by id; BM25's unmatched left out) with its dense and BM25 parts
    and ranks (absent: after the last)."""
    if method not in METHODS:
        raise ValueError(f"retrieval.hybrid.method {method!r} is not one of: {', '.join(METHODS)}")
    bm25 = matched(bm25)
    d, b = _parts(dense, method, rrf_k), _parts(bm25, method, rrf_k)
    d_rank, b_rank = ranks(dense), ranks(bm25)
    ids = sorted({*d, *b})
    far = len(dense) + len(bm25) + 1
    return (ids, np.array([d.get(c, 0.0) for c in ids]), np.array([b.get(c, 0.0) for c in ids]),
            np.array([d_rank.get(c, far) for c in ids]), np.array([b_rank.get(c, far) for c in ids]))


def _ranked(candidates, weight: float, k: int | None = None) -> Hits:
    ids, d, b, d_rank, b_rank = candidates
    fused = weight * d + (1 - weight) * b
    first, second = (d_rank, b_rank) if weight >= 0.5 else (b_rank, d_rank)
    order = np.lexsort((np.arange(len(ids)), second, first, -fused))[:k]  # the last key sorts first
    return [(ids[i], float(fused[i])) for i in order]


def fuse(dense: Hits, bm25: Hits, weight: float, method: str = "score", rrf_k: int = 60) -> Hits:
    """Both lists of one query fused into one, best first, without BM25's unmatched (score 0) hits.
    Ties go to the better rank in the list with the larger weight, then in the other, then to the
    smaller id; so weight 1 keeps the dense order and weight 0 the BM25 order."""
    return _ranked(_candidates(dense, bm25, method, rrf_k), weight)


class HybridSearcher:
    """Top-k by fusing a dense and a BM25 searcher's top-`depth` lists."""

    def __init__(self, dense, bm25, weight: float, method: str = "score", rrf_k: int = 60, depth: int = 100):
        self.dense, self.bm25 = dense, bm25
        self.weight, self.method, self.rrf_k, self.depth = weight, method, rrf_k, depth

    def search(self, queries: list[str], k: int) -> list[Hits]:
        """For each query, the k best (chunk id, fused score) pairs, best first."""
        depth = max(k, self.depth)
        runs = zip(self.dense.search(queries, depth), self.bm25.search(queries, depth))
        return [fuse(d, b, self.weight, self.method, self.rrf_k)[:k] for d, b in runs]


def _metric_k(metric: str) -> int:
    m = re.fullmatch(r"(recall|answer_recall|mrr|ndcg)@(\d+)", metric)
    if not m:
        raise ValueError(f"retrieval.hybrid.metric {metric!r} is not one of recall@k, answer_recall@k, mrr@10, ndcg@10")
    return int(m.group(2))


def choose_weight(dense_runs: Sequence[Hits], bm25_runs: Sequence[Hits], questions: list[dict],
                  chunk_doc: Mapping[str, str], chunk_text: Mapping[str, str], *, metric: str = "mrr@10",
                  grid: int = 21, method: str = "score", rrf_k: int = 60) -> dict:
    """The dense weight, among `grid` evenly spaced ones from 0 to 1, whose fusion scores best on
    `metric` over `questions` (train questions). Ties go to the weight whose fusion has the higher
    sum of all retrieval metrics, then to the one nearest 0.5. Returns the weight with its score,
    the parts' scores and every weight's score; without questions the weight is 0.5."""
    from ragft.retrieval.metrics import retrieval_metrics

    k = _metric_k(metric)
    ks = tuple(sorted({1, 3, 5, 10, k}))
    weights = [round(i / (grid - 1), 6) for i in range(grid)] if grid > 1 else [0.5]
    out = {"weight": 0.5, "method": method, "rrf_k": rrf_k, "metric": metric, "n": len(questions)}
    if not questions:
        return {**out, "score": None, "dense": None, "bm25": None, "by_weight": {}}
    by_weight, keys = {}, {}
    candidates = [_candidates(d, b, method, rrf_k) for d, b in zip(dense_runs, bm25_runs)]
    for w in weights:
        runs = [_ranked(c, w, max(*ks, 10)) for c in candidates]
        m = retrieval_metrics(runs, questions, chunk_doc, chunk_text, ks)
        by_weight[w] = m.get(metric, 0.0)
        keys[w] = (by_weight[w], round(sum(m.values()), 6), -abs(w - 0.5))
    best = max(weights, key=lambda w: keys[w])
    parts = {p: retrieval_metrics(list(r), questions, chunk_doc, chunk_text, ks).get(metric, 0.0)
             for p, r in (("dense", dense_runs), ("bm25", bm25_runs))}
    return {**out, "weight": best, "score": by_weight[best], **parts,
            "by_weight": {str(w): s for w, s in by_weight.items()}}


def write_weights(path: str | Path, choice: dict, depth: int) -> None:
    """Write the chosen fusion (what `HybridSearcher` needs, and how it was chosen)."""
    write_json(path, {**choice, "depth": depth})


def read_weights(path: str | Path) -> dict:
    """The `HybridSearcher` settings in a weights file."""
    w = json.loads(Path(path).read_text())
    return {"weight": w["weight"], "method": w["method"], "rrf_k": w["rrf_k"], "depth": w["depth"]}
