"""Whether a text holds a gold answer: SQuAD normalisation, then whole-token containment.

The one answer-in-text check of ragft, shared by the answer metrics (evaluate), the retrieval
metrics (retrieval) and the choice of a question's gold chunk for training data (finetune); and
SQuAD token F1, shared by the answer metrics and the round trip of generated questions (qa).
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

_PUNCT = set(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


@lru_cache(maxsize=1 << 16)  # retrieval metrics normalise the same chunk texts again and again
def normalize_answer(s: str) -> str:
    """SQuAD normalisation: lower-case, drop ASCII punctuation and articles, collapse whitespace."""
    s = "".join(ch for ch in s.lower() if ch not in _PUNCT)
    return " ".join(_ARTICLES.sub(" ", s).split())


def holds_answer(text: str, answers: Sequence[str]) -> bool:
    """True when a gold answer (not empty once normalised) occurs in the normalised text as whole
    tokens, so "1" is not found in "1999"."""
    return _holds(text, tuple(answers))


@lru_cache(maxsize=1 << 18)  # tuning the hybrid weight asks about the same (chunk, answers) pairs again and again
def _holds(text: str, answers: tuple[str, ...]) -> bool:
    padded = f" {normalize_answer(text)} "  # normalised text is single-spaced
    return any(f" {gold} " in padded for gold in map(normalize_answer, answers) if gold)


def _f1(pred: list[str], gold: list[str]) -> float:
    if not pred or not gold:
        return float(pred == gold)
    same = sum((Counter(pred) & Counter(gold)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(gold)
    return 2 * precision * recall / (precision + recall)


def token_f1(prediction: str, answers: Sequence[str]) -> float:
    """SQuAD token F1, best over gold answers; both empty scores 1.0, one empty 0.0."""
    pred = normalize_answer(prediction).split()
    return max((_f1(pred, normalize_answer(a).split()) for a in answers), default=0.0)
