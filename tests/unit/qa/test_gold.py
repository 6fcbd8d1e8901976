import json
from pathlib import Path

import pytest

from ragft.ingest.run import run_ingest
from ragft.ingest.squad import context_text, doc_id
from ragft.jsonl import read_jsonl
from ragft.qa.gold import (
    DocIndex,
    doc_index,
    load_gold,
    load_questions,
    read_gold,
    rejected_gold_docs,
    split_questions,
)

AGXQA = Path(__file__).resolve().parents[4] / "shared" / "data" / "agxqa" / "agxqa_sample.json"


def write(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return str(path)


def doc(doc_id, sha, duplicates=()):
    return {"id": doc_id, "sha256": sha, "meta": {"duplicates": list(duplicates)} if duplicates else {}}


def test_load_fills_keys_in_order_and_drops_unknown_docs(tmp_path):
    path = write(tmp_path / "qa.jsonl", [
        {"question": "Q2?", "answers": ["b"], "id": "q2", "doc_ids": ["gone.txt"]},
        {"id": "q1", "question": "Q1?", "answers": ["apples"], "doc_ids": ["a.md"]},
    ])
    qs, skipped, lost = load_questions(path, DocIndex.from_docs([doc("a.md", "s")]))
    assert [list(q) for q in qs] == [["id", "question", "answers", "doc_ids", "meta"]] * 2
    assert [(q["id"], q["doc_ids"]) for q in qs] == [("q1", ["a.md"]), ("q2", [])]
    assert (skipped, lost) == ({}, {"gone.txt": ["q2"]})


def test_doc_ids_of_dropped_duplicates_point_at_the_kept_doc(tmp_path):
    index = DocIndex.from_docs([doc("a.md", "s1", [{"id": "a-copy.md", "reason": "exact_duplicate", "sha256": "s1"}])])
    assert index.resolve(["a-copy.md", "a.md", "gone"]) == ["a.md"]
    path = write(tmp_path / "qa.jsonl", [{"id": "q", "question": "Q?", "answers": ["x"], "doc_ids": ["a-copy.md"]}])
    assert load_gold(path, index) == ([{"id": "q", "question": "Q?", "answers": ["x"], "doc_ids": ["a.md"], "meta": {}}], {})


def test_malformed_question_names_file_and_line(tmp_path):
    path = write(tmp_path / "qa.jsonl", [{"id": "q1", "question": "Q?", "answers": []}])
    with pytest.raises(ValueError, match=r"qa.jsonl:1: a question needs"):
        load_questions(path)


def test_squad_questions_get_the_doc_ingest_gave_their_context(tmp_path):
    ctx = "Apples need  cold winters to set fruit; growers log chill hours every day of the season."
    other = "Pears ripen after harvest in cool storage rooms and are sold before the new year comes."
    data = {"data": [
        {"title": "Orchards", "paragraphs": [
            {"context": ctx, "qas": [
                {"id": 1, "question": " What do apples  need? ", "answers": [{"text": "cold winters "}, {"text": "cold winters"}]},
                {"id": 2, "question": "Unanswerable?", "answers": [], "is_impossible": True},
                {"id": 3, "question": "No answer text?", "answers": [{"text": "  "}]},
                {"question": "No id?", "answers": [{"text": "chill hours"}]},
                {"id": 1, "question": "Same id again?", "answers": [{"text": "x"}]},
                {"id": 5, "answers": [{"text": "no question"}]},
            ]},
            {"qas": [{"id": 6, "question": "Where is my context?", "answers": [{"text": "x"}]}]},
        ]},
        {"paragraphs": [{"context": ctx, "qas": [{"id": "r", "question": "Repeated context?", "answers": ["fruit"]}]},
                        {"context": other, "qas": [{"id": "p", "question": "When are pears sold?", "answers": [{"text": "before the new year"}]}]}]},
    ]}
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(data))
    out = [tmp_path / "out" / n for n in ("docs.jsonl", "rejected.jsonl", "manifest.json")]
    manifest = run_ingest(str(path), *out)
    assert (manifest["accepted"], manifest["rejected_by_reason"]["exact_duplicate"], manifest["rejected_by_reason"]["missing_field"]) == (2, 1, 1)
    questions, skipped = load_gold(str(path), doc_index(out[0]))
    ctx_id = doc_id("bench.json", context_text(ctx))
    assert [(q["id"], q["question"], q["answers"], q["doc_ids"]) for q in questions] == [
        ("0.0.3", "No id?", ["chill hours"], [ctx_id]),
        ("1", "What do apples need?", ["cold winters"], [ctx_id]),
        ("p", "When are pears sold?", ["before the new year"], [doc_id("bench.json", other)]),
        ("r", "Repeated context?", ["fruit"], [ctx_id]),
    ]
    assert questions[1]["meta"] == {"article": 0, "paragraph": 0}
    assert skipped == {"duplicate_id": 1, "malformed": 2, "unanswerable": 2}


