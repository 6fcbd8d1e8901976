"""Whether a text holds a gold answer: SQuAD normalisation, then whole-token containment.

The one answer-in-text check of ragft, shared by the answer metrics (evaluate), the retrieval
metrics (retrieval) and the choice of a question's gold chunk for training data (finetune).
"""

from __future__ import annotations

import re
import string
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
