"""Gold questions: load, check, and split into train and eval with a seeded shuffle."""

from __future__ import annotations

import random

from ragft.jsonl import read_jsonl

QA_KEYS = ("id", "question", "answers", "doc_ids", "meta")


def load_questions(path: str, known_doc_ids: set[str] | None = None) -> list[dict]:
    """Questions from a JSONL file, keys in contract order; raises on a malformed record."""
    out = []
    for n, rec in enumerate(read_jsonl(path), start=1):
        missing = [k for k in ("id", "question", "answers") if k not in rec]
        if missing or not isinstance(rec.get("answers"), list) or not rec["answers"]:
            raise ValueError(f"{path}:{n}: a question needs id, question and a non-empty answers list (missing {missing})")
        out.append({k: rec.get(k, [] if k == "doc_ids" else {}) for k in QA_KEYS})
    ids = [q["id"] for q in out]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path}: question ids are not unique")
    if known_doc_ids is not None:
        for q in out:
            q["doc_ids"] = [d for d in q["doc_ids"] if d in known_doc_ids]
    return sorted(out, key=lambda q: q["id"])


def split_questions(questions: list[dict], eval_fraction: float, seed: int, max_eval: int | None = None) -> tuple[list[dict], list[dict]]:
    """(train, eval): a seeded shuffle, then the first `eval_fraction` (at most `max_eval`) for eval."""
    order = sorted(questions, key=lambda q: q["id"])
    random.Random(seed).shuffle(order)
    n_eval = round(len(order) * eval_fraction)
    if max_eval is not None:
        n_eval = min(n_eval, max_eval)
    evaluation = sorted(order[:n_eval], key=lambda q: q["id"])
    train = sorted(order[n_eval:], key=lambda q: q["id"])
    return train, evaluation
