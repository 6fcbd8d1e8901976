"""Token-aware chunking with overlap, stable ids and character offsets into the doc.

Strategies:
- `tokens`: fixed windows of `size` tokens, consecutive windows sharing `overlap` tokens.
- `sentences`: whole sentences (ragft.sentences: every line, split by pysbd) packed into windows of at most `size`
  tokens; the next window starts with the last sentences of the previous one, up to `overlap`
  tokens. A sentence longer than `size` is split into token windows.
- `markdown`: as `sentences`, but a markdown heading always starts a new chunk: each section
  (a heading and the text up to the next heading) is packed on its own, so no chunk spans two
  sections. A heading followed directly by another heading joins that section; lines inside
  fenced code blocks are never headings.
Tokens are counted with the embedder's tokenizer by default (`chunk.tokenizer` names another), and
counted exactly: a chunk's `n_tokens` is `len(tokenizer(chunk_text, add_special_tokens=False)
.input_ids)`, never above `size`. Windows are first laid out with the doc's token offsets, then each
is re-tokenized on its own and shrunk until it fits: a byte-level BPE or SentencePiece tokenizer
puts the space before a word into that word's token (its offsets include it), and a chunk's first
word, or the line breaks between its sentences, tokenize differently alone than in the doc.
Chunk ids are `{doc_id}#{index:04d}`: stable as long as the
doc's text is. `start`/`end` are character offsets into the doc: `doc["text"][start:end] == text`.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable

from ragft.sentences import sentence_spans

STRATEGIES = ("sentences", "tokens", "markdown")

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
    """Token indices [lo, hi) of the tokens that overlap characters [start, end)."""
    lo = bisect_right(ends, start)
    return lo, max(lo, bisect_left(starts, end))


def count_tokens(tokenizer, texts: list[str]) -> list[int]:
    """The tokens of each text alone, special tokens left out (`tokenizers` Tokenizer or transformers)."""
    from tokenizers import Tokenizer

    if not texts:
        return []
    if isinstance(tokenizer, Tokenizer):
        return [len(e.ids) for e in tokenizer.encode_batch(texts, add_special_tokens=False)]
    return [len(ids) for ids in tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]]


def shrink(i: int, j: int, size: int, n_tokens: list[int], count) -> int:
    """The end of window [i, j) of units (tokens or sentences) cut back until `count(i, j)`, the
    real tokens of its text, is at most `size`: each round drops from the end the units that
    (by their own counts `n_tokens`) make up the excess. One unit is always kept."""
    while count is not None and j > i + 1 and (over := count(i, j) - size) > 0:
        while j > i + 1 and over > 0:
            j -= 1
            over -= n_tokens[j]
    return j


def token_windows(offsets: list[tuple[int, int]], size: int, overlap: int, count=None) -> list[tuple[int, int]]:
    """Token-index windows [i, j) of at most `size` tokens, sharing `overlap` tokens; with `count`
    (the real tokens of tokens [i, j) as one text), each window is cut back until that fits too."""
    if size <= overlap:
        raise ValueError(f"chunk size ({size}) must be larger than overlap ({overlap})")
    windows, i, n = [], 0, len(offsets)
    ones = [1] * n  # each token's own count, for `shrink`
    while i < n:
        j = shrink(i, min(i + size, n), size, ones, count)
        windows.append((i, j))
        if j == n:
            break
        i = max(i + 1, j - overlap)
    return windows


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


def pack_sentences(spans: list[tuple[int, int]], n_tokens: list[int], size: int, overlap: int,
                   count=None) -> list[tuple[int, int]]:
    """Group consecutive sentences into windows [first, last) of at most `size` tokens, by the
    sentences' own counts `n_tokens`; with `count` (the real tokens of sentences [a, b) as one
    text) each window is cut back until that fits, and the overlap is counted with it too."""
    count_or_sum = count or (lambda a, b: sum(n_tokens[a:b]))
    windows, i, n = [], 0, len(spans)
    while i < n:
        j, total = i, 0
        while j < n and (j == i or total + n_tokens[j] <= size):
            total += n_tokens[j]
            j += 1
        j = shrink(i, j, size, n_tokens, count)
        windows.append((i, j))
        if j == n:
            break
        # carry the last sentences of this window, up to `overlap` tokens, into the next
        back = j
        while back - 1 > i and count_or_sum(back - 1, j) <= overlap:
            back -= 1
        i = back
    return windows


def _trimmed(text: str, s: int, e: int) -> tuple[int, int]:
    """[s, e) without the whitespace at either end (a byte-level token's offsets hold its space)."""
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e


def chunk_spans(text: str, tokenizer, size: int, overlap: int, strategy: str) -> list[tuple[int, int, int]]:
    """The character span `(start, end, tokens)` of each of a text's chunks, with its real token
    count, at most `size`."""
    offsets = token_offsets(tokenizer, text)
    starts, ends = [o[0] for o in offsets], [o[1] for o in offsets]
    counted: dict[tuple[int, int], int] = {}

    def count(s: int, e: int) -> int:
        if (s, e) not in counted:
            counted[(s, e)] = count_tokens(tokenizer, [text[s:e]])[0]
        return counted[(s, e)]

    def by_tokens(toks: list[tuple[int, int]]) -> list[tuple[int, int]]:
        def span(i: int, j: int) -> tuple[int, int]:
            return _trimmed(text, toks[i][0], toks[j - 1][1])

        return [span(i, j) for i, j in token_windows(toks, size, overlap, lambda i, j: count(*span(i, j)))]

    def packed(sentences: list[tuple[int, int]]) -> list[tuple[int, int]]:
        pieces: list[tuple[int, int]] = []
        for (s, e), n in zip(sentences, count_tokens(tokenizer, [text[s:e] for s, e in sentences])):
            counted[(s, e)] = n
            if n > size:  # one sentence longer than a chunk: cut it into token windows
                lo, hi = token_range(starts, ends, s, e)
                pieces += by_tokens([(max(a, s), min(b, e)) for a, b in offsets[lo:hi]])
            else:
                pieces.append((s, e))
        n_tokens = [count(s, e) for s, e in pieces]
        windows = pack_sentences(pieces, n_tokens, size, overlap, lambda a, b: count(pieces[a][0], pieces[b - 1][1]))
        return [(pieces[a][0], pieces[b - 1][1]) for a, b in windows]

    if strategy == "tokens":
        spans = by_tokens(offsets)
    elif strategy == "sentences":
        spans = packed(sentence_spans(text))
    elif strategy == "markdown":
        sentences = sentence_spans(text)
        firsts = [s for s, _ in sentences]
        spans = [w for a, b in markdown_sections(text)
                 for w in packed(sentences[bisect_left(firsts, a):bisect_left(firsts, b)])]
    else:
        raise ValueError(f"chunk.strategy {strategy!r} is not one of: {', '.join(STRATEGIES)}")
    return [(s, e, count(s, e)) for s, e in spans if s < e]


def chunk_doc(doc: dict, tokenizer, size: int, overlap: int, strategy: str = "sentences") -> list[dict]:
    """The chunks of one doc: `{"id", "doc_id", "text", "start", "end", "n_tokens"}`."""
    text = doc["text"]
    return [{"id": f"{doc['id']}#{n:04d}", "doc_id": doc["id"], "text": text[s:e], "start": s, "end": e, "n_tokens": k}
            for n, (s, e, k) in enumerate(chunk_spans(text, tokenizer, size, overlap, strategy))]


def chunk_docs(docs: Iterable[dict], tokenizer, size: int, overlap: int, strategy: str = "sentences") -> list[dict]:
    """Chunks of every doc, in doc order."""
    return [c for doc in docs for c in chunk_doc(doc, tokenizer, size, overlap, strategy)]
