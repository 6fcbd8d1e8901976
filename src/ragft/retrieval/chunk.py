"""Token-aware chunking with overlap, stable ids and character offsets into the doc.

Strategies:
- `tokens`: fixed windows of `size` tokens, consecutive windows sharing `overlap` tokens.
- `sentences`: whole sentences (and markdown lines) packed into windows of at most `size`
  tokens; the next window starts with the last sentences of the previous one, up to `overlap`
  tokens. A sentence longer than `size` is split into token windows.
- `markdown`: as `sentences`, but a markdown heading always starts a new chunk: each section
  (a heading and the text up to the next heading) is packed on its own, so no chunk spans two
  sections. A heading followed directly by another heading joins that section; lines inside
  fenced code blocks are never headings.
Tokens are counted with the embedder's tokenizer by default (`chunk.tokenizer` names another), so
a chunk never exceeds what it embeds. Chunk ids are `{doc_id}#{index:04d}`: stable as long as the
doc's text is. `start`/`end` are character offsets into the doc: `doc["text"][start:end] == text`.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable

STRATEGIES = ("sentences", "tokens", "markdown")

# a sentence ends at . ! or ? before whitespace, or at a line break (headings, bullets)
_SENTENCE = re.compile(r"[^\n]*?[.!?](?=\s)|[^\n]+")
# an ATX heading line (`# Title` to `###### Title`) and a fenced code block (``` or ~~~)
_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+\S[^\n]*$", re.M)
_FENCE = re.compile(r"^ {0,3}(```|~~~)[^\n]*\n.*?(?:^ {0,3}\1[^\n]*$|\Z)", re.M | re.S)


def load_offsets_tokenizer(path: str):
    """The tokenizer that chunking counts with. A fast tokenizer's `tokenizer.json` is loaded with
    the `tokenizers` library alone (truncation and padding off, as transformers sets them): the
    same tokens and offsets as `AutoTokenizer`, without the 8 seconds of importing transformers
    that the chunking job otherwise spends on a 200-document corpus. Other tokenizers load with
    `AutoTokenizer`."""
    from pathlib import Path

    file = Path(path) / "tokenizer.json"
    if file.is_file():
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(file))
        tok.no_truncation()
        tok.no_padding()
        return tok
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(path)


def token_offsets(tokenizer, text: str) -> list[tuple[int, int]]:
    """Character span of every token of `text` (special tokens left out), with a `tokenizers`
    Tokenizer or a transformers tokenizer."""
    from tokenizers import Tokenizer

    if isinstance(tokenizer, Tokenizer):
        return [tuple(span) for span in tokenizer.encode(text, add_special_tokens=False).offsets]
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
    return [tuple(span) for span in enc["offset_mapping"]]


def token_range(starts: list[int], ends: list[int], start: int, end: int) -> tuple[int, int]:
    """Token indices [lo, hi) of the tokens lying wholly inside characters [start, end)."""
    lo = bisect_left(starts, start)
    return lo, max(lo, bisect_right(ends, end))


def token_windows(offsets: list[tuple[int, int]], size: int, overlap: int) -> list[tuple[int, int]]:
    """Token-index windows [i, j) of at most `size` tokens, sharing `overlap` tokens."""
    if size <= overlap:
        raise ValueError(f"chunk size ({size}) must be larger than overlap ({overlap})")
    windows, i, n = [], 0, len(offsets)
    while i < n:
        j = min(i + size, n)
        windows.append((i, j))
        if j == n:
            break
        i = j - overlap
    return windows


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences and lines of `text`, whitespace trimmed."""
    spans = []
    for m in _SENTENCE.finditer(text):
        start, end = m.start(), m.end()
        while start < end and text[start].isspace():
            start += 1
        if start < end:
            spans.append((start, end))
    return spans


