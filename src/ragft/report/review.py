"""The review sheet: every eval question of a corpus, for a person to mark ok or bad (`qa.review`).

One row per eval question: `corpus`, `id`, `question`, `answers` (joined with " | "), `source` (the
text the question came from: its generator's chunk, meta.chunk_id, else the first chunk of its first
gold doc that holds an answer, else empty), one column per evaluation run with that run's answer
(named after the run: `rag`, `ft`, `ft.r2`), and an empty `verdict`. Written as a CSV, which is the
file to mark and give back (ragft.qa.review reads it), and as an HTML page of the same table.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from html import escape

import pandas as pd

from ragft.answers import holds_answer
from ragft.config import REVIEW_COLUMNS
from ragft.jsonl import write_text
from ragft.qa.review import BAD, GOOD
from ragft.report.tables import html_page

ANSWER_SEP = " | "
_STYLE = ("<style>td{white-space:normal;vertical-align:top;max-width:36em}"
          "table.review td:last-child{min-width:5em}</style>")


def source_chunks(questions: Sequence[dict], chunks: Iterable[dict]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """What the sources need of the chunks (streamed, so a large chunks.jsonl is read once): the text
    of each chunk a question names in meta.chunk_id, and the chunk texts, in order, of the first gold
    doc of each question that names none."""
    wanted = {(q.get("meta") or {}).get("chunk_id") for q in questions} - {None}
    docs = {q["doc_ids"][0] for q in questions if not (q.get("meta") or {}).get("chunk_id") and q.get("doc_ids")}
    by_id: dict[str, str] = {}
    by_doc: dict[str, list[str]] = {}
    for chunk in chunks:
        if chunk["id"] in wanted:
            by_id[chunk["id"]] = chunk["text"]
        if chunk["doc_id"] in docs:
            by_doc.setdefault(chunk["doc_id"], []).append(chunk["text"])
    return by_id, by_doc


def source_text(question: dict, by_id: Mapping[str, str], by_doc: Mapping[str, list[str]]) -> str:
    """The text a question came from (see the module's docstring), or ""."""
    chunk_id = (question.get("meta") or {}).get("chunk_id")
    if chunk_id in by_id:
        return by_id[chunk_id]
    doc_ids = question.get("doc_ids") or []
    texts = by_doc.get(doc_ids[0], []) if doc_ids else []
    return next((t for t in texts if holds_answer(t, question["answers"])), "")


def review_table(corpus: str, questions: Sequence[dict], chunks: Iterable[dict],
                 predictions: Mapping[str, Iterable[dict]]) -> pd.DataFrame:
    """The sheet's rows, in the questions' order: `predictions` maps each run to its predictions
    (records with `id` and `prediction`); a question a run did not answer gets ""."""
    clash = [run for run in predictions if run in REVIEW_COLUMNS]
    if clash:
        raise ValueError(f"runs {clash} are named like columns of the review sheet ({', '.join(REVIEW_COLUMNS)})")
    by_id, by_doc = source_chunks(questions, chunks)
    answers = {run: {p["id"]: p["prediction"] for p in preds} for run, preds in predictions.items()}
    rows = [{"corpus": corpus, "id": q["id"], "question": q["question"], "answers": ANSWER_SEP.join(q["answers"]),
             "source": source_text(q, by_id, by_doc), **{run: got.get(q["id"], "") for run, got in answers.items()},
             "verdict": ""} for q in questions]
    columns = [c for c in REVIEW_COLUMNS if c != "verdict"] + list(answers) + ["verdict"]
    return pd.DataFrame(rows, columns=columns, dtype=object)


def how_to_mark(corpus: str) -> str:
    """The page's header: what the sheet is and how to mark it and give it back."""
    return (f"<p>The eval questions of corpus <b>{escape(corpus)}</b>, each with its answers, the text it came from "
            f"(<i>source</i>) and every system's answer. To review them, open <code>questions_review.csv</code> "
            f"(beside this page) in a spreadsheet and write in its <code>verdict</code> column <b>ok</b> for a fair "
            f"question whose answers are right, or <b>bad</b> for one that is ambiguous, cannot be answered from its "
            f"source, or has a wrong answer; leave a row empty to skip it. Also accepted: "
            f"{escape(', '.join(GOOD))} (good) and {escape(', '.join(BAD))} (bad), in any case. Save it as CSV "
            f"outside <code>results/</code> and name it in the config as <code>qa.review</code> (a path or a list "
            f"of paths): the questions marked bad are then dropped from eval and train, every other question "
            f"stays where it was, and the comparison says how many were reviewed.</p>")


def review_html(df: pd.DataFrame, corpus: str) -> str:
    """A self-contained page: the header, then the table with the sheet's columns, every cell escaped."""
    table = df.to_html(index=False, escape=True, na_rep="", border=0, classes="review", justify="left")
    return html_page(f"Questions to review: {corpus} ({len(df)})", _STYLE, how_to_mark(corpus), table)


def write_review(df: pd.DataFrame, out_csv: str | os.PathLike, out_html: str | os.PathLike, corpus: str) -> None:
    """The sheet as CSV (every column, UTF-8) and as HTML, each written atomically."""
    write_text(out_csv, df.to_csv(index=False))
    write_text(out_html, review_html(df, corpus))
