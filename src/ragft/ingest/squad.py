"""SQuAD-style JSON: `{"data": [{"title"?, "paragraphs": [{"context", "qas": [...]}, ...]}, ...]}`.

Ingest turns each paragraph's context into a doc; ragft.qa turns its answerable questions into gold
questions. Both go through `paragraphs` and `context_text`, so they agree on every context.

Doc ids: `{relpath}:{h}`, h the first 12 hex digits of the sha256 of the context's cleaned text. The
id depends on the text only, so a context repeated in several paragraphs (or articles) is one doc,
and the questions of every copy point at it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import NamedTuple

from ragft.ingest.formats import Reject
from ragft.ingest.textnorm import normalise_text, repair_text, sha256_text

ID_HEX = 12


class Paragraph(NamedTuple):
    """One paragraph: its position (0-based article and paragraph index), article title, record."""

    article: int
    index: int
    title: str
    record: dict

    @property
    def label(self) -> str:
        """Where it sits, as rejections name it: `a.p` (0-based)."""
        return f"{self.article}.{self.index}"


def load(text: str) -> list:
    """The articles of a SQuAD-style JSON text; Reject `parse_error` or `unsupported_format`."""
    try:
        obj = json.loads(text, strict=False)  # a raw control char in a string is cleaned away, not fatal
    except (ValueError, RecursionError) as exc:
        raise Reject("parse_error", f"not valid JSON: {exc}") from None
    data = obj.get("data") if isinstance(obj, dict) else None
    if not isinstance(data, list) or (data and not any(isinstance(a, dict) and "paragraphs" in a for a in data)):
        raise Reject(
            "unsupported_format",
            "JSON without a SQuAD-style 'data' list of articles with 'paragraphs'; "
            "write other records as JSONL (one {id, title, text} object per line)",
        )
    return data


def paragraphs(articles: list) -> Iterator[Paragraph | tuple[str, Reject]]:
    """Every paragraph in file order, or (label, Reject `missing_field`) for one that is malformed."""
    for a, article in enumerate(articles):
        paras = article.get("paragraphs") if isinstance(article, dict) else None
        if not isinstance(paras, list):
            yield str(a), Reject("missing_field", f"article {a} has no 'paragraphs' list")
            continue
        title = article.get("title")
        title = title if isinstance(title, str) else ""
        for p, para in enumerate(paras):
            if not isinstance(para, dict) or not isinstance(para.get("context"), str):
                yield f"{a}.{p}", Reject("missing_field", f"article {a} paragraph {p} has no string 'context'")
            else:
                yield Paragraph(a, p, title, para)


def context_text(context: str) -> str:
    """A context's cleaned text, exactly as ingest makes it (mojibake repaired, normalised)."""
    return normalise_text(repair_text(context)[0])


def doc_id(rel: str, text: str) -> str:
    """The doc id of a context's cleaned text in the file at `rel`."""
    return f"{rel}:{sha256_text(text)[:ID_HEX]}"


def answers(qa: dict) -> list[str]:
    """A question's distinct non-empty answer texts (stripped), in order; [] if unanswerable."""
    if qa.get("is_impossible") is True:
        return []
    out: list[str] = []
    for ans in qa.get("answers") or []:
        text = ans.get("text") if isinstance(ans, dict) else ans
        if isinstance(text, str) and (text := " ".join(text.split())) and text not in out:
            out.append(text)
    return out
