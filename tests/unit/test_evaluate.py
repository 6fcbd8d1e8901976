from ragft.evaluate import retrieval_hits, retrieval_metrics, system_prompts

CHUNK_DOC = {"a#0": "a", "a#1": "a", "b#0": "b", "c#0": "c"}
CHUNK_TEXT = {"a#0": "Alpha is red.", "a#1": "Alpha grows fast.", "b#0": "Beta is 42 days.", "c#0": "Gamma."}
QUESTIONS = [
    {"id": "q1", "question": "Beta?", "answers": ["42 days"], "doc_ids": ["b"]},
    {"id": "q2", "question": "Alpha?", "answers": ["red"], "doc_ids": ["a"]},
    {"id": "q3", "question": "Delta?", "answers": ["blue"], "doc_ids": []},
]
RUNS = [
    [("a#0", 0.9), ("b#0", 0.8), ("c#0", 0.1)],   # gold at rank 2
    [("a#1", 0.7), ("a#0", 0.6), ("c#0", 0.2)],   # gold doc at rank 1, answer only in rank 2
    [("c#0", 0.5), ("b#0", 0.4), ("a#0", 0.3)],   # no gold doc, no answer
]


def test_retrieval_metrics_on_a_hand_built_case():
    m = retrieval_metrics(RUNS, QUESTIONS, CHUNK_DOC, CHUNK_TEXT, ks=(1, 3))
    assert m == {
        "recall@1": 0.5, "recall@3": 1.0,                      # over q1, q2 (q3 has no gold doc)
        "answer_recall@1": 0.0, "answer_recall@3": round(2 / 3, 6),  # over all three
        "mrr@10": 0.75,                                         # (1/2 + 1) / 2
        "ndcg@10": round((1 / 1.5849625007211562 + 1) / 2, 6),
    }


def test_retrieval_hits_from_predictions():
    preds = [{"id": q["id"], "answers": q["answers"], "contexts": [{"chunk_id": c, "score": s} for c, s in r[:1]]}
             for q, r in zip(QUESTIONS, RUNS)]
    assert retrieval_hits(preds, QUESTIONS, CHUNK_DOC, CHUNK_TEXT, 1) == {"recall@1": 0.5, "answer_recall@1": 0.0}


def test_prompts_put_retrieved_chunks_in_rank_order():
    p = system_prompts(QUESTIONS[:1], [RUNS[0][:2]], CHUNK_TEXT, [], None)
    assert p == ["Context:\nAlpha is red.\n\nBeta is 42 days.\n\nQuestion: Beta?\nAnswer:"]
    assert system_prompts(QUESTIONS[:1], [[]], CHUNK_TEXT, [], None) == ["Question: Beta?\nAnswer:"]


def test_shots_are_seeded_and_optional():
    from ragft.evaluate import pick_shots

    train = [{"id": f"q{i}"} for i in range(10)]
    assert pick_shots(train, 0, 1) == []
    assert pick_shots(train, 3, 1) == pick_shots(train, 3, 1) and len(pick_shots(train, 3, 1)) == 3


def test_run_retrievers_scores_each_and_keeps_runs():
    from ragft.evaluate import run_retrievers

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
