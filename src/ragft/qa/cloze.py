"""Cloze questions for a corpus without gold questions: its own sentences with a key span blanked.

Deterministic and model-free. From the corpus's chunks a seeded sample spread over the documents
(every doc gives a chunk before any gives two) is read; in each chunk, sentences in a seeded order
become `Fill in the blank: <sentence with ____>` with the blanked span as the one answer, until
`per_chunk` are kept from the chunk and `questions` in all. The key span is the sentence's last
quantity (a number or range with its unit: "6.7 to 7.9", "12 kg", "1998"; a date or month range:
"May to August"), else its last
multi-word proper name that is not at the sentence start ("Runsen Dulcal"). Every sentence looked
at is kept or dropped for one reason (REASONS, in the order they are checked), and counted.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterable

from ragft.answers import holds_answer, normalize_answer

METHOD = "cloze"
PROMPT = "Fill in the blank: "
BLANK = "____"
NEAR_DUP = 0.9  # word-set Jaccard of two sentences at which the later one is a near_duplicate

REASONS = (
    "fragment",  # not a whole sentence: starts without a capital or digit, or ends without . or !
    "too_short",  # fewer than min_words words
    "too_long",  # more than max_words words
    "not_self_contained",  # opens with (or points to) a reference the sentence does not resolve
    "no_span",  # neither a quantity nor a multi-word name after the first word
    "answer_in_question",  # the span occurs again in the blanked sentence
    "near_duplicate",  # same question, or nearly the same sentence, as a kept question
)

# sentences and lines, as ragft.retrieval.chunk cuts them (qa comes before retrieval: a copy)
_SENTENCE = re.compile(r"[^\n]*?[.!?](?=\s)|[^\n]+")
_MARKER = re.compile(r"^(?:#{1,6}\s+|[-*•]\s+|\d{1,2}[.)]\s+)")  # heading, bullet or list number
_WORD = re.compile(r"\w[\w'’-]*")
_UNRESOLVED = re.compile(
    r"^(?:it|its|this|these|those|that|they|their|them|he|she|his|her|such|both|here|the above|"
    r"the following|the latter|the former|as (?:mentioned|noted|shown|described))\b"
    r"|\b(?:th(?:is|e above|e following) (?:passage|document|text|section|chapter|table|figure|page|list))\b"
    r"|\b(?:see above|mentioned above|above-mentioned|shown below|see below)\b",
    re.IGNORECASE,
)
_NUM = r"[$€£]?\d+(?:,\d{3})*(?:\.\d+)?%?"
_UNITS = (
    "%|percent|per cent|°C|°F|kg|g|mg|µg|t|tonnes?|tons?|ha|hectares?|acres?|km|m|cm|mm|µm|nm|"
    "kilometres?|kilometers?|metres?|meters?|centimetres?|centimeters?|millimetres?|millimeters?|"
    "kilograms?|grams?|milligrams?|l|L|ml|mL|litres?|liters?|days?|weeks?|months?|years?|hours?|"
    "minutes?|seconds?|h|min|s|kWh|MWh|kW|MW|GW|W|V|Hz|kHz|MHz|GHz|ppm|mol|mmol|°|degrees?|"
    "dollars?|euros?|pounds?|USD|EUR|GBP|million|billion|thousand"
)
_QUANTITY = re.compile(
    rf"(?<![\w.,:/-]){_NUM}(?:\s*(?:-|–|to|and)\s*{_NUM})?(?:\s?(?:{_UNITS})(?:\s?/\s?[a-z]+|\s+per\s+[a-z]+)?)?(?![\w:/])"
)
_MONTH = (r"(?:(?:early|mid|late)[- ])?(?:January|February|March|April|May|June|July|August|September|October|"
          r"November|December)(?: \d{1,2}(?:st|nd|rd|th)?)?(?:,? \d{4})?")
_DATE = re.compile(rf"(?<![\w-]){_MONTH}(?:\s*(?:-|–|to|and|until)\s*{_MONTH})?(?!\w)")
_CONNECTORS = {"of", "de", "la", "du", "van", "von", "der", "for", "the", "&"}  # not "and": "Paris and Rome" is two
_QUOTES = "\"'“”‘’()"


def sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences and lines of `text`, trimmed, list and heading markers cut."""
    spans = []
    for m in _SENTENCE.finditer(text):
        start, end = m.start(), m.end()
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if marker := _MARKER.match(text[start:end]):
            start += marker.end()
        if start < end:
            spans.append((start, end))
    return spans


