"""Answering the eval questions: prompts from retrieved chunks, shots, the prompt limit, hits, and the
recorded predictions and fine-tuning cost."""

import pytest

from ragft.evaluate.answer import retrieval_hits, system_prompts

from ..retrieval_case import CHUNK_DOC, CHUNK_TEXT, QUESTIONS, RUNS


def test_retrieval_hits_from_predictions():
    preds = [{"id": q["id"], "answers": q["answers"], "contexts": [{"chunk_id": c, "score": s} for c, s in r[:1]]}
             for q, r in zip(QUESTIONS, RUNS)]
    assert retrieval_hits(preds, QUESTIONS, CHUNK_DOC, CHUNK_TEXT, 1) == {"recall@1": 0.5, "answer_recall@1": 0.0}


def test_prompts_put_retrieved_chunks_in_rank_order():
    p = system_prompts(QUESTIONS[:1], [RUNS[0][:2]], CHUNK_TEXT, [], None)
    assert p == ["Context:\nAlpha is red.\n\nBeta is 42 days.\n\nQuestion: Beta?\nAnswer:"]
    assert system_prompts(QUESTIONS[:1], [[]], CHUNK_TEXT, [], None) == ["Question: Beta?\nAnswer:"]


def test_shots_are_seeded_and_optional():
    from ragft.evaluate.answer import pick_shots

    train = [{"id": f"q{i}"} for i in range(10)]
    assert pick_shots(train, 0, 1) == []
    assert pick_shots(train, 3, 1) == pick_shots(train, 3, 1) and len(pick_shots(train, 3, 1)) == 3


def test_prompt_limit():
    from types import SimpleNamespace

    from ragft.evaluate.answer import prompt_limit

    model = SimpleNamespace(config=SimpleNamespace(max_position_embeddings=1024))
    assert prompt_limit(model, SimpleNamespace(model_max_length=10**30), 24) == 1000
    # a 128k window (Llama 3.1) is capped: a batch of such prompts would not fit a GPU's memory
    long = SimpleNamespace(config=SimpleNamespace(max_position_embeddings=131072))
    assert prompt_limit(long, SimpleNamespace(model_max_length=131072), 24) == 4096
    assert prompt_limit(model, SimpleNamespace(model_max_length=512), 12) == 500  # the smaller window wins
    assert prompt_limit(model, SimpleNamespace(), 24, max_prompt_tokens=64) == 64
    with pytest.raises(ValueError, match="leaves no room"):
        prompt_limit(model, SimpleNamespace(), 2000)


def test_question_hits():
    from ragft.evaluate.answer import question_hits

    assert question_hits(QUESTIONS[0], ["a#0", "b#0"], CHUNK_DOC, CHUNK_TEXT) == (True, True)
    assert question_hits(QUESTIONS[0], ["a#0"], CHUNK_DOC, CHUNK_TEXT) == (False, False)
    assert question_hits(QUESTIONS[1], ["a#1"], CHUNK_DOC, CHUNK_TEXT) == (True, False)  # gold doc, other chunk
    assert question_hits(QUESTIONS[2], ["c#0"], CHUNK_DOC, CHUNK_TEXT) == (None, False)  # no gold doc
    assert question_hits(QUESTIONS[0], [], CHUNK_DOC, CHUNK_TEXT) == (None, None)  # closed book


def test_answer_questions_records_hits_truncation_and_cost(tiny_model_dir):
    from ragft.evaluate.answer import answer_questions
    from ragft.models.load import load_causal_lm, load_tokenizer

    model, tok = load_causal_lm(tiny_model_dir), load_tokenizer(tiny_model_dir)
    hits = [r[:2] for r in RUNS]
    gen = {"max_new_tokens": 4, "batch_size": 2}
    preds = answer_questions(model, tok, QUESTIONS, hits, CHUNK_TEXT, generation=gen, chunk_doc=CHUNK_DOC)
    assert list(preds[0]) == ["id", "question", "answers", "prediction", "contexts", "prompt_tokens", "latency_s",
                              "gold_nll", "truncated_tokens", "cut", "doc_hit", "answer_hit"]
    # the untrained model says ":" over and over: never a stop, every answer runs into max_new_tokens
    assert [(p["prediction"], p["cut"]) for p in preds] == [("::::", True)] * 3
    assert [(p["doc_hit"], p["answer_hit"], p["truncated_tokens"]) for p in preds] == [
        (True, True, 0), (True, True, 0), (None, False, 0)]  # q2: answer in its second chunk
    assert preds[0]["contexts"] == [{"chunk_id": "a#0", "score": 0.9}, {"chunk_id": "b#0", "score": 0.8}]
    again = answer_questions(model, tok, QUESTIONS, hits, CHUNK_TEXT, generation=gen, chunk_doc=CHUNK_DOC)
    strip = lambda ps: [{k: v for k, v in p.items() if k != "latency_s"} for p in ps]  # noqa: E731
    assert strip(again) == strip(preds)  # greedy: the same answers and NLL every run
    cut = answer_questions(model, tok, QUESTIONS, hits, CHUNK_TEXT, generation={**gen, "max_prompt_tokens": 18})
    assert all(p["prompt_tokens"] <= 18 and p["truncated_tokens"] > 0 for p in cut)
    assert all(p["truncated_tokens"] == a["prompt_tokens"] - c["prompt_tokens"] for p, a, c in zip(cut, preds, cut))
    assert [p["doc_hit"] for p in cut] == [None, None, None]  # no chunk_doc: hits not scored


def test_finetune_cost_in_device_hours():
    from ragft.evaluate.answer import finetune_cost

    summary = {"steps": 100, "train_tokens": 285248, "train_seconds": 41.93, "peak_memory_mb": 900.5, "device": "cpu"}
    assert finetune_cost(summary) == {"train_tokens": 285248, "train_seconds": 41.93, "device_hours": 0.011647,
                                      "train_device": "cpu", "peak_memory_mb": 900.5}