def test_squad_questions_without_a_doc_index_have_no_doc_ids(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"data": [{"paragraphs": [{"context": "c", "qas": [{"id": "q", "question": "Q?", "answers": [{"text": "apples"}]}]}]}]}))
    assert load_gold(str(path)) == ([{"id": "q", "question": "Q?", "answers": ["apples"], "doc_ids": [], "meta": {"article": 0, "paragraph": 0}}], {})
    path.write_text("[]")
    with pytest.raises(ValueError, match="s.json: not a SQuAD-style questions file"):
        load_gold(str(path))


@pytest.mark.skipif(not AGXQA.is_file(), reason="../shared/data/agxqa is not here")
def test_agxqa_questions_all_find_their_doc(tmp_path):
    out = [tmp_path / n for n in ("docs.jsonl", "rejected.jsonl", "manifest.json")]
    manifest = run_ingest(str(AGXQA), *out)
    questions, skipped = load_gold(str(AGXQA), doc_index(out[0]))
    assert (manifest["accepted"], len(questions), skipped) == (155, 570, {})
    assert all(len(q["doc_ids"]) == 1 for q in questions)
    train, ev = split_questions(questions, 0.2, seed=8, max_eval=150)
    assert (len(train), len(ev)) == (456, 114)


def test_split_is_seeded_disjoint_and_capped():
    qs = [{"id": f"q{i:03d}"} for i in range(100)]
    train, ev = split_questions(qs, 0.2, seed=5)
    assert (len(train), len(ev)) == (80, 20)
    assert not {q["id"] for q in train} & {q["id"] for q in ev}
    assert split_questions(qs, 0.2, seed=5) == (train, ev)
    assert split_questions(qs, 0.2, seed=6)[1] != ev
    assert len(split_questions(qs, 0.2, seed=5, max_eval=7)[1]) == 7
    assert [q["id"] for q in ev] == sorted(q["id"] for q in ev)


def test_answers_that_normalise_to_nothing_are_dropped_and_empty_questions_counted(tmp_path):
    path = write(tmp_path / "qa.jsonl", [
        {"id": "q1", "question": "Q1?", "answers": ["The", "Paris"], "doc_ids": []},
        {"id": "q2", "question": "Q2?", "answers": ["a", "!"], "doc_ids": []},
        {"id": "q3", "question": "Q3?", "answers": [" An "], "doc_ids": []},
    ])
    assert load_gold(path) == ([{"id": "q1", "question": "Q1?", "answers": ["Paris"], "doc_ids": [], "meta": {}}], {"empty_answer": 2})
    squad_path = tmp_path / "s.json"
    squad_path.write_text(json.dumps({"data": [{"paragraphs": [{"context": "c", "qas": [
        {"id": "s1", "question": "Q?", "answers": [{"text": "!"}, {"text": "the cold"}]},
        {"id": "s2", "question": "Q?", "answers": [{"text": "The"}, {"text": "..."}]},
        {"id": "s3", "question": "Q?", "answers": [], "is_impossible": True},
    ]}]}]}))
    questions, skipped = load_gold(str(squad_path))
    assert ([(q["id"], q["answers"]) for q in questions], skipped) == ([("s1", ["the cold"])], {"empty_answer": 1, "unanswerable": 1})


LONG = "Apple growers in the valley log chill hours every winter to plan their spring sprays."


