"""Gold questions: load, check, and split into train and eval by question group, seeded.

A corpus's `qa` file is JSONL (`{"id", "question", "answers", "doc_ids"}` per line) or SQuAD-style
JSON (ragft.squad). Doc ids are resolved against the corpus's docs.jsonl: an id that ingest dropped
as a duplicate becomes the id of the doc it kept; a SQuAD question gets the doc whose text is its
paragraph's cleaned context. A gold doc that is not there is *lost*; `rejected_gold_docs` names the
rejected.jsonl item that held it. An answer that normalises to "" ("The", "!") is dropped.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Iterable
from typing import NamedTuple

from ragft.answers import normalize_answer
from ragft.ingest import squad
from ragft.ingest.formats import Reject
from ragft.ingest.textnorm import decode_text, sha256_text
from ragft.jsonl import iter_jsonl, read_jsonl
from ragft.qa.groups import group_counts, question_groups

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


class Gold(NamedTuple):
    """A qa file's questions (sorted by id), skipped question counts by reason, and the lost gold
    docs: each doc reference not found in docs.jsonl -> the ids of the questions that named it."""

    questions: list[dict]
    skipped: dict[str, int]
    lost: dict[str, list[str]]


def read_gold(path: str, index: DocIndex | None = None) -> Gold:
    """The Gold of a JSONL or SQuAD-style file (lost docs only with an index to look in)."""
    if path.lower().endswith(".json"):
        return load_squad_questions(path, index)
    return load_questions(path, index)


def load_gold(path: str, index: DocIndex | None = None) -> tuple[list[dict], dict[str, int]]:
    """(questions sorted by id, skipped question counts by reason) from a JSONL or SQuAD-style file."""
    return read_gold(path, index)[:2]


def load_questions(path: str, index: DocIndex | None = None) -> Gold:
    """Questions from a JSONL file, keys in contract order; raises on a malformed record.

    Answers that normalise to "" are dropped; a question left without one is skipped and counted
    (`empty_answer`). Lost: each doc id that is not in the index (nor a duplicate of one there)."""
    out, skipped, ids = [], Counter(), []
    for n, rec in enumerate(read_jsonl(path), start=1):
        missing = [k for k in ("id", "question", "answers") if k not in rec]
        answers = rec.get("answers")
        if missing or not isinstance(answers, list) or not answers or not all(isinstance(a, str) for a in answers):
            raise ValueError(f"{path}:{n}: a question needs id, question and a non-empty list of answer strings (missing {missing})")
        ids.append(rec["id"])
        q = {k: rec.get(k, [] if k == "doc_ids" else {}) for k in QA_KEYS}
        q["answers"] = [a for a in answers if normalize_answer(a)]
        if not q["answers"]:
            skipped["empty_answer"] += 1
            continue
        out.append(q)
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path}: question ids are not unique")
    lost: dict[str, list[str]] = {}
    if index is not None:
        for q in sorted(out, key=lambda q: q["id"]):
            for ref in dict.fromkeys(q["doc_ids"]):
                if index.aliases.get(ref, ref) not in index.ids:
                    lost.setdefault(str(ref), []).append(q["id"])
            q["doc_ids"] = index.resolve(q["doc_ids"])
    return Gold(sorted(out, key=lambda q: q["id"]), dict(sorted(skipped.items())), dict(sorted(lost.items())))


def load_squad_questions(path: str, index: DocIndex | None = None) -> Gold:
    """Answerable questions of a SQuAD-style file, each with the doc of its paragraph's context.

    Skipped and counted: `unanswerable` (is_impossible, or no non-empty answer text), `empty_answer`
    (every answer normalises to ""), `malformed` (no question text, or in a paragraph without a
    context), `duplicate_id` (an earlier question has its id). A question without an id gets
    `{article}.{paragraph}.{question}` (0-based). Lost: `{file name}:{article}.{paragraph}`, the
    label ingest gives a rejected paragraph, for each context with no doc in the index."""
    with open(path, "rb") as fh:
        try:
            articles = squad.load(decode_text(fh.read())[0])
        except (Reject, UnicodeError) as exc:
            raise ValueError(f"{path}: not a SQuAD-style questions file ({exc})") from None
    questions, skipped, ids, lost = [], Counter(), set(), {}
    for para in squad.paragraphs(articles):
        if not isinstance(para, squad.Paragraph):
            skipped["malformed"] += 1
            continue
        doc = index.by_sha.get(sha256_text(squad.context_text(para.record["context"]))) if index else None
        qas = para.record.get("qas")
        for q, qa in enumerate(qas if isinstance(qas, list) else []):
            question = _squad_question(qa, f"{para.label}.{q}")
            if isinstance(question, str) or question["id"] in ids:
                skipped[question if isinstance(question, str) else "duplicate_id"] += 1
                continue
            ids.add(question["id"])
            question["doc_ids"] = [doc] if doc else []
            question["meta"] = {"article": para.article, "paragraph": para.index}
            if index is not None and not doc:
                lost.setdefault(f"{os.path.basename(path)}:{para.label}", []).append(question["id"])
            questions.append(question)
    lost = {ref: sorted(qids) for ref, qids in sorted(lost.items())}
    return Gold(sorted(questions, key=lambda q: q["id"]), dict(sorted(skipped.items())), lost)


def _squad_question(qa, fallback_id: str) -> dict | str:
    """One SQuAD question record as a gold question (no doc yet), or the reason it is skipped."""
    text = qa.get("question") if isinstance(qa, dict) else None
    if not isinstance(text, str) or not text.strip():
        return "malformed"
    answers = squad.answers(qa)
    if not answers:
        return "unanswerable"
    answers = [a for a in answers if normalize_answer(a)]
    if not answers:
        return "empty_answer"
    return {"id": _question_id(qa.get("id"), fallback_id), "question": " ".join(text.split()), "answers": answers,
            "doc_ids": [], "meta": {}}


def _question_id(value, fallback: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
        return fallback
    return str(value)


def rejected_gold_docs(lost: dict[str, list[str]], rejected: Iterable[dict]) -> tuple[list[dict], int]:
    """([{source, reason, questions}] for each rejected.jsonl item that held a lost gold doc, by
    source; the number of questions with a lost doc that no rejection holds either).

    A lost reference matches the rejection whose source is the reference, or the file part before
    one of its `:` (a whole file rejected), either whole or as the end of a path (`dir/{ref}`)."""
    by_tail: dict[str, dict] = {}
    for rec in sorted(rejected, key=lambda r: r["source"]):
        parts = rec["source"].split("/")
        for i in range(len(parts)):
            by_tail.setdefault("/".join(parts[i:]), rec)
    found: dict[str, set] = {}
    unknown: set[str] = set()
    for ref, qids in lost.items():
        cut = [ref] + [ref[:i] for i in range(len(ref) - 1, 0, -1) if ref[i] == ":"]
        rec = next((by_tail[c] for c in cut if c in by_tail), None)
        if rec is None:
            unknown.update(qids)
        else:
            found.setdefault(rec["source"], set()).update(qids)
    reasons = {rec["source"]: rec["reason"] for rec in by_tail.values()}
    held = [{"source": s, "reason": reasons[s], "questions": len(q)} for s, q in sorted(found.items())]
    return held, len(unknown)


def split_questions(questions: list[dict], eval_fraction: float, seed: int, max_eval: int | None = None) -> tuple[list[dict], list[dict]]:
    """(train, eval), each sorted by id: question groups (ragft.qa.groups) in a seeded shuffle go
    whole to eval while they fit in round(eval_fraction * questions), at most `max_eval`; a group
    that would overshoot goes to train and a later, smaller one may still fit. With no shared
    doc and answer every group is one question, and this is a seeded shuffle of the questions."""
    groups = question_groups(questions)
    random.Random(seed).shuffle(groups)
    n_eval = round(len(questions) * eval_fraction)
    if max_eval is not None:
        n_eval = min(n_eval, max_eval)
    train, evaluation = [], []
    for group in groups:
        (evaluation if len(evaluation) + len(group) <= n_eval else train).extend(group)
    return sorted(train, key=lambda q: q["id"]), sorted(evaluation, key=lambda q: q["id"])


def split_manifest(questions: list[dict], train: list[dict], evaluation: list[dict], skipped: dict,
                   rejected: list[dict], not_found: int, generator: dict | None, settings: dict,
                   review: dict | None = None) -> dict:
    """split_manifest.json: where the questions came from (`gold`, or `generated` with the generator's
    counts, `ragft.qa.cloze.summary`), people's review of them when one was applied (`ragft.qa.review`:
    the sizes are then those left after its drops), the sizes, the paraphrase groups, the gold docs lost
    to ingest's rejections (`rejected_gold_docs`) or not found at all, the skipped questions by reason,
    and the split's settings (eval_fraction, max_eval, seed)."""
    return {
        "source": "generated" if generator else "gold",
        **({"generator": generator} if generator else {}),
        **({"review": review} if review else {}),
        "questions": len(questions),
        "train": len(train),
        "eval": len(evaluation),
        "groups": group_counts(train, evaluation),  # questions sharing a gold doc and answer, or a chunk, stay together
        "without_gold_doc": sum(not q["doc_ids"] for q in questions),
        "rejected_gold_docs": rejected,  # rejected items that held a question's gold doc
        "gold_docs_not_found": not_found,  # questions naming a doc neither kept nor rejected
        "skipped": skipped,
        **settings,
    }