def markdown_sections(text: str) -> list[tuple[int, int]]:
    """Character spans of the sections of a markdown text, whitespace trimmed: each heading starts
    one; text before the first heading is a section; a lone heading joins the section after it."""
    fences = [m.span() for m in _FENCE.finditer(text)]
    heads = [m.start() for m in _HEADING.finditer(text) if not any(a <= m.start() < b for a, b in fences)]
    bounds = sorted({0, *heads, len(text)})
    spans = []
    for s, e in zip(bounds, bounds[1:]):
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if s < e:
            spans.append((s, e))
    sections, pending = [], None
    for i, (s, e) in enumerate(spans):
        if s in heads and "\n" not in text[s:e] and i + 1 < len(spans):  # a lone heading
            pending = s if pending is None else pending
            continue
        sections.append((s if pending is None else pending, e))
        pending = None
    return sections


def pack_sentences(spans: list[tuple[int, int]], n_tokens: list[int], size: int, overlap: int) -> list[tuple[int, int]]:
    """Group consecutive sentences into windows [first, last) of at most `size` tokens."""
    windows, i, n = [], 0, len(spans)
    while i < n:
        j, total = i, 0
        while j < n and (j == i or total + n_tokens[j] <= size):
            total += n_tokens[j]
            j += 1
        windows.append((i, j))
        if j == n:
            break
        # carry the last sentences of this window, up to `overlap` tokens, into the next
        back, carried = j, 0
        while back - 1 > i and carried + n_tokens[back - 1] <= overlap:
            back -= 1
            carried += n_tokens[back]
        i = back
    return windows


def chunk_doc(doc: dict, tokenizer, size: int, overlap: int, strategy: str = "sentences") -> list[dict]:
    """The chunks of one doc: `{"id", "doc_id", "text", "start", "end", "n_tokens"}`."""
    text = doc["text"]
    offsets = token_offsets(tokenizer, text)
    starts, ends = [o[0] for o in offsets], [o[1] for o in offsets]

    def n_tokens(s: int, e: int) -> int:
        lo, hi = token_range(starts, ends, s, e)
        return hi - lo

    def packed(sentences: list[tuple[int, int]]) -> list[tuple[int, int]]:
        pieces: list[tuple[int, int]] = []
        for s, e in sentences:
            lo, hi = token_range(starts, ends, s, e)
            inner = offsets[lo:hi]
            if len(inner) > size:  # one sentence longer than a chunk: cut it into token windows
                pieces += [(inner[a][0], inner[b - 1][1]) for a, b in token_windows(inner, size, overlap)]
            else:
                pieces.append((s, e))
        counts = [n_tokens(s, e) for s, e in pieces]
        return [(pieces[a][0], pieces[b - 1][1]) for a, b in pack_sentences(pieces, counts, size, overlap)]

    if strategy == "tokens":
        spans = [(offsets[i][0], offsets[j - 1][1]) for i, j in token_windows(offsets, size, overlap)]
    elif strategy == "sentences":
        spans = packed(sentence_spans(text))
    elif strategy == "markdown":
        sentences = sentence_spans(text)
        firsts = [s for s, _ in sentences]
        spans = [w for a, b in markdown_sections(text)
                 for w in packed(sentences[bisect_left(firsts, a):bisect_left(firsts, b)])]
    else:
        raise ValueError(f"chunk.strategy {strategy!r} is not one of: {', '.join(STRATEGIES)}")
    return [
        {
            "id": f"{doc['id']}#{n:04d}",
            "doc_id": doc["id"],
            "text": text[s:e],
            "start": s,
            "end": e,
            "n_tokens": n_tokens(s, e),
        }
        for n, (s, e) in enumerate(spans)
    ]


def chunk_docs(docs: Iterable[dict], tokenizer, size: int, overlap: int, strategy: str = "sentences") -> list[dict]:
    """Chunks of every doc, in doc order."""
    return [c for doc in docs for c in chunk_doc(doc, tokenizer, size, overlap, strategy)]