def quantity_spans(sentence: str) -> list[tuple[int, int]]:
    """Spans of numbers and ranges with their units, and of dates and month ranges, in order:
    "6.7 to 7.9", "12 kg", "1998", "May to August", "mid-January to early February"."""
    dates = [m.span() for m in _DATE.finditer(sentence)]
    numbers = [m.span() for m in _QUANTITY.finditer(sentence)
               if not any(a <= m.start() and m.end() <= b for a, b in dates)]  # "March 3, 1998" is one date
    return sorted(dates + numbers)


def name_spans(sentence: str) -> list[tuple[int, int]]:
    """Spans of runs of two or more capitalised words (joined by spaces and "of", "de", ...), the
    sentence's first word left out: a capital there says nothing."""
    words = [m.span() for m in _WORD.finditer(sentence)][1:]
    spans, run = [], []
    for start, end in words + [(len(sentence) + 1, len(sentence) + 1)]:
        word = sentence[start:end]
        joined = not run or sentence[run[-1][1]:start].isspace()
        if joined and word[:1].isupper():
            run.append((start, end))
            continue
        if joined and run and word in _CONNECTORS:
            run.append((start, end))
            continue
        while run and not sentence[run[-1][0]].isupper():  # a name ends with a capitalised word
            run.pop()
        if len(run) >= 2:
            end = run[-1][1] - 2 if sentence[run[-1][1] - 2:run[-1][1]] in ("'s", "’s") else run[-1][1]
            spans.append((run[0][0], end))
        run = [(start, end)] if word[:1].isupper() else []
    return spans


def key_span(sentence: str) -> tuple[int, int] | None:
    """The span to blank: the last quantity, else the last multi-word name, else None."""
    spans = quantity_spans(sentence) or name_spans(sentence)
    return spans[-1] if spans else None


def sentence_reason(sentence: str, min_words: int, max_words: int) -> str | None:
    """Why a sentence cannot be a cloze question (before its span is chosen), or None."""
    opening = sentence.lstrip(_QUOTES)
    if not opening or not (opening[0].isupper() or opening[0].isdigit()) or not sentence.rstrip(_QUOTES).endswith((".", "!")):
        return "fragment"
    n = len(_WORD.findall(sentence))
    if n < min_words:
        return "too_short"
    if n > max_words:
        return "too_long"
    if _UNRESOLVED.search(sentence):
        return "not_self_contained"
    return None


def cloze(sentence: str, min_words: int, max_words: int) -> tuple[str, tuple[int, int]] | str:
    """(question, answer span in the sentence), or the reason the sentence gives none."""
    reason = sentence_reason(sentence, min_words, max_words)
    if reason:
        return reason
    span = key_span(sentence)
    if span is None:
        return "no_span"
    blanked = sentence[: span[0]] + BLANK + sentence[span[1]:]
    if holds_answer(blanked, [sentence[span[0]:span[1]]]):
        return "answer_in_question"
    return PROMPT + blanked, span


def spread(chunks: Iterable[dict], rng: random.Random) -> list[dict]:
    """Chunks in a seeded order that takes one from every doc before a second from any: docs
    shuffled, each doc's chunks shuffled, then round by round."""
    by_doc: dict[str, list[dict]] = {}
    for chunk in sorted(chunks, key=lambda c: c["id"]):
        by_doc.setdefault(chunk["doc_id"], []).append(chunk)
    docs = sorted(by_doc)
    rng.shuffle(docs)
    for doc in docs:
        rng.shuffle(by_doc[doc])
    rounds = max((len(c) for c in by_doc.values()), default=0)
    return [by_doc[d][r] for r in range(rounds) for d in docs if r < len(by_doc[d])]


