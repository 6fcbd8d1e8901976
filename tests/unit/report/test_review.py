"""The review sheet (results/{corpus}/report/questions_review.*) and its round trip through qa.review."""

import re

import pandas as pd
import pytest

from ragft.qa.gold import split_manifest, split_questions
from ragft.qa.review import apply_review, read_verdicts
from ragft.report.review import review_html, review_table, write_review
from ragft.report.tables import review_label, stats_note

CHUNKS = [
    {"id": "d1#0", "doc_id": "d1", "text": "Loam covers the north."},
    {"id": "d1#1", "doc_id": "d1", "text": "Rain falls from May to August in Ithmar."},
    {"id": "d1#2", "doc_id": "d1", "text": "Ithmar's rain, May to August, is its only rain."},
    {"id": "d2#0", "doc_id": "d2", "text": "Senrun gets 1100 millimetres a year."},
    {"id": "d3#0", "doc_id": "d3", "text": "Nothing useful here."},
]
QUESTIONS = [
    # generated: the chunk it names, not the first of its doc that holds the answer (d1#1)
    {"id": "g1", "question": "Fill in the blank: Ithmar's rain, ____, is its only rain.", "answers": ["May to August"],
     "doc_ids": ["d1"], "meta": {"chunk_id": "d1#2", "generator": "cloze"}},
    # gold, no chunk_id: the first chunk of its first gold doc that holds an answer
    {"id": "q2", "question": "When is the rainy season in Ithmar?", "answers": ["May to August", "May-August"],
     "doc_ids": ["d1", "d2"], "meta": {}},
    # gold whose doc holds no answer, and one without a gold doc: no source
    {"id": "q3", "question": "What is <b>useful</b>?", "answers": ["gold & silver"], "doc_ids": ["d3"], "meta": {}},
    {"id": "q4", "question": "Annual rainfall of Senrun?", "answers": ["1100 millimetres"], "doc_ids": []},
]
PREDICTIONS = {
    "rag": [{"id": "g1", "prediction": "May to August"}, {"id": "q2", "prediction": "May to August"},
            {"id": "q3", "prediction": "<script>x</script>"}, {"id": "q4", "prediction": "1100 mm"}],
    "ft": [{"id": "q2", "prediction": "June"}, {"id": "g1", "prediction": "April"}],  # q3, q4 unanswered
    "ft.r2": [{"id": "g1", "prediction": "May"}, {"id": "q2", "prediction": "July"}],
}


def sheet():
    return review_table("demo", QUESTIONS, iter(CHUNKS), PREDICTIONS)


def test_one_row_per_question_with_its_source_and_every_runs_answer():
    df = sheet()
    assert list(df.columns) == ["corpus", "id", "question", "answers", "source", "rag", "ft", "ft.r2", "verdict"]
    assert df.to_dict("records") == [
        {"corpus": "demo", "id": "g1", "question": QUESTIONS[0]["question"], "answers": "May to August",
         "source": "Ithmar's rain, May to August, is its only rain.", "rag": "May to August", "ft": "April", "ft.r2": "May",
         "verdict": ""},
        {"corpus": "demo", "id": "q2", "question": "When is the rainy season in Ithmar?",
         "answers": "May to August | May-August", "source": "Rain falls from May to August in Ithmar.",
         "rag": "May to August", "ft": "June", "ft.r2": "July", "verdict": ""},
        {"corpus": "demo", "id": "q3", "question": "What is <b>useful</b>?", "answers": "gold & silver", "source": "",
         "rag": "<script>x</script>", "ft": "", "ft.r2": "", "verdict": ""},
        {"corpus": "demo", "id": "q4", "question": "Annual rainfall of Senrun?", "answers": "1100 millimetres",
         "source": "", "rag": "1100 mm", "ft": "", "ft.r2": "", "verdict": ""},
    ]


def test_a_run_named_like_a_column_is_refused():
    with pytest.raises(ValueError, match=r"runs \['source'\] are named like columns of the review sheet"):
        review_table("demo", QUESTIONS, CHUNKS, {"source": []})


def test_the_page_has_the_same_columns_escaped_and_says_how_to_mark_it():
    html = review_html(sheet(), "demo")
    header = html.split("<thead>", 1)[1].split("</thead>", 1)[0]
    assert re.findall(r"<th>(.*?)</th>", header) == [
        "corpus", "id", "question", "answers", "source", "rag", "ft", "ft.r2", "verdict"]
    assert html.count("</tr>") == 1 + 4  # the header and a row per question
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "<script>" not in html
    assert "What is &lt;b&gt;useful&lt;/b&gt;?" in html and "gold &amp; silver" in html
    assert "<title>Questions to review: demo (4)</title>" in html
    assert "<b>ok</b> for a fair question" in html and "<b>bad</b> for one" in html
    assert "<code>qa.review</code>" in html


def test_the_csv_reads_back_as_written(tmp_path):
    write_review(sheet(), tmp_path / "r.csv", tmp_path / "r.html", "demo")
    back = pd.read_csv(tmp_path / "r.csv", dtype=str, keep_default_na=False)
    assert back.to_dict("records") == sheet().to_dict("records")
    assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")


def test_a_marked_sheet_round_trips_through_qa_review(tmp_path):
    qs = [{"id": f"q{i:02d}", "question": f"What is {i}?", "answers": [f"a{i}"], "doc_ids": [], "meta": {}}
          for i in range(20)]
    train, evaluation = split_questions(qs, 0.25, seed=3)
    preds = {"rag": [{"id": q["id"], "prediction": "a"} for q in evaluation]}
    write_review(review_table("demo", evaluation, [], preds), tmp_path / "sheet.csv", tmp_path / "sheet.html", "demo")
    # a person marks two rows bad and one ok, leaves the rest empty, and saves it
    marked = pd.read_csv(tmp_path / "sheet.csv", dtype=str, keep_default_na=False)
    bad = [evaluation[0]["id"], evaluation[3]["id"]]
    marked.loc[marked["id"].isin(bad), "verdict"] = ["bad", "X"]
    marked.loc[marked["id"] == evaluation[1]["id"], "verdict"] = "ok"
    marked.to_csv(tmp_path / "marked.csv", index=False)

    verdicts = read_verdicts([str(tmp_path / "marked.csv")], "demo")
    kept = apply_review(qs, train, evaluation, verdicts, [str(tmp_path / "marked.csv")])
    assert len(evaluation) == 5 and [q["id"] for q in kept.evaluation] == [q["id"] for q in evaluation if q["id"] not in bad]
    assert kept.train == train
    assert {k: kept.summary[k] for k in ("marked", "accepted", "rejected", "unmarked", "unknown", "accepted_share",
                                         "dropped_eval", "dropped_train")} == {
        "marked": 3, "accepted": 1, "rejected": 2, "unmarked": 2, "unknown": 0, "accepted_share": 0.3333,
        "dropped_eval": 2, "dropped_train": 0}
    manifest = split_manifest(kept.questions, kept.train, kept.evaluation, {}, [], 0, {"method": "cloze"}, {},
                              kept.summary)
    assert review_label(manifest) == ("people reviewed 3 of the generated questions and accepted 1 (33%); "
                                      "the 2 marked bad were dropped")
    note = stats_note(3, 200, 1, ["base"], questions="generated questions: 20 kept", review=review_label(manifest))
    assert note.startswith("The questions were generated from the corpus, not written by people (generated questions: "
                           "20 kept). People reviewed 3 of the generated questions and accepted 1 (33%); the 2 marked "
                           "bad were dropped. n = 3 eval questions")
