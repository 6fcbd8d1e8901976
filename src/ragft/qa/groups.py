"""Question groups: gold questions that share a gold doc and a normalised answer, or the chunk they
were generated from (`meta.chunk_id`), or nearly the same words in any documents, joined transitively.

Two questions about one passage with one answer are paraphrases: a model trained on one has seen
the other's answer in the other's context; two questions generated from one chunk are read off
the same few sentences; two near-identical questions of two documents (a sentence a company
repeats in its 2015 and 2016 filings) are one question, whatever their subjects. The split (ragft.qa.gold.split_questions) keeps each
group on one side, and the decontamination report (ragft.finetune.data_report) counts training
examples that share a pair with an eval question.
"""

from __future__ import annotations

from collections.abc import Iterable

from ragft.answers import normalize_answer
from ragft.qa.cloze import prompt
from ragft.qa.llm import named

NEAR = 0.8  # word-set Jaccard of two questions (their subjects left out) at which they are one group
NUM_PERM = 128  # MinHash permutations: candidates found by LSH, each then checked exactly


def gold_keys(question: dict) -> set[tuple[str, str]]:
    """The (doc id, normalised answer) pairs of a question: what a paraphrase of it shares."""
    answers = {normalize_answer(a) for a in question.get("answers") or [] if isinstance(a, str)}
    return {(doc, a) for doc in question.get("doc_ids") or [] for a in answers if a}


def group_keys(question: dict) -> set[tuple]:
    """What joins a question to others: its `gold_keys` pairs and the chunk it was generated from."""
    keys: set[tuple] = {("answer", doc, a) for doc, a in gold_keys(question)}
    chunk = (question.get("meta") or {}).get("chunk_id")
    return keys | {("chunk", chunk)} if chunk else keys


def question_groups(questions: Iterable[dict]) -> list[list[dict]]:
    """Questions joined when they share a `group_keys` key, transitively (union-find); each group
    sorted by id, groups in the order of their first id. A question without doc ids or chunk is alone."""
    order = sorted(questions, key=lambda q: q["id"])
    parent = list(range(len(order)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(i: int, j: int) -> None:
        a, b = root(i), root(j)
        parent[max(a, b)] = min(a, b)  # a group's root is its first question

    first: dict[tuple[str, str], int] = {}  # pair -> the first question that has it
    for i, q in enumerate(order):
        for key in group_keys(q):
            join(i, first.setdefault(key, i))
    for i, j in near_pairs([question_words(q) for q in order]):
        join(i, j)
    groups: dict[int, list[dict]] = {}
    for i, q in enumerate(order):
        groups.setdefault(root(i), []).append(q)
    return list(groups.values())


def question_words(question: dict) -> frozenset[str]:
    """The normalised words of a question, the subject it opens with left out ("Fill in the blank
    (3M 2018 10K): ", "3M 2018 10K: "; meta.subject), so a filing's questions match another's."""
    text, about = question.get("question") or "", (question.get("meta") or {}).get("subject")
    for head in (prompt(about), named("", about)) if about else ():
        if text.startswith(head):
            text = text[len(head):]
            break
    return frozenset(normalize_answer(text).split())


def near_pairs(word_sets: list[frozenset[str]], threshold: float = NEAR) -> list[tuple[int, int]]:
    """Pairs (i, j), i < j, of word sets whose Jaccard similarity is at least `threshold`: MinHash
    LSH (datasketch) proposes candidates, each checked exactly, so the result is exact for them."""
    from datasketch import MinHash, MinHashLSH

    lsh, pairs = MinHashLSH(threshold=threshold, num_perm=NUM_PERM), set()
    for i, words in enumerate(word_sets):
        if not words:
            continue
        sketch = MinHash(num_perm=NUM_PERM)
        sketch.update_batch([w.encode() for w in sorted(words)])
        for j in lsh.query(sketch):
            if len(words & word_sets[j]) >= threshold * len(words | word_sets[j]):
                pairs.add((j, i))
        lsh.insert(i, sketch)
    return sorted(pairs)


def group_counts(train: list[dict], evaluation: list[dict]) -> dict:
    """Groups in all, on each side, and the largest group's size (for split_manifest.json)."""
    eval_ids = {q["id"] for q in evaluation}
    groups = question_groups(train + evaluation)
    in_eval = sum(g[0]["id"] in eval_ids for g in groups)
    return {
        "total": len(groups),
        "train": len(groups) - in_eval,
        "eval": in_eval,
        "largest": max(map(len, groups), default=0),
    }


def shared_with(questions: Iterable[dict], others: Iterable[dict]) -> list[str]:
    """Ids of the `questions` that share a `group_keys` key with one of `others`, sorted."""
    keys = set().union(*(group_keys(q) for q in others))
    return sorted(q["id"] for q in questions if group_keys(q) & keys)
