"""Synthetic QA: parsing generated question-answer pairs, keeping those whose answer is a span of the chunk."""

from ragft.finetune.synthetic import (
    SYNTHETIC_TEMPLATE,
    check_pair,
    parse_qa_pairs,
    synthetic_qa,
)
from ragft.models.load import load_tokenizer

from .common import CHUNKS, build


def test_parse_qa_pairs_good_and_malformed():
    assert parse_qa_pairs("Question: When is Variety3 sown?\nAnswer: early May\n\nQuestion: Who bred it?\nAnswer: the Vell Institute") == [
        ("When is Variety3 sown?", "early May"), ("Who bred it?", "the Vell Institute")]
    assert parse_qa_pairs("1. Q: What colour is the leaf? A: dark green") == [("What colour is the leaf?", "dark green")]
    assert parse_qa_pairs("question:Why?  answer: because") == [("Why?", "because")]
    assert parse_qa_pairs("Question: When?\nIt is sown in May.\nAnswer: May") == []
    assert parse_qa_pairs("Answer: May\nQuestion: dangling") == []
    assert parse_qa_pairs("the the the of of") == []
    assert parse_qa_pairs("Question: What?\nAnswer:") == [("What?", "")]
    text = "The sowing window of Variety3 is early May."
    assert check_pair("When is Variety3 sown?", "early May.", text) is None
    assert check_pair("When is Variety3 sown?", "late June", text) == "answer_not_in_chunk"
    assert check_pair("What?", " ", text) == "empty"


def test_synthetic_qa_keeps_span_answers_and_counts_the_rest(monkeypatch):
    import ragft.models.generate

    canned = [" What is the sowing window of Variety0?\nAnswer: early May",
              "early early the of",
              " Q1?\nAnswer: late June\nQuestion: What is the sowing window of Variety0?\nAnswer: early May"]
    monkeypatch.setattr(ragft.models.generate, "generate_answers", lambda model, tok, texts, **kw: canned[: len(texts)])
    records, stats = synthetic_qa(CHUNKS[:3], None, None, {"max_chunks": 0}, seed=0)
    assert stats == {"chunks": 3, "generations": 3, "pairs": 3, "kept": 1,
                     "dropped": {"no_pair": 1, "empty": 0, "answer_not_in_chunk": 1, "duplicate": 1}}
    assert records == [{"id": "d0.md#0000#q0", "question": "What is the sowing window of Variety0?", "answers": ["early May"],
                        "doc_ids": ["d0.md"], "meta": {"chunk_id": "d0.md#0000"}}]
    data, _ = build({"synthetic": {"enabled": True}}, synthetic=records)
    assert [(e["id"], e["builder"], e["completion"]) for e in data] == [("synthetic:d0.md#0000#q0", "synthetic", " early May\n")]


def test_synthetic_qa_on_tiny_model_counts_what_it_could_not_parse(tiny_model_dir, monkeypatch):
    """A real (untrained) model's generations go through the template, parsing and counting: it
    writes no Question/Answer pair, so each of the 4 seeded chunks is dropped as no_pair, no crash."""
    import ragft.models.generate
    from ragft.models.load import load_causal_lm

    calls, generate = [], ragft.models.generate.generate_answers

    def spy(model, tokenizer, texts, **kw):
        calls.append((texts, kw, generate(model, tokenizer, texts, **kw)))
        return calls[-1][2]

    monkeypatch.setattr(ragft.models.generate, "generate_answers", spy)
    spec = {"max_chunks": 4, "max_new_tokens": 24, "batch_size": 4}
    records, stats = synthetic_qa(CHUNKS, load_causal_lm(tiny_model_dir), load_tokenizer(tiny_model_dir), spec, seed=0)
    [(texts, kw, generations)] = calls
    # 4 of the 6 chunks, seeded, in corpus order; the tiny tokenizer has no chat template: plain text
    assert texts == [SYNTHETIC_TEMPLATE.format(chunk=CHUNKS[i]["text"]) for i in (0, 1, 3, 5)]
    assert kw == {"max_new_tokens": 24, "batch_size": 4, "stop": None}
    assert len(generations) == 4 and all(generations)  # the model wrote something for every chunk
    assert all(parse_qa_pairs("Question: " + g) == [] for g in generations)
    assert stats == {"chunks": 4, "generations": 4, "pairs": 0, "kept": 0,
                     "dropped": {"no_pair": 4, "empty": 0, "answer_not_in_chunk": 0, "duplicate": 0}}
    assert records == []
