"""Questions a local LLM writes for a corpus without gold questions, kept only when they pass
filters a reviewer would trust.

The workflow picks the answers, the model writes the questions (answer-aware question
generation): candidates are the cloze candidates of ragft.qa.cloze (a sentence of a sampled chunk
with its key number, date or name blanked), and the model rewrites each blanked sentence as a
question, few-shot. A model left to pick its own answer rarely gives a parseable pair whose answer
is a span of the chunk (SmolLM2-135M: 3 of 32 chunks); given the answer, it writes a question for
nearly every one. Each generated question is then kept or dropped for exactly one reason
(REASONS, in the order they are checked): the last check is the round trip, in which the model,
shown its own chunk as a RAG system is, answers its own question, and must give the answer back.

This module holds no model: the caller passes `ask` (prompts -> generated questions) and `reply`
(prompts -> answers), so qa comes before models and the filters are testable without one.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable

from ragft.answers import holds_answer, normalize_answer, token_f1
from ragft.qa.cloze import MAX_BARE_SHARE, drawn_questions, prompt

METHOD = "llm"
REASONS = (
    "empty",  # nothing generated
    "not_a_question",  # no question mark at the end, or fewer than 3 words
    "answer_not_in_chunk",  # the answer is not a span of its chunk
    "answer_in_question",  # the question gives the answer away
    "not_self_contained",  # points at a text the reader does not see ("the passage", "it", a blank)
    "off_topic",  # fewer than half of its content words occur in the chunk
    "near_duplicate",  # the same words as a kept question
    "round_trip",  # shown the chunk, the model does not give the answer back
)

# Few-shot: statements unlike any corpus's, so the examples leak no domain text.
TEMPLATE = (
    "Rewrite each statement as a question whose answer is the blank (____).\n\n"
    "Statement: The Eiffel Tower was completed in ____.\nQuestion: When was the Eiffel Tower completed?\n\n"
    "Statement: The river that flows through Vienna is the ____.\nQuestion: Which river flows through Vienna?\n\n"
    "Statement: Adult mayflies live for about ____.\nQuestion: How long do adult mayflies live?\n\n"
    "Statement: {statement}\nQuestion:"
)

_UNSEEN = re.compile(
    r"\b(?:it|its|they|them|their|this|these|those|he|she|his|her)\b"
    r"|\b(?:text|passage|document|context|statement|paragraph|excerpt|article|blank|answer|question)\b"
    r"|\b(?:above|below|following|aforementioned|mentioned)\b|_{2,}",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W\d_][\w'’-]*")
# question words and fillers: not what a question is about
_FILLER = frozenset(
    "what which when where who whom whose why how many much does did do is are was were the a an of in on at to for "
    "from by with about into and or there name called kind type long often old".split()
)


def question_reason(question: str, answer: str, chunk_text: str) -> str | None:
    """Why a generated question is dropped before the round trip (REASONS up to off_topic), or None."""
    question = question.strip()
    if not question:
        return "empty"
    if not question.endswith("?") or len(question.split()) < 3:
        return "not_a_question"
    if answer not in chunk_text:
        return "answer_not_in_chunk"
    if holds_answer(question, [answer]):
        return "answer_in_question"
    if _UNSEEN.search(question):
        return "not_self_contained"
    content = [w for w in (m.lower() for m in _WORD.findall(question)) if w not in _FILLER and len(w) > 2]
    chunk_words = set(m.lower() for m in _WORD.findall(chunk_text))
    if not content or 2 * sum(w in chunk_words for w in content) < len(content):
        return "off_topic"
    return None


def round_trip_ok(reply: str, answer: str, min_f1: float) -> bool:
    """The round trip holds when the model's answer holds the answer and scores at least `min_f1`
    token F1 against it (a sentence that merely mentions it among much else does not)."""
    return holds_answer(reply, [answer]) and token_f1(reply, [answer]) >= min_f1


def statement(candidate: dict) -> str:
    """The blanked sentence of a cloze candidate, without the cloze instruction."""
    head = prompt((candidate.get("meta") or {}).get("subject"))
    return candidate["question"][len(head):] if candidate["question"].startswith(head) else candidate["question"]


def named(question: str, about: str | None) -> str:
    """The question with its subject before it ("3M 2018 10K: What ...?"), so it has one right answer."""
    return f"{about}: {question}" if about else question


class _Keeper:
    """The kept questions (normalised, for near duplicates) and the drops by reason."""

    def __init__(self) -> None:
        self.seen: set[frozenset[str]] = set()
        self.dropped = Counter({reason: 0 for reason in REASONS})

    def decide(self, question: str, reason: str | None, trip: bool | None) -> bool:
        if reason is None:
            words = frozenset(normalize_answer(question).split())
            reason = "near_duplicate" if words in self.seen else None if trip else "round_trip"
            if reason is None:
                self.seen.add(words)
        if reason:
            self.dropped[reason] += 1
        return reason is None


def llm_questions(
    chunks: Iterable[dict], seed: int, ask: Callable[[list[str]], list[str]], reply: Callable[[list[tuple[str, str]]], list[str]],
    *, model: str, questions: int = 500, per_chunk: int = 1, min_words: int = 6, max_words: int = 40,
    max_candidates: int = 2000, round_trip_f1: float = 0.4, batch: int = 64, template: str | None = None,
    titles: dict[str, str] | None = None, max_bare_share: float = MAX_BARE_SHARE,
    on_kept: Callable[[int], object] = lambda n: None,
) -> tuple[list[dict], dict]:
    """(questions sorted by id, manifest). Up to `max_candidates` cloze candidates are drawn (seeded,
    spread over documents, at most `per_chunk` per chunk), and taken in order, `batch` at a time:
    `ask` writes a question for each, the ones that pass `question_reason` go to `reply` with their
    chunk, and questions are kept in candidate order until `questions` are. The manifest counts
    candidates drawn, questions generated, kept and dropped by reason (`invariant_ok`: generated ==
    kept + dropped), and candidates left unused once enough were kept. `on_kept(1)` follows each kept one."""
    chunks = list(chunks)
    text = {c["id"]: c["text"] for c in chunks}
    candidates, drawn = drawn_questions(chunks, seed, max_candidates, per_chunk, min_words, max_words, titles,
                                        max_bare_share)
    template = template or TEMPLATE
    keeper, out, generated = _Keeper(), [], 0
    for start in range(0, len(candidates), batch):
        if len(out) >= questions:
            break
        group = candidates[start:start + batch]
        raw = [q.strip() for q in ask([template.format(statement=statement(c)) for c in group])]
        reasons = [question_reason(q, c["answers"][0], text[c["meta"]["chunk_id"]]) for q, c in zip(raw, group)]
        written = [named(q, c["meta"].get("subject")) for q, c in zip(raw, group)]
        asked = [i for i, r in enumerate(reasons) if r is None]
        replies = dict(zip(asked, reply([(text[group[i]["meta"]["chunk_id"]], written[i]) for i in asked]) if asked else []))
        for i, (c, q) in enumerate(zip(group, written)):
            if len(out) >= questions:
                break
            generated += 1
            trip = round_trip_ok(replies[i], c["answers"][0], round_trip_f1) if i in replies else None
            if keeper.decide(q, reasons[i], trip):
                meta = {**c["meta"], "generator": METHOD, "model": model, "cloze": c["question"], "round_trip": replies[i]}
                out.append({**c, "question": q, "meta": meta})
                on_kept(1)
    manifest = {
        "method": METHOD, "model": model, "seed": seed, "questions": questions, "per_chunk": per_chunk,
        "min_words": min_words, "max_words": max_words, "max_candidates": max_candidates,
        "round_trip_f1": round_trip_f1, "max_bare_share": max_bare_share, "chunks": drawn["chunks"], "docs": drawn["docs"],
        "chunks_sampled": drawn["chunks_sampled"], "docs_with_questions": len({q["doc_ids"][0] for q in out}),
        "sentences": drawn["candidates"], "sentences_dropped": drawn["dropped"],
        "candidates": len(candidates), "generated": generated, "unused": len(candidates) - generated,
        "kept": len(out), "dropped": dict(keeper.dropped),
        "invariant_ok": generated == len(out) + sum(keeper.dropped.values()),
    }
    return sorted(out, key=lambda q: q["id"]), manifest
