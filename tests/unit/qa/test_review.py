"""People's verdicts (qa.review): read from marked review sheets, applied after the split."""

import pandas as pd
import pytest

from ragft.qa.gold import split_manifest, split_questions
from ragft.qa.review import BAD, GOOD, apply_review, read_verdicts, sheet_corpora, verdict


def write_sheet(path, rows, columns=("corpus", "id", "question", "verdict")):
    pd.DataFrame(rows, columns=list(columns)).to_csv(path, index=False)
    return str(path)


def questions(n):
    return [{"id": f"q{i:02d}", "question": f"What is {i}?", "answers": [f"a{i}"], "doc_ids": [f"d{i}"], "meta": {}}
            for i in range(n)]


@pytest.mark.parametrize("word", ["ok", "OK", " Good ", "right", "yes", "Y", "1", "accept", "ACCEPT"])
def test_every_good_spelling_keeps_a_question(word):
    assert verdict(word, "f.csv, row 1") is True


@pytest.mark.parametrize("word", ["bad", "BAD", "wrong", "No", "n", "0", "reject", "x", " X "])
def test_every_bad_spelling_drops_a_question(word):
    assert verdict(word, "f.csv, row 1") is False


def test_the_accepted_spellings_are_the_documented_ones():
    assert GOOD == ("ok", "good", "right", "yes", "y", "1", "accept")
    assert BAD == ("bad", "wrong", "no", "n", "0", "reject", "x")
    assert verdict("", "f") is None and verdict("   ", "f") is None


def test_verdicts_of_this_corpus_only_with_unknown_ids_kept(tmp_path):
    sheet = write_sheet(tmp_path / "r.csv", [
        ["demo", "q00", "?", "ok"], ["demo", "q01", "?", "Bad"], ["demo", "q02", "?", ""],
        ["other", "q03", "?", "bad"],  # another corpus's row: not this corpus's business
        ["demo", "zz", "?", "no"],  # an id the corpus may not have: read, counted as unknown when applied
    ])
    assert read_verdicts([sheet], "demo") == {"q00": True, "q01": False, "q02": None, "zz": False}
    assert read_verdicts([sheet], "other") == {"q03": False}
    assert read_verdicts([sheet], "none") == {}
    assert sheet_corpora(sheet) == {"demo", "other"}


def test_a_value_that_is_no_verdict_names_the_file_row_and_value(tmp_path):
    sheet = write_sheet(tmp_path / "r.csv", [["demo", "q00", "?", "ok"], ["demo", "q01", "?", "maybe"]])
    with pytest.raises(ValueError, match=r"r\.csv, row 2 \(question 'q01'\): verdict 'maybe' is neither good"):
        read_verdicts([sheet], "demo")
    assert read_verdicts([sheet], "other") == {}  # another corpus's bad cell is not read for this one


def test_a_sheet_without_a_verdict_column_is_an_error(tmp_path):
    sheet = write_sheet(tmp_path / "r.csv", [["demo", "q00", "?"]], columns=("corpus", "id", "question"))
    with pytest.raises(ValueError, match=r"r\.csv: a review sheet needs the columns corpus, id, verdict \(missing verdict\)"):
        read_verdicts([sheet], "demo")


def test_several_files_add_up_and_a_contradiction_is_an_error(tmp_path):
    first = write_sheet(tmp_path / "a.csv", [["demo", "q00", "?", "ok"], ["demo", "q01", "?", ""]])
    second = write_sheet(tmp_path / "b.csv", [["demo", "q01", "?", "x"], ["demo", "q00", "?", ""]])
    assert read_verdicts([first, second], "demo") == {"q00": True, "q01": False}  # a mark wins over an empty cell
    third = write_sheet(tmp_path / "c.csv", [["demo", "q00", "?", "bad"]])
    with pytest.raises(ValueError, match=r"c\.csv, row 1 \(question 'q00'\): marked bad, but .*a\.csv, row 1 "
                                         r"\(question 'q00'\) marked it good"):
        read_verdicts([first, third], "demo")


def test_bad_questions_leave_both_sides_and_nothing_else_moves():
    qs = questions(10)
    train, evaluation = split_questions(qs, 0.3, seed=5)
    assert len(evaluation) == 3
    bad_eval, bad_train, good = evaluation[1]["id"], train[0]["id"], evaluation[0]["id"]
    verdicts = {bad_eval: False, bad_train: False, good: True, train[1]["id"]: None, "zz": False, "yy": None}
    kept = apply_review(qs, train, evaluation, verdicts, ["r.csv"])
    assert [q["id"] for q in kept.evaluation] == [q["id"] for q in evaluation if q["id"] != bad_eval]
    assert [q["id"] for q in kept.train] == [q["id"] for q in train if q["id"] != bad_train]
    assert [q["id"] for q in kept.questions] == [q["id"] for q in qs if q["id"] not in (bad_eval, bad_train)]
    assert kept.summary == {"files": ["r.csv"], "marked": 3, "accepted": 1, "rejected": 2, "unmarked": 1, "unknown": 2,
                            "accepted_share": 0.3333, "dropped_eval": 1, "dropped_train": 1}


def test_no_marks_drop_nothing_and_have_no_share():
    qs = questions(4)
    train, evaluation = split_questions(qs, 0.5, seed=1)
    kept = apply_review(qs, train, evaluation, {"q00": None}, [])
    assert (kept.train, kept.evaluation, kept.questions) == (train, evaluation, qs)
    assert kept.summary["marked"] == 0 and kept.summary["accepted_share"] is None and kept.summary["unmarked"] == 1


def test_the_manifest_records_the_review_and_the_sizes_left():
    qs = questions(10)
    train, evaluation = split_questions(qs, 0.3, seed=5)
    kept = apply_review(qs, train, evaluation, {evaluation[0]["id"]: False, evaluation[1]["id"]: True}, ["r.csv"])
    manifest = split_manifest(kept.questions, kept.train, kept.evaluation, {}, [], 0, None, {}, kept.summary)
    assert list(manifest)[:2] == ["source", "review"]
    assert (manifest["questions"], manifest["train"], manifest["eval"]) == (9, 7, 2)
    assert manifest["review"]["rejected"] == 1 and manifest["review"]["accepted_share"] == 0.5
    assert "review" not in split_manifest(qs, train, evaluation, {}, [], 0, None, {})  # none without a review
