"""People's verdicts on questions (`qa.review`): read marked review sheets, drop the questions marked bad.

A review sheet (ragft.report.review writes one per corpus, results/{corpus}/report/questions_review.csv)
is a CSV with at least the columns `corpus`, `id` and `verdict`. A person writes a verdict per row:
good (GOOD: ok, yes, 1, ...), bad (BAD: bad, no, 0, x, ...), or nothing (unmarked); case and
surrounding spaces do not matter, and any other value is an error. Only the rows of one corpus
apply to it. The split is made first and the questions marked bad are then dropped from train and
eval, so every other question stays on its side.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

GOOD = ("ok", "good", "right", "yes", "y", "1", "accept")
BAD = ("bad", "wrong", "no", "n", "0", "reject", "x")
COLUMNS = ("corpus", "id", "verdict")


def verdict(value: str, where: str) -> bool | None:
    """True for a good verdict, False for a bad one, None for an empty cell; raises on anything else."""
    word = value.strip().lower()
    if not word:
        return None
    if word in GOOD or word in BAD:
        return word in GOOD
    raise ValueError(f"{where}: verdict {value!r} is neither good ({', '.join(GOOD)}) nor bad ({', '.join(BAD)}); "
                     f"leave it empty for a question not reviewed")


def sheet_rows(path: str) -> list[dict[str, str]]:
    """The rows of a review CSV (columns `corpus`, `id`, `verdict`, every cell text); raises, naming
    the file, when one of those columns is missing."""
    import pandas as pd

    # every cell text, an empty one "" (not NaN); a BOM (a spreadsheet's UTF-8 export) is dropped
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: a review sheet needs the columns {', '.join(COLUMNS)} (missing {', '.join(missing)})")
    return df[list(COLUMNS)].to_dict("records")


def sheet_corpora(path: str) -> set[str]:
    """The corpora a review CSV has rows of (so that a sheet of one corpus reruns only its split)."""
    return {row["corpus"].strip() for row in sheet_rows(path)}


def read_verdicts(paths: Iterable[str], corpus: str) -> dict[str, bool | None]:
    """Question id -> True (good), False (bad) or None (unmarked), from the rows of `corpus` in the
    review files, in order. A question marked in one row and empty in another is marked; marked good
    in one and bad in another, it is an error naming both places."""
    out: dict[str, bool | None] = {}
    seen: dict[str, str] = {}
    for path in paths:
        for n, row in enumerate(sheet_rows(path), start=1):  # rows below the header (a cell may span lines)
            if row["corpus"].strip() != corpus:
                continue
            qid = row["id"].strip()
            where = f"{path}, row {n} (question {qid!r})"
            mark = verdict(row["verdict"], where)
            if mark is not None and out.get(qid) is not None and out[qid] != mark:
                raise ValueError(f"{where}: marked {'good' if mark else 'bad'}, but {seen[qid]} marked it "
                                 f"{'good' if out[qid] else 'bad'}")
            if mark is not None or qid not in out:
                out[qid] = mark
                seen[qid] = where
    return out


class Reviewed(NamedTuple):
    """The questions, train and eval left once those marked bad are dropped, and the review's counts."""

    questions: list[dict]
    train: list[dict]
    evaluation: list[dict]
    summary: dict


def apply_review(questions: Sequence[dict], train: Sequence[dict], evaluation: Sequence[dict],
                 verdicts: dict[str, bool | None], files: Sequence[str]) -> Reviewed:
    """Drop the questions marked bad from a split made without the review, each side keeping its order.

    summary (split_manifest.json's `review`): the files; of this corpus's questions named in them,
    `marked` (accepted + rejected), `accepted`, `rejected` and `unmarked`; `unknown`, ids named for
    this corpus that are none of its questions; `accepted_share` (accepted / marked, None when none
    is marked); and the questions dropped from eval and from train."""
    ids = {q["id"] for q in questions}
    known = {qid: mark for qid, mark in verdicts.items() if qid in ids}
    rejected = {qid for qid, mark in known.items() if mark is False}
    accepted = sum(mark is True for mark in known.values())
    kept_train = [q for q in train if q["id"] not in rejected]
    kept_eval = [q for q in evaluation if q["id"] not in rejected]
    marked = accepted + len(rejected)
    summary = {
        "files": list(files),
        "marked": marked,
        "accepted": accepted,
        "rejected": len(rejected),
        "unmarked": sum(mark is None for mark in known.values()),
        "unknown": len(verdicts) - len(known),
        "accepted_share": round(accepted / marked, 4) if marked else None,
        "dropped_eval": len(evaluation) - len(kept_eval),
        "dropped_train": len(train) - len(kept_train),
    }
    return Reviewed([q for q in questions if q["id"] not in rejected], kept_train, kept_eval, summary)
