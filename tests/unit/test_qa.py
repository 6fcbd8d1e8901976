import json

import pytest

from ragft.qa import load_questions, split_questions


def write(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return str(path)


def test_load_fills_keys_in_order_and_drops_unknown_docs(tmp_path):
    path = write(tmp_path / "qa.jsonl", [
        {"question": "Q2?", "answers": ["b"], "id": "q2", "doc_ids": ["gone.txt"]},
        {"id": "q1", "question": "Q1?", "answers": ["a"], "doc_ids": ["a.md"]},
    ])
    qs = load_questions(path, known_doc_ids={"a.md"})
    assert [list(q) for q in qs] == [["id", "question", "answers", "doc_ids", "meta"]] * 2
    assert [(q["id"], q["doc_ids"]) for q in qs] == [("q1", ["a.md"]), ("q2", [])]


def test_malformed_question_names_file_and_line(tmp_path):
    path = write(tmp_path / "qa.jsonl", [{"id": "q1", "question": "Q?", "answers": []}])
    with pytest.raises(ValueError, match=r"qa.jsonl:1: a question needs"):
        load_questions(path)


def test_split_is_seeded_disjoint_and_capped():
    qs = [{"id": f"q{i:03d}"} for i in range(100)]
    train, ev = split_questions(qs, 0.2, seed=5)
    assert (len(train), len(ev)) == (80, 20)
    assert not {q["id"] for q in train} & {q["id"] for q in ev}
    assert split_questions(qs, 0.2, seed=5) == (train, ev)
    assert split_questions(qs, 0.2, seed=6)[1] != ev
    assert len(split_questions(qs, 0.2, seed=5, max_eval=7)[1]) == 7
    assert [q["id"] for q in ev] == sorted(q["id"] for q in ev)
