"""Retrieval metrics: recall@k, answer recall@k, MRR and nDCG per question, and over runs of retrievers."""

import math

import pytest

from ragft.retrieval.metrics import (
    answer_recall_at_k,
    mrr_at_k,
    ndcg_at_k,
    recall_at_k,
    retrieval_metrics,
)

from ..retrieval_case import CHUNK_DOC, CHUNK_TEXT, QUESTIONS, RUNS


def test_retrieval_metrics_on_a_hand_built_case():
    m = retrieval_metrics(RUNS, QUESTIONS, CHUNK_DOC, CHUNK_TEXT, ks=(1, 3))
    assert m == {
        "recall@1": 0.5, "recall@3": 1.0,                      # over q1, q2 (q3 has no gold doc)
        "answer_recall@1": 0.0, "answer_recall@3": round(2 / 3, 6),  # over all three
        "mrr@10": 0.75,                                         # (1/2 + 1) / 2
        "ndcg@10": round((1 / 1.5849625007211562 + 1) / 2, 6),
    }


def test_run_retrievers_scores_each_and_keeps_runs():
    from ragft.retrieval.metrics import run_retrievers

    class Fixed:
        def search(self, queries, k):
            return RUNS[: len(queries)]

    metrics, runs = run_retrievers({"fixed": Fixed}, QUESTIONS, CHUNK_DOC, CHUNK_TEXT, ks=(1, 3))
    assert metrics["fixed"]["recall@3"] == 1.0 and metrics["fixed"]["mrr@10"] == 0.75 and metrics["fixed"]["n"] == 3
    assert runs["fixed"][0] == {"id": "q1", "hits": [{"chunk_id": "a#0", "doc_id": "a", "score": 0.9},
                                                     {"chunk_id": "b#0", "doc_id": "b", "score": 0.8},
                                                     {"chunk_id": "c#0", "doc_id": "c", "score": 0.1}]}


def test_every_retrieval_metric_at_every_k():
    chunk_doc = {f"x{i}": f"D{i}" for i in range(25)}
    chunk_text = {f"x{i}": f"filler {i}" for i in range(25)}
    questions = [{"id": "q1", "question": "?", "answers": ["Filler 3"], "doc_ids": ["D3"]},  # gold and answer at rank 4
                 {"id": "q2", "question": "?", "answers": ["nowhere"], "doc_ids": ["D11"]}]  # gold at rank 12
    runs = [[(f"x{i}", 1 - i / 100) for i in range(25)]] * 2
    assert retrieval_metrics(runs, questions, chunk_doc, chunk_text) == {
        "recall@1": 0.0, "recall@3": 0.0, "recall@5": 0.5, "recall@10": 0.5, "recall@20": 1.0,
        "answer_recall@1": 0.0, "answer_recall@3": 0.0, "answer_recall@5": 0.5, "answer_recall@10": 0.5,
        "answer_recall@20": 0.5,
        "mrr@10": 0.125,                       # (1/4 + 0) / 2: rank 12 is past 10
        "ndcg@10": round(1 / 2.321928094887362 / 2, 6),  # (1/log2(5) + 0) / 2
    }


def test_retrieval_gold_at_rank_two_with_duplicate_chunks():
    ranked, gold = ["d2", "d1", "d1", "d3"], ["d1"]
    assert recall_at_k(ranked, gold, 1) == 0.0
    assert recall_at_k(ranked, gold, 2) == 1.0
    assert mrr_at_k(ranked, gold, 10) == 0.5
    assert mrr_at_k(ranked, gold, 1) == 0.0
    assert ndcg_at_k(ranked, gold, 10) == pytest.approx(1 / math.log2(3))


def test_ndcg_two_gold_docs():
    ranked, gold = ["a", "x", "b", "y"], ["a", "b"]
    ideal = 1 + 1 / math.log2(3)
    assert ndcg_at_k(ranked, gold, 10) == pytest.approx((1 + 1 / math.log2(4)) / ideal)
    assert ndcg_at_k(ranked, gold, 2) == pytest.approx(1 / ideal)
    assert ndcg_at_k(ranked, gold, 1) == 1.0
    # repeated chunks of one gold doc gain once
    assert ndcg_at_k(["g", "g", "g"], ["g", "h"]) == pytest.approx(1 / ideal)


def test_retrieval_without_gold_scores_zero():
    assert recall_at_k(["a"], [], 5) == 0.0
    assert mrr_at_k(["a"], [], 5) == 0.0
    assert ndcg_at_k(["a"], []) == 0.0


def test_answer_recall_at_k():
    texts = ["Nothing here.", "The capital is Paris."]
    assert answer_recall_at_k(texts, ["paris"], 1) == 0.0
    assert answer_recall_at_k(texts, ["paris"], 2) == 1.0
    assert answer_recall_at_k(texts, ["the"], 2) == 0.0  # empty after normalisation