class _Reader:
    """One generation's state: the sentence limits, the kept questions (for the near_duplicate
    check: normalised questions and sentence word sets) and the drops by reason."""

    def __init__(self, min_words: int, max_words: int) -> None:
        self.min_words, self.max_words = min_words, max_words
        self.questions: set[str] = set()
        self.sentences: list[set[str]] = []
        self.dropped = Counter({reason: 0 for reason in REASONS})

    def near(self, question: str, sentence: str) -> bool:
        words = set(normalize_answer(sentence).split())
        return normalize_answer(question) in self.questions or any(
            len(words & s) >= NEAR_DUP * len(words | s) for s in self.sentences)

    def read(self, chunk: dict, seed: int, limit: int) -> tuple[list[dict], int]:
        """Up to `limit` cloze questions from one chunk (its sentences in an order seeded by `seed`
        and the chunk id), and how many sentences were looked at."""
        text = chunk["text"]
        order = list(enumerate(sentences(text)))
        random.Random(f"{seed}:{chunk['id']}").shuffle(order)
        out, seen = [], 0
        for k, (start, end) in order:
            if len(out) >= limit:
                break
            seen += 1
            sentence = text[start:end]
            made = cloze(sentence, self.min_words, self.max_words)
            if isinstance(made, tuple) and self.near(made[0], sentence):
                made = "near_duplicate"
            if isinstance(made, str):
                self.dropped[made] += 1
                continue
            question, (a, b) = made
            self.questions.add(normalize_answer(question))
            self.sentences.append(set(normalize_answer(sentence).split()))
            out.append({"id": f"{chunk['id']}#s{k}", "question": question, "answers": [sentence[a:b]],
                        "doc_ids": [chunk["doc_id"]],
                        "meta": {"chunk_id": chunk["id"], "generator": METHOD, "sentence": sentence,
                                 "answer_start": start + a}})
        return out, seen


def cloze_questions(chunks: Iterable[dict], seed: int, questions: int = 500, per_chunk: int = 1,
                    min_words: int = 6, max_words: int = 40) -> tuple[list[dict], dict]:
    """(questions sorted by id, manifest): cloze questions from a seeded, doc-spread sample of the
    chunks, at most `per_chunk` from a chunk and `questions` in all. The manifest counts chunks
    sampled, candidates (sentences looked at), kept and dropped by reason;
    `invariant_ok` checks candidates == kept + dropped."""
    out, manifest = drawn_questions(chunks, seed, questions, per_chunk, min_words, max_words)
    return sorted(out, key=lambda q: q["id"]), manifest


def drawn_questions(chunks: Iterable[dict], seed: int, questions: int = 500, per_chunk: int = 1,
                    min_words: int = 6, max_words: int = 40) -> tuple[list[dict], dict]:
    """cloze_questions' questions in the order they were drawn (every doc before a second chunk of any)."""
    chunks = list(chunks)
    reader = _Reader(min_words, max_words)
    out, candidates, sampled, docs = [], 0, 0, set()
    for chunk in spread(chunks, random.Random(seed)):
        if len(out) >= questions:
            break
        made, seen = reader.read(chunk, seed, min(per_chunk, questions - len(out)))
        out += made
        candidates += seen
        sampled += 1
        docs.update(q["doc_ids"][0] for q in made)
    manifest = {
        "method": METHOD, "seed": seed, "questions": questions, "per_chunk": per_chunk,
        "min_words": min_words, "max_words": max_words,
        "chunks": len(chunks), "docs": len({c["doc_id"] for c in chunks}),
        "chunks_sampled": sampled, "docs_with_questions": len(docs),
        "candidates": candidates, "kept": len(out), "dropped": dict(reader.dropped),
        "invariant_ok": candidates == len(out) + sum(reader.dropped.values()),
    }
    return out, manifest


def summary(manifest: dict) -> dict:
    """What split_manifest.json and the report say of generated questions: the method and its counts."""
    keys = ("method", "model", "kept", "generated", "candidates", "dropped", "chunks_sampled", "chunks",
            "docs_with_questions", "docs")
    return {k: manifest[k] for k in keys if k in manifest}


def none_kept(manifest: dict) -> str | None:
    """The error to stop on when generation kept no question (a split of nothing evaluates
    nothing), naming the counts and what to change; None when some were kept."""
    if manifest["kept"]:
        return None
    sentences = {f"sentence {k}": v for k, v in manifest.get("sentences_dropped", {}).items()}  # llm: before the model
    dropped = {k: v for k, v in {**sentences, **manifest["dropped"]}.items() if v}
    return (f"no generated question was kept ({manifest['method']}; {manifest['chunks']} chunks, dropped by reason: "
            f"{dropped or 'none'}): raise qa.generate.max_candidates or per_chunk, use a larger model, or method cloze")
