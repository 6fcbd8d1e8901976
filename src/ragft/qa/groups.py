"""Question groups: gold questions that share a gold doc and a normalised answer, or the chunk they
were generated from (`meta.chunk_id`), joined transitively.

Two questions about one passage with one answer are paraphrases: a model trained on one has seen
the other's answer in the other's context; two questions generated from one chunk are read off
the same few sentences. The split (ragft.qa.gold.split_questions) keeps each
group on one side, and the decontamination report (ragft.finetune.data_report) counts training
examples that share a pair with an eval question.
"""

from __future__ import annotations

from collections.abc import Iterable

from ragft.answers import normalize_answer


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

    first: dict[tuple[str, str], int] = {}  # pair -> the first question that has it
    for i, q in enumerate(order):
        for key in group_keys(q):
            a, b = root(i), root(first.setdefault(key, i))
            parent[max(a, b)] = min(a, b)  # a group's root is its first question
    groups: dict[int, list[dict]] = {}
    for i, q in enumerate(order):
        groups.setdefault(root(i), []).append(q)
    return list(groups.values())


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
