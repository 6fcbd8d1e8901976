"""Cloze questions for a corpus without gold questions: its own sentences with a key span blanked.

Deterministic and model-free. From the corpus's chunks a seeded sample spread over the documents
(every doc gives a chunk before any gives two) is read; in each chunk, sentences in a seeded order
become `Fill in the blank (<subject>): <sentence with ____>` with the blanked span as the one
answer, until `per_chunk` are kept from the chunk and `questions` in all. The subject is the
document's title (its file name for a PDF: "3M 2018 10K"), so a question says what it is about.
The span is ragft.qa.spans' key span. Every sentence looked at is kept or dropped for one reason
(REASONS, in the order they are checked), and counted.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterable, Mapping

from ragft.answers import holds_answer, normalize_answer
from ragft.qa.spans import BOILERPLATE, WORD, furniture, is_bare, key_span, sentences

METHOD = "cloze"
PROMPT = "Fill in the blank: "  # with a subject: "Fill in the blank (3M 2018 10K): "
BLANK = "____"
NEAR_DUP = 0.9  # word-set Jaccard of two sentences at which the later one is a near_duplicate

REASONS = (
    "furniture",  # page furniture ("Table of Contents", "(continued)") or a table row read as text
    "fragment",  # not a whole sentence: starts without a capital or digit, or with a number, ends without . or !, or is a title
    "too_short",  # fewer than min_words words, or no more than min_words // 2 + 1 beside the blank
    "too_long",  # more than max_words words
    "boilerplate",  # legal boilerplate, an exhibit list or a cross-reference ("incorporated by reference", "shall")
    "not_self_contained",  # opens with (or points to) a reference the sentence does not resolve
    "no_span",  # no quantity, multi-word name or date after the first word (footnote markers do not count)
    "answer_in_question",  # the span occurs again in the blanked sentence or its subject
    "ambiguous",  # the corpus has the same sentence with another span there: two right answers
    "bare_number",  # a year or a number under 100 without unit, over the max_bare_share of the kept
    "repeated_answer",  # MAX_SAME_ANSWER kept questions already have this answer ("December 31, 2018")
    "near_duplicate",  # same question, or nearly the same sentence, as a kept question
)

_UNRESOLVED = re.compile(
    r"^(?:it|its|this|these|those|that|they|their|them|he|she|his|her|such|both|here|the above|"
    r"the following|the latter|the former|as (?:mentioned|noted|shown|described))\b"
    r"|\b(?:th(?:is|e above|e following) (?:passage|document|text|section|chapter|table|figure|page|list))\b"
    r"|\b(?:see above|mentioned above|above-mentioned|shown below|see below)\b"
    # "this sale", "such claims", "the same period": a thing named in an earlier sentence
    r"|\b(?:this|these|such|said|the same)\s+[a-z0-9]"
    # "the plaintiff", "the parties", "the trial court", "the State", "the case", "the Plan": which one?
    r"|\bthe (?:trial |district |appeals? |named )?(?:case|cases|lawsuit|plaintiffs?|parties|court|jury|defendants?|state|"
    r"matter|settlement|transaction|plan|program|agreement|participant)\b(?!\s+(?:of|for|in|to)\b)",
    re.IGNORECASE,
)
_QUOTES = "\"'“”‘’()"
_SMALL_WORDS = {"with", "from", "into", "over", "upon", "than", "that", "under", "after", "before"}  # lower case in titles
_ABBREVIATION_END = re.compile(r"\b(?:No|Nos|Inc|Co|Corp|Ltd|Jr|Sr|St|vs|U\.S)\.$")
_NUMBER_FIRST = re.compile(r"[$€£]?[\d.,]+%?[,;:)]?(?:\s|$)")  # "2.9 percentage points versus 2016.": the tail of a cut sentence


def sentence_reason(sentence: str, min_words: int, max_words: int) -> str | None:
    """Why a sentence cannot be a cloze question (before its span is chosen), or None."""
    if furniture(sentence):
        return "furniture"
    opening = sentence.lstrip(_QUOTES)
    if not opening or not (opening[0].isupper() or opening[0].isdigit()) or not sentence.rstrip(_QUOTES).endswith((".", "!")) \
            or _NUMBER_FIRST.match(opening):
        return "fragment"
    if _ABBREVIATION_END.search(sentence):
        return "fragment"  # cut after an abbreviation: "... and in October 2018, issued ASU No."
    words = WORD.findall(sentence)
    long = [w for w in words if len(w) > 3 and w.lower() not in _SMALL_WORDS]
    if len(long) >= 3 and all(w[0].isupper() for w in long):
        return "fragment"  # a title ("Ownership of Certain Beneficial Owners and Management and Related Matters.")
    n = len(words)
    if n < min_words:
        return "too_short"
    if n > max_words:
        return "too_long"
    if BOILERPLATE.search(sentence):
        return "boilerplate"
    if _UNRESOLVED.search(sentence):
        return "not_self_contained"
    return None


def subject(title: str | None, doc_id: str) -> str:
    """What a question is about: the document's title, else its id's file stem, with underscores
    (and a file stem's hyphens) as spaces and brackets dropped ("3M_2018_10K" -> "3M 2018 10K")."""
    name = (title or "").strip() or re.sub(r"\.[A-Za-z0-9]{1,5}$", "", doc_id.rsplit("/", 1)[-1].split(":")[0])
    if " " not in name:  # a file stem: "callu-midge", "3M_2018_10K"
        name = name.replace("-", " ")
    return " ".join(re.sub(r"[_()\[\]]", " ", name).split())


def prompt(about: str | None) -> str:
    """The cloze instruction, naming the subject when there is one."""
    return f"Fill in the blank ({about}): " if about else PROMPT


def cloze(sentence: str, min_words: int, max_words: int, about: str | None = None) -> tuple[str, tuple[int, int]] | str:
    """(question, answer span in the sentence), or the reason the sentence gives none."""
    reason = sentence_reason(sentence, min_words, max_words)
    if reason:
        return reason
    span = key_span(sentence)
    if span is None:
        return "no_span"
    blanked = sentence[: span[0]] + BLANK + sentence[span[1]:]
    if len(WORD.findall(blanked)) <= min_words // 2 + 1:  # "Capital ____." of a list of names
        return "too_short"
    if holds_answer(f"{about or ''} {blanked}", [sentence[span[0]:span[1]]]):
        return "answer_in_question"
    return prompt(about) + blanked, span


class Sentences:
    """Every sentence of the corpus (normalised words), indexed by its first and its last two words,
    to find a blanked sentence elsewhere with another span in the blank."""

    def __init__(self, chunks: Iterable[dict]) -> None:
        self.first: dict[tuple, set] = {}
        self.last: dict[tuple, set] = {}
        for chunk in chunks:
            text = chunk["text"]
            for start, end in sentences(text):
                words = tuple(normalize_answer(text[start:end]).split())
                self.first.setdefault(words[:2], set()).add(words)
                self.last.setdefault(words[-2:], set()).add(words)

    def ambiguous(self, before: str, answer: str, after: str) -> bool:
        """A sentence of the corpus (another doc's, or another of this doc's: "Operating income margins
        decreased ____ percentage points year-on-year" in two segments' sections) reads `before` +
        something else than `answer` + `after`."""
        pre, ans, post = (tuple(normalize_answer(x).split()) for x in (before, answer, after))
        pool = self.first.get(pre[:2], ()) if len(pre) >= len(post) else self.last.get(post[-2:], ())
        return any(len(words) > len(pre) + len(post) and words[:len(pre)] == pre
                   and words[len(words) - len(post):] == post and words[len(pre):len(words) - len(post)] != ans
                   for words in pool)


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


MAX_BARE_SHARE = 0.05  # of the kept questions: bare years and small numbers fit too many questions to be many
MAX_SAME_ANSWER = 3  # questions with one answer: a filing's "As of ____" has the same date a dozen times


class _Reader:
    """One generation's state: the sentence limits, the corpus's sentences (for `ambiguous`), the
    subjects by doc, the kept questions (for near_duplicate: normalised questions and sentence word
    sets), the bare answers still allowed, and the drops by reason."""

    def __init__(self, chunks: list[dict], min_words: int, max_words: int, subjects: Mapping[str, str],
                 bare_share: float) -> None:
        self.min_words, self.max_words, self.subjects, self.bare_share = min_words, max_words, subjects, bare_share
        self.kept = self.bare = 0
        self.corpus = Sentences(chunks)
        self.questions: set[str] = set()
        self.sentences: list[set[str]] = []
        self.answers: Counter[str] = Counter()
        self.dropped = Counter({reason: 0 for reason in REASONS})

    def near(self, question: str, sentence: str) -> bool:
        words = set(normalize_answer(sentence).split())
        return normalize_answer(question) in self.questions or any(
            len(words & s) >= NEAR_DUP * len(words | s) for s in self.sentences)

    def judge(self, chunk: dict, sentence: str) -> tuple[str, tuple[int, int]] | str:
        """cloze's question and span for a sentence of `chunk`, or why it is dropped, the corpus-wide
        checks (ambiguous, bare_number, repeated_answer, near_duplicate) included."""
        made = cloze(sentence, self.min_words, self.max_words, self.subjects.get(chunk["doc_id"]))
        if isinstance(made, str):
            return made
        a, b = made[1]
        if self.corpus.ambiguous(sentence[:a], sentence[a:b], sentence[b:]):
            return "ambiguous"
        if is_bare(sentence[a:b]) and self.bare + 1 > self.bare_share * (self.kept + 1) + 1e-9:
            return "bare_number"
        if self.answers[normalize_answer(sentence[a:b])] >= MAX_SAME_ANSWER:
            return "repeated_answer"
        return "near_duplicate" if self.near(made[0], sentence) else made

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
            made = self.judge(chunk, sentence)
            if isinstance(made, str):
                self.dropped[made] += 1
                continue
            question, (a, b) = made
            self.kept, self.bare = self.kept + 1, self.bare + is_bare(sentence[a:b])
            self.answers[normalize_answer(sentence[a:b])] += 1
            self.questions.add(normalize_answer(question))
            self.sentences.append(set(normalize_answer(sentence).split()))
            meta = {"chunk_id": chunk["id"], "generator": METHOD, "sentence": sentence, "answer_start": start + a}
            if chunk["doc_id"] in self.subjects:
                meta["subject"] = self.subjects[chunk["doc_id"]]
            out.append({"id": f"{chunk['id']}#s{k}", "question": question, "answers": [sentence[a:b]],
                        "doc_ids": [chunk["doc_id"]], "meta": meta})
        return out, seen


def cloze_questions(chunks: Iterable[dict], seed: int, questions: int = 500, per_chunk: int = 1,
                    min_words: int = 6, max_words: int = 40, titles: Mapping[str, str] | None = None,
                    max_bare_share: float = MAX_BARE_SHARE) -> tuple[list[dict], dict]:
    """(questions sorted by id, manifest): cloze questions from a seeded, doc-spread sample of the
    chunks, at most `per_chunk` from a chunk and `questions` in all, each naming its doc's subject
    when `titles` ({doc id: title}) is given; a bare answer is kept only while the bare share of the
    kept questions stays at most `max_bare_share`. The manifest counts chunks sampled, candidates (sentences looked at), kept and dropped by
    reason; `invariant_ok` checks candidates == kept + dropped."""
    out, manifest = drawn_questions(chunks, seed, questions, per_chunk, min_words, max_words, titles, max_bare_share)
    return sorted(out, key=lambda q: q["id"]), manifest


def drawn_questions(chunks: Iterable[dict], seed: int, questions: int = 500, per_chunk: int = 1,
                    min_words: int = 6, max_words: int = 40, titles: Mapping[str, str] | None = None,
                    max_bare_share: float = MAX_BARE_SHARE) -> tuple[list[dict], dict]:
    """cloze_questions' questions in the order they were drawn (every doc before a second chunk of any)."""
    chunks = list(chunks)
    subjects = {doc: subject(title, doc) for doc, title in (titles or {}).items()}
    reader = _Reader(chunks, min_words, max_words, subjects, max_bare_share)
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
        "min_words": min_words, "max_words": max_words, "max_bare_share": max_bare_share,
        "chunks": len(chunks), "docs": len({c["doc_id"] for c in chunks}),
        "chunks_sampled": sampled, "docs_with_questions": len(docs),
        "candidates": candidates, "kept": len(out), "bare": sum(is_bare(q["answers"][0]) for q in out),
        "dropped": dict(reader.dropped), "invariant_ok": candidates == len(out) + sum(reader.dropped.values()),
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