def test_rejected_items_that_held_a_gold_doc_are_named_with_their_questions(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text(LONG)
    (corpus / "short.txt").write_text("Tiny.")
    (corpus / "empty.md").write_text("")
    (corpus / "bad.jsonl").write_text("")
    write(corpus / "recs.jsonl", [{"id": "r1", "text": LONG.replace("Apple", "Pear")}, {"text": "Too short."}])
    out = [tmp_path / n for n in ("docs.jsonl", "rejected.jsonl", "manifest.json")]
    run_ingest(str(corpus), *out)
    path = write(tmp_path / "qa.jsonl", [
        {"id": f"q{i}", "question": "Q?", "answers": ["chill hours"], "doc_ids": docs} for i, docs in enumerate([
            ["good.txt"], ["short.txt"], ["short.txt", "good.txt"], ["empty.md"], ["bad.jsonl:r9"], ["recs.jsonl:2"],
            ["recs.jsonl:r1"], ["nowhere.md"]])])
    questions, _, lost = read_gold(path, doc_index(out[0]))
    assert [q["doc_ids"] for q in questions] == [["good.txt"], [], ["good.txt"], [], [], [], ["recs.jsonl:r1"], []]
    assert lost == {"bad.jsonl:r9": ["q4"], "empty.md": ["q3"], "nowhere.md": ["q7"], "recs.jsonl:2": ["q5"], "short.txt": ["q1", "q2"]}
    assert rejected_gold_docs(lost, read_jsonl(out[1])) == ([
        {"source": "bad.jsonl", "reason": "empty", "questions": 1},
        {"source": "empty.md", "reason": "empty", "questions": 1},
        {"source": "recs.jsonl:2", "reason": "too_short", "questions": 1},
        {"source": "short.txt", "reason": "too_short", "questions": 2},
    ], 1)


def test_a_squad_context_that_ingest_rejected_is_named_with_its_questions(tmp_path):
    data = {"data": [{"paragraphs": [
        {"context": LONG, "qas": [{"id": "k", "question": "What do growers log?", "answers": [{"text": "chill hours"}]}]},
        {"context": "Too short.", "qas": [{"id": f"s{i}", "question": "Short?", "answers": [{"text": "short"}]} for i in range(2)]},
    ]}]}
    (tmp_path / "src" / "sub").mkdir(parents=True)
    path = tmp_path / "src" / "sub" / "bench.json"
    path.write_text(json.dumps(data))
    out = [tmp_path / n for n in ("docs.jsonl", "rejected.jsonl", "manifest.json")]
    run_ingest(str(tmp_path / "src"), *out)
    gold = read_gold(str(path), doc_index(out[0]))
    assert ([len(q["doc_ids"]) for q in gold.questions], gold.lost) == ([1, 0, 0], {"bench.json:0.1": ["s0", "s1"]})
    assert rejected_gold_docs(gold.lost, read_jsonl(out[1])) == ([{"source": "sub/bench.json:0.1", "reason": "too_short", "questions": 2}], 0)


def test_split_manifest_says_where_questions_came_from_and_what_was_lost():
    from ragft.qa.gold import split_manifest

    qs = [{"id": f"q{i}", "question": "?", "answers": ["x"], "doc_ids": [] if i == 2 else [f"d{i}"], "meta": {}}
          for i in range(4)]
    lost = [{"source": "a.txt", "reason": "too_short", "questions": 1}]
    gold = split_manifest(qs, qs[:3], qs[3:], {"empty_answer": 2}, lost, 0, None,
                          {"eval_fraction": 0.25, "max_eval": 10, "seed": 8})
    assert gold == {"source": "gold", "questions": 4, "train": 3, "eval": 1,
                    "groups": {"total": 4, "train": 3, "eval": 1, "largest": 1}, "without_gold_doc": 1,
                    "rejected_gold_docs": lost, "gold_docs_not_found": 0, "skipped": {"empty_answer": 2},
                    "eval_fraction": 0.25, "max_eval": 10, "seed": 8}
    generated = split_manifest(qs, qs[:3], qs[3:], {}, [], 0, {"method": "cloze", "kept": 4}, {})
    assert list(generated)[:2] == ["source", "generator"] and generated["generator"] == {"method": "cloze", "kept": 4}
