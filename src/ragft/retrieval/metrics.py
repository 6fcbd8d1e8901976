"""Retrieval metrics: recall@k by gold doc and by answer string, MRR@10 and nDCG@10, per query
and over a question set, and the timed run of several retrievers.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

from ragft.answers import holds_answer


def recall_at_k(retrieved_doc_ids: Sequence[str], gold_doc_ids: Sequence[str], k: int) -> float:
    """1.0 if any gold doc is among the top `k` retrieved, else 0.0."""
    gold = set(gold_doc_ids)
    return float(any(d in gold for d in retrieved_doc_ids[:k]))


def answer_recall_at_k(retrieved_texts: Sequence[str], answers: Sequence[str], k: int) -> float:
    """1.0 if a normalised gold answer occurs (whole tokens) in any of the top-`k` texts."""
    return float(any(holds_answer(text, answers) for text in retrieved_texts[:k]))


def mrr_at_k(retrieved_doc_ids: Sequence[str], gold_doc_ids: Sequence[str], k: int) -> float:
    """Reciprocal rank of the first gold doc within the top `k`, else 0.0."""
    gold = set(gold_doc_ids)
    for rank, d in enumerate(retrieved_doc_ids[:k], 1):
        if d in gold:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(retrieved_doc_ids: Sequence[str], gold_doc_ids: Sequence[str], k: int = 10) -> float:
    """Binary-relevance nDCG@k; a gold doc gains only at its first occurrence."""
    gold = set(gold_doc_ids)
    seen: set[str] = set()
    dcg = 0.0
    for i, d in enumerate(retrieved_doc_ids[:k]):
        if d in gold and d not in seen:
            seen.add(d)
            dcg += 1.0 / math.log2(i + 2)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(gold), k)))
    return dcg / ideal if ideal else 0.0


def retrieval_metrics(runs: list[list[tuple[str, float]]], questions: list[dict], chunk_doc: dict[str, str],
                      chunk_text: dict[str, str], ks=(1, 3, 5, 10, 20)) -> dict:
    """recall@k (gold doc), answer_recall@k (answer string in a chunk), MRR@10 and nDCG@10."""
    out: dict[str, list[float]] = {}
    depth = max(*ks, 10)
    for q, hits in zip(questions, runs):
        ids = [c for c, _ in hits[:depth]]
        docs = [chunk_doc[c] for c in ids]
        holds = [holds_answer(chunk_text[c], q["answers"]) for c in ids]
        for k in ks:
            out.setdefault(f"answer_recall@{k}", []).append(float(any(holds[:k])))
        if not q["doc_ids"]:
            continue  # questions without a gold doc count only for answer recall
        for k in ks:
            out.setdefault(f"recall@{k}", []).append(recall_at_k(docs, q["doc_ids"], k))
        out.setdefault("mrr@10", []).append(mrr_at_k(docs, q["doc_ids"], 10))
        out.setdefault("ndcg@10", []).append(ndcg_at_k(docs, q["doc_ids"], 10))
    order = [f"recall@{k}" for k in ks] + [f"answer_recall@{k}" for k in ks] + ["mrr@10", "ndcg@10"]
    return {name: round(sum(out[name]) / len(out[name]), 6) for name in order if out.get(name)}


def run_retrievers(searchers: dict, questions: list[dict], chunk_doc: dict[str, str], chunk_text: dict[str, str],
                   ks=(1, 3, 5, 10, 20)) -> tuple[dict, dict]:
    """Search every question with each retriever (`{name: () -> searcher}`, built lazily) to
    depth max(ks): its metrics with queries/s (after one warm-up query), and its run records
    `{"id", "hits"}`."""
    metrics_by, runs_by = {}, {}
    for name, make in searchers.items():
        searcher = make()
        searcher.search([q["question"] for q in questions[:1]], 1)  # warm up: first calls load and allocate
        start = time.time()
        runs = searcher.search([q["question"] for q in questions], max(ks))
        qps = len(questions) / max(1e-9, time.time() - start)
        metrics_by[name] = {**retrieval_metrics(runs, questions, chunk_doc, chunk_text, ks),
                            "queries_per_s": round(qps, 1), "n": len(questions)}
        runs_by[name] = [
            {"id": q["id"], "hits": [{"chunk_id": c, "doc_id": chunk_doc[c], "score": round(s, 6)} for c, s in hits]}
            for q, hits in zip(questions, runs)
        ]
    return metrics_by, runs_by
