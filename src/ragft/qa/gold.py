"""Gold questions: load, check, and split into train and eval with a seeded shuffle.

A corpus's `qa` file is JSONL (`{"id", "question", "answers", "doc_ids"}` per line) or SQuAD-style
JSON (ragft.squad). Doc ids are resolved against the corpus's docs.jsonl: an id that ingest dropped
as a duplicate becomes the id of the doc it kept; a SQuAD question gets the doc whose text is its
paragraph's cleaned context.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable
from typing import NamedTuple

from ragft.ingest import squad
from ragft.ingest.formats import Reject
from ragft.ingest.textnorm import decode_text, sha256_text
from ragft.jsonl import iter_jsonl, read_jsonl

QA_KEYS = ("id", "question", "answers", "doc_ids", "meta")


class DocIndex(NamedTuple):
    """What questions need of a corpus's docs: ids, duplicate aliases, and ids by text sha256."""

    ids: set[str]
    aliases: dict[str, str]  # id of a dropped duplicate -> id of the doc kept in its place
    by_sha: dict[str, str]  # sha256 of a doc's (or a dropped duplicate's) text -> kept doc id

    @classmethod
    def from_docs(cls, docs: Iterable[dict]) -> DocIndex:
        """The index of doc records (meta.duplicates as ingest writes them)."""
        index = cls(set(), {}, {})
        for doc in docs:
            index.ids.add(doc["id"])
            index.by_sha.setdefault(doc["sha256"], doc["id"])
            for dup in doc["meta"].get("duplicates", []):
                index.aliases[dup["id"]] = doc["id"]
                index.by_sha.setdefault(dup["sha256"], doc["id"])
        return index

    def resolve(self, doc_ids: Iterable[str]) -> list[str]:
        """Known doc ids, duplicates replaced by their kept doc, each once, in order."""
        out = []
        for doc_id in doc_ids:
            doc_id = self.aliases.get(doc_id, doc_id)
            if doc_id in self.ids and doc_id not in out:
                out.append(doc_id)
        return out


def doc_index(docs_path: str) -> DocIndex:
    """The DocIndex of a docs.jsonl, streamed."""
    return DocIndex.from_docs(iter_jsonl(docs_path))


def load_gold(path: str, index: DocIndex | None = None) -> tuple[list[dict], dict[str, int]]:
    """(questions sorted by id, skipped question counts by reason) from a JSONL or SQuAD-style file."""
    if path.lower().endswith(".json"):
        return load_squad_questions(path, index)
    return load_questions(path, index), {}


def load_questions(path: str, index: DocIndex | None = None) -> list[dict]:
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
    if index is not None:
        for q in out:
            q["doc_ids"] = index.resolve(q["doc_ids"])
    return sorted(out, key=lambda q: q["id"])


def load_squad_questions(path: str, index: DocIndex | None = None) -> tuple[list[dict], dict[str, int]]:
    """Answerable questions of a SQuAD-style file, each with the doc of its paragraph's context.

    Skipped and counted: `unanswerable` (is_impossible, or no non-empty answer text), `malformed`
    (no question text, or in a paragraph without a context), `duplicate_id` (an earlier question
    has its id). A question without an id gets `{article}.{paragraph}.{question}` (0-based)."""
    with open(path, "rb") as fh:
        try:
            articles = squad.load(decode_text(fh.read())[0])
        except (Reject, UnicodeError) as exc:
            raise ValueError(f"{path}: not a SQuAD-style questions file ({exc})") from None
    questions, skipped, ids = [], Counter(), set()
    for para in squad.paragraphs(articles):
        if not isinstance(para, squad.Paragraph):
            skipped["malformed"] += 1
            continue
        doc = index.by_sha.get(sha256_text(squad.context_text(para.record["context"]))) if index else None
        qas = para.record.get("qas")
        for q, qa in enumerate(qas if isinstance(qas, list) else []):
            text = qa.get("question") if isinstance(qa, dict) else None
            if not isinstance(text, str) or not text.strip():
                skipped["malformed"] += 1
                continue
            answers = squad.answers(qa)
            if not answers:
                skipped["unanswerable"] += 1
                continue
            qid = _question_id(qa.get("id"), f"{para.label}.{q}")
            if qid in ids:
                skipped["duplicate_id"] += 1
                continue
            ids.add(qid)
            meta = {"article": para.article, "paragraph": para.index}
            questions.append({"id": qid, "question": " ".join(text.split()), "answers": answers, "doc_ids": [doc] if doc else [], "meta": meta})
    return sorted(questions, key=lambda q: q["id"]), dict(sorted(skipped.items()))


def _question_id(value, fallback: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
        return fallback
    return str(value)


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
