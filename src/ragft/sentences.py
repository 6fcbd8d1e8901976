"""Sentences, as chunking and question generation both cut them: every line break ends a sentence
(a heading, a bullet, a table row, a paragraph: PDF text reaches here joined into paragraphs by
ragft.ingest.textnorm.join_wrapped_lines), and within a line pysbd, a rule-based splitter of the
Golden Rules that knows abbreviations ("U.S.", "Mr.", "No. 3", "3.5%"), finds the sentence ends.
"""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def _segmenter():
    import pysbd

    return pysbd.Segmenter(language="en", clean=False)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of `text`, line by line, whitespace trimmed at both ends."""
    spans, pos = [], 0
    for line in text.split("\n"):
        if line.strip():
            spans += _line_spans(line, pos)
        pos += len(line) + 1
    return spans


def _line_spans(line: str, offset: int) -> list[tuple[int, int]]:
    """The sentences of one line (pysbd's segments located in it, in order), offset into the text."""
    spans, cursor = [], 0
    segments = _segmenter().segment(line) if any(c in line for c in ".!?") else [line]
    for segment in segments:
        piece = segment.strip()
        if not piece:
            continue
        start = line.find(piece, cursor)
        if start < 0:  # pysbd altered the text (it should not with clean=False): keep the rest whole
            rest = line[cursor:]
            start, piece = cursor + len(rest) - len(rest.lstrip()), rest.strip()
            if piece:
                spans.append((offset + start, offset + start + len(piece)))
            break
        spans.append((offset + start, offset + start + len(piece)))
        cursor = start + len(piece)
        if cursor >= len(line.rstrip()):
            break
    return spans
