"""Training-data builders (chunks, qa, RAFT-style retrieval): weights, order, format errors, chat templates."""

import pytest

from ragft.finetune.examples import build_train_data
from ragft.models.load import load_tokenizer

from .common import CHUNKS, QUESTIONS, build


def test_builders_weights_and_order():
    data, stats = build({"chunks": {"weight": 2}, "qa": {"weight": 1}}, seed=1)
    assert len(data) == 2 * 6 + 4
    assert {e["builder"] for e in data} == {"chunks", "qa"}
    assert data == build({"chunks": {"weight": 2}, "qa": {"weight": 1}}, seed=1)[0]
    assert stats == {"format_errors": {"chunks": {}, "questions": {}}}
    qa = next(e for e in data if e["id"] == "qa:q0")
    assert (qa["prompt"], qa["completion"]) == ("Question: What is the sowing window of Variety0?\nAnswer:", " early May\n")
    assert build({"qa": {"enabled": False}, "chunks": {}})[0][0]["builder"] == "chunks"
    with pytest.raises(ValueError, match="unknown builder"):
        build({"raft": {}})


def test_format_errors_are_counted_and_dropped():
    chunks = CHUNKS + [{"id": "bad.md#0000", "doc_id": "bad.md", "text": "  "}, {"text": "no id"}]
    questions = QUESTIONS + [{"id": "qx", "question": "Why?", "answers": []}, {"id": "qy", "question": "", "answers": ["a"]}]
    data, stats = build_train_data(chunks, questions, {"chunks": {}, "qa": {}}, seed=0)
    assert stats["format_errors"] == {"chunks": {"empty_text": 1, "missing_id": 1}, "questions": {"empty_question": 1, "no_answer": 1}}
    assert len(data) == 6 + 4


def test_qa_builders_refuse_eval_questions():
    with pytest.raises(ValueError, match=r"1 training question\(s\) are eval questions \(q2\)"):
        build({"qa": {}}, eval_ids={"q2", "e9"})


def test_chat_template_wraps_qa_prompts(tiny_model_dir):
    tok = load_tokenizer(tiny_model_dir)
    tok.chat_template = "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}\n{% endfor %}<|assistant|>"
    data, _ = build({"qa": {}}, tokenizer=tok, chat_template="auto", templates={"instruction": "Be brief."})
    qa = next(e for e in data if e["id"] == "qa:q1")
    assert qa["prompt"] == "<|system|>Be brief.\n<|user|>Question: What is the sowing window of Variety1?\nAnswer:\n<|assistant|>"
    assert qa["completion"] == "early May</s>"  # a template that closes no turn with a special token: EOS
    plain, _ = build({"qa": {}}, tokenizer=tok, chat_template=False)
    assert next(e for e in plain if e["id"] == "qa:q1")["prompt"].startswith("Question:")


def test_retrieval_builder_mixes_gold_and_distractors_raft_style():
    hits = [[("d1.md#0000", 0.9), ("d0.md#0000", 0.5), ("d2.md#0000", 0.4)]] + [[("d5.md#0000", 0.3)] for _ in QUESTIONS[1:]]
    data, stats = build({"retrieval": {"enabled": True, "k": 2, "gold_fraction": 1.0}}, hits=hits)
    ex = next(e for e in data if e["id"] == "retrieval:q0")
    # the gold chunk takes a seeded place among the distractors
    assert ex["prompt"] == ("Context:\nThe sowing window of Variety1 is early May.\n\nThe sowing window of Variety0 is early May."
                            "\n\nQuestion: What is the sowing window of Variety0?\nAnswer:")
    assert ex["completion"] == " early May\n" and len(data) == len(QUESTIONS)
    # q1 retrieved only a distractor: its gold chunk comes from its doc
    assert next(e for e in data if e["id"] == "retrieval:q1")["prompt"].startswith(
        "Context:\nThe sowing window of Variety1 is early May.\n\nThe sowing window of Variety5 is early May.")
    assert stats["retrieval"] == {"with_gold": 4, "without_gold": 0, "no_gold_chunk": 0, "too_long": 0}
    data, stats = build({"retrieval": {"enabled": True, "k": 2, "gold_fraction": 0.0}}, hits=hits)
    ex = next(e for e in data if e["id"] == "retrieval:q0")
    assert ex["prompt"].startswith("Context:\nThe sowing window of Variety1 is early May.\n\nThe sowing window of Variety2 is early May.")
    assert stats["retrieval"] == {"with_gold": 0, "without_gold": 4, "no_gold_chunk": 0, "too_long": 0}
    data, stats = build({"retrieval": {"enabled": True, "k": 1, "gold_fraction": 0.5}}, hits=hits, seed=3)
    assert stats["retrieval"] == {"with_gold": 3, "without_gold": 1, "no_gold_chunk": 0, "too_long": 0}
    orphan = {"id": "q9", "question": "When is Variety7 harvested?", "answers": ["late June"], "doc_ids": ["d7.md"]}
    data, stats = build_train_data(CHUNKS, [orphan], {"retrieval": {"enabled": True, "k": 2, "gold_fraction": 1.0}}, seed=0, hits=[[("d5.md#0000", 0.3)]])
    assert stats["retrieval"] == {"with_gold": 0, "without_gold": 1, "no_gold_chunk": 1, "too_long": 0}
    assert data[0]["prompt"].startswith("Context:\nThe sowing window of Variety5 is early May.\n\nQuestion: When")
