"""Readers: one function per file format, registered by extension with `@reader`.

A reader turns one file into items, in file order: each item is a doc record or a `Rejection`. A
whole-file reader gets the file's bytes; a streaming reader (`@reader(..., stream=True)`) gets the
open binary file and yields items, so a JSONL file of any size costs one line of memory. A reader
raises `Reject` when the whole file is one rejected item. Every text passes the same cleaning
(`clean`: mojibake repair, normalisation) and the same quality filters (`make_doc`; they judge the
prose lines, not table cells: ragft.ingest.quality).

Formats and their doc ids (`rel` is the file's path relative to its source root):
  .txt .md .markdown     one doc, id `rel`; md titled by its first `# ` heading
  .html .htm .xhtml      one doc, id `rel`: the main text (selectolax), titled by <title>
  .pdf                   one doc, id `rel`: the text layer (pypdf), running headers and footers
                         dropped, words hyphenated across line breaks joined; meta.page_starts[i]
                         is the character offset where page i+1 begins
  .docx                  one doc, id `rel`: paragraphs and table rows (python-docx)
  .jsonl                 one doc per line, id `rel:{record id}` (the id field, else the line number)
  .json (SQuAD-style)    one doc per distinct paragraph context, id `rel:{sha256 of its text, 12 hex}`
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import BinaryIO, NamedTuple

from ragft.ingest import squad
from ragft.ingest.formats import (
    Reject,
    docx_text,
    drop_running_lines,
    html_text,
    pdf_pages,
)
from ragft.ingest.quality import quality_problem
from ragft.ingest.textnorm import (
    SNIFF_BYTES,
    binary_reason,
    clean_title,
    decode_text,
    dehyphenate,
    join_wrapped_lines,
    normalise_counting,
    normalise_text,
    repair_text,
    sha256_text,
    wide_codec,
)
from ragft.jsonl import dumps

JSONL_FIELDS = {"id": "id", "title": "title", "text": "text"}
PLAIN_ENCODINGS = ("utf-8", "utf-16", "utf-32")  # not worth a meta.encoding entry


class Rejection(NamedTuple):
    """One rejected item; `file` is the relpath of the file it came from (for per-file counts)."""

    file: str
    source: str
    reason: str
    detail: str

    def record(self) -> dict:
        """The rejected.jsonl record."""
        return {"source": self.source, "reason": self.reason, "detail": self.detail}


@dataclass(frozen=True)
class Options:
    """Reader settings: JSONL field names, then the cleaning settings of config key `clean` (their
    defaults, bounds and meaning are the schema's; `ragft.ingest.run.make_options` fills them in)."""

    fields: Mapping[str, str]
    min_chars: int  # shorter normalised texts are `too_short`
    max_symbol_ratio: float  # a larger share of symbols in the prose lines' non-space characters: `too_many_symbols`
    max_repeated_lines: float  # a larger share of prose lines repeating an earlier one: `repeated_lines`
    max_file_mb: float  # larger files (but JSONL, which streams) are `too_large`
    near_dup_threshold: float  # estimated Jaccard similarity of word n-gram sets: `near_duplicate`
    near_dup_num_perm: int  # MinHash permutations per signature
    near_dup_ngram: int  # words per n-gram (shingle)


Item = dict | Rejection  # a doc record, or the rejection of one item
Reader = Callable[..., Iterable[Item]]
READERS: dict[str, Reader] = {}


def reader(*extensions: str, stream: bool = False) -> Callable[[Reader], Reader]:
    """Register a reader for file extensions (lower case, with the dot); `stream` readers get the
    open binary file instead of its bytes."""

    def register(fn: Reader) -> Reader:
        fn.stream = stream
        for ext in extensions:
            READERS[ext] = fn
        return fn

    return register


# --- shared steps ----------------------------------------------------------------------------


def decode_file(raw: bytes) -> tuple[str, str]:
    """A text file's bytes as (str, encoding); Reject `binary` or `encoding` when they are not text."""
    if wide_codec(raw) is None and (why := binary_reason(raw)):
        raise Reject("binary", why)
    try:
        return decode_text(raw)
    except UnicodeDecodeError as exc:
        raise Reject("encoding", _decode_detail(exc)) from None
    except UnicodeError as exc:
        raise Reject("encoding", str(exc)) from None


def _decode_detail(exc: UnicodeDecodeError) -> str:
    return f"not valid {exc.encoding}: {exc.reason} at byte {exc.start}"


def clean(text: str) -> tuple[str, dict]:
    """Repaired and normalised text, and the repairs made (counts of `mojibake_lines` fixed and of
    `control_chars` removed, such as a stray NUL; only those above 0)."""
    text, fixed = repair_text(text)
    text, removed = normalise_counting(text)
    return text, {k: n for k, n in (("mojibake_lines", fixed), ("control_chars", removed)) if n}


def file_meta(fmt: str, nbytes: int, encoding: str = "utf-8", repairs: Mapping[str, int] | None = None) -> dict:
    """A doc's meta: format and size, plus the encoding when it was guessed and any repairs."""
    meta = {"format": fmt, "bytes": nbytes}
    if encoding not in PLAIN_ENCODINGS:
        meta["encoding"] = encoding
    if repairs:
        meta["repairs"] = dict(repairs)
    return meta


def make_doc(doc_id: str, rel: str, label: str, title: str, text: str, meta: dict, opts: Options,
             judged: str | None = None) -> Item:
    """A doc record from normalised text, or the rejection its quality earns (judged on `judged`
    when given: a PDF's lines as laid out, before wrapped lines are joined)."""
    if problem := quality_problem(text if judged is None else judged, opts.min_chars, opts.max_symbol_ratio,
                                  opts.max_repeated_lines):
        return Rejection(rel, label, *problem)
    title = clean_title(title) or doc_id
    return {"id": doc_id, "source": rel, "title": title, "text": text, "sha256": sha256_text(text), "meta": meta}


def label(doc: dict) -> str:
    """Where a doc came from, as a rejection names it: `rel`, `rel:line` (JSONL) or `rel:a.p` (SQuAD)."""
    meta = doc["meta"]
    if "line" in meta:
        return f"{doc['source']}:{meta['line']}"
    if "paragraph" in meta:
        return f"{doc['source']}:{meta['article']}.{meta['paragraph']}"
    return doc["source"]


# --- plain text ------------------------------------------------------------------------------


@reader(".txt")
def read_txt(raw: bytes, rel: str, opts: Options) -> list[Item]:
    """A plain-text file is one doc titled by its file stem."""
    text, encoding = decode_file(raw)
    text, repairs = clean(text)
    meta = file_meta("txt", len(raw), encoding, repairs)
    return [make_doc(rel, rel, rel, PurePath(rel).stem, text, meta, opts)]


@reader(".md", ".markdown")
def read_md(raw: bytes, rel: str, opts: Options) -> list[Item]:
    """A Markdown file is one doc titled by its first `# ` heading, else its file stem."""
    text, encoding = decode_file(raw)
    text, repairs = clean(text)
    meta = file_meta("md", len(raw), encoding, repairs)
    return [make_doc(rel, rel, rel, md_title(text) or PurePath(rel).stem, text, meta, opts)]


_CLOSING_HASHES = re.compile(r"(?:^| +)#+$")  # `# Title ##` -> `Title`, but `# C#` keeps its `#`


def md_title(text: str) -> str:
    """The text of the first level-1 ATX heading outside code fences, or ''."""
    fenced = False
    for line in text.split("\n"):
        stripped = line.lstrip()
        if stripped.startswith(("```", "~~~")):
            fenced = not fenced
        elif not fenced and stripped.startswith("# "):
            title = _CLOSING_HASHES.sub("", stripped[2:].strip())
            if title:
                return title
    return ""


# --- rich documents --------------------------------------------------------------------------


@reader(".html", ".htm", ".xhtml")
def read_html(raw: bytes, rel: str, opts: Options) -> list[Item]:
    """An HTML page is one doc: its main text, titled by <title> (else <h1>, else the file stem)."""
    markup, encoding = decode_file(raw)
    title, text = html_text(markup)
    text, repairs = clean(text)
    if not text:
        raise Reject("empty", "no text outside script, style, navigation, header and footer")
    meta = file_meta("html", len(raw), encoding, repairs)
    return [make_doc(rel, rel, rel, title or PurePath(rel).stem, text, meta, opts)]


@reader(".pdf")
def read_pdf(raw: bytes, rel: str, opts: Options) -> list[Item]:
    """A PDF is one doc: its pages' text, without running headers and footers, de-hyphenated, wrapped lines joined into paragraphs.

    meta.page_starts[i] is where page i+1 begins in the text (an empty page starts where the
    previous text ends), so the page of character c is bisect_right(page_starts, c)."""
    pages = pdf_pages(raw)
    if not pages:
        raise Reject("empty", "a PDF without pages")
    cleaned = [clean(page) for page in pages]
    if not any(text for text, _ in cleaned):
        raise Reject("no_text_layer", f"{len(pages)} page(s) without extractable text; scanned? run OCR first (e.g. ocrmypdf)")
    texts, running = drop_running_lines([text for text, _ in cleaned])
    joins = wraps = 0
    laid_out = []  # the pages' lines as laid out: what the quality filters judge (a paragraph is not one line there)
    for i, text in enumerate(texts):
        texts[i], n = dehyphenate(text)
        laid_out.append(normalise_text(texts[i]))
        texts[i], w = join_wrapped_lines(texts[i])
        texts[i], joins, wraps = normalise_text(texts[i]), joins + n, wraps + w
    text, starts = join_pages(texts)
    repairs = {k: sum(r.get(k, 0) for _, r in cleaned) for k in ("mojibake_lines", "control_chars")}
    repairs |= {"dehyphenated": joins, "lines_joined": wraps, "running_lines": running}
    meta = file_meta("pdf", len(raw), "utf-8", {k: v for k, v in repairs.items() if v})
    meta["pages"] = len(pages)
    meta["page_starts"] = starts
    return [make_doc(rel, rel, rel, PurePath(rel).stem, text, meta, opts, join_pages(laid_out)[0])]


def join_pages(pages: list[str]) -> tuple[str, list[int]]:
    """Non-empty page texts joined by a blank line, and each page's start offset in the result."""
    parts, starts, pos = [], [], 0
    for page in pages:
        if page:
            pos += 2 if parts else 0
            starts.append(pos)
            parts.append(page)
            pos += len(page)
        else:
            starts.append(pos)
    return "\n\n".join(parts), starts


@reader(".docx")
def read_docx(raw: bytes, rel: str, opts: Options) -> list[Item]:
    """A Word document is one doc: paragraphs and table rows, titled by its title property or first
    Title/Heading 1 paragraph."""
    title, text = docx_text(raw)
    text, repairs = clean(text)
    meta = file_meta("docx", len(raw), "utf-8", repairs)
    return [make_doc(rel, rel, rel, title or PurePath(rel).stem, text, meta, opts)]


# --- records ---------------------------------------------------------------------------------


@reader(".jsonl", stream=True)
def read_jsonl_records(fh: BinaryIO, rel: str, opts: Options) -> Iterator[Item]:
    """Each non-blank line of a JSONL file is one item: a doc, or a rejection for that line alone."""
    seen = False
    for n, line in _jsonl_lines(fh):
        if isinstance(line, Reject) or line.strip():
            seen = True
            yield _jsonl_item(n, line, rel, opts)
    if not seen:
        raise Reject("empty", "no JSON records")


def _jsonl_lines(fh: BinaryIO) -> Iterator[tuple[int, str | Reject]]:
    """Numbered lines, decoded one by one so that a bad byte costs only its own record."""
    head = fh.read(SNIFF_BYTES)
    if wide_codec(head):  # UTF-16/32 with a BOM: decoded whole (rare, and such files are small)
        yield from enumerate(decode_file(head + fh.read())[0].split("\n"), 1)
        return
    if why := binary_reason(head):
        raise Reject("binary", why)
    fh.seek(0)
    for n, raw in enumerate(fh, 1):
        yield n, _decode_line(raw.removesuffix(b"\n"), first=n == 1)


def _decode_line(raw: bytes, first: bool) -> str | Reject:
    try:
        return raw.decode("utf-8-sig" if first else "utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return decode_text(raw)[0]
    except UnicodeError as exc:
        return Reject("encoding", str(exc))


def _jsonl_item(n: int, line: str | Reject, rel: str, opts: Options) -> Item:
    """One JSONL line as a doc with id `{rel}:{record id}`, or its rejection with source `{rel}:{n}`."""
    where = f"{rel}:{n}"
    if isinstance(line, Reject):
        return Rejection(rel, where, line.reason, line.detail)
    try:
        record = parse_record(line)
    except ValueError as exc:
        return Rejection(rel, where, "parse_error", str(exc))
    names = opts.fields
    text = record.get(names["text"])
    if not isinstance(text, str):
        return Rejection(rel, where, "missing_field", f"no string field {names['text']!r}")
    record_id = _record_id(record.get(names["id"]), n)
    title = record.get(names["title"])
    others = {k: v for k, v in record.items() if k not in names.values()}
    text, repairs = clean(text)
    meta = {**file_meta("jsonl", len(line.encode("utf-8")), "utf-8", repairs), "line": n, "fields": others}
    title = clean_title(title) if isinstance(title, str) else ""
    return make_doc(f"{rel}:{record_id}", rel, where, title or record_id, text, meta, opts)


def parse_record(line: str) -> dict:
    """One JSONL line as a dict; ValueError says why it is not one valid JSON object."""
    try:
        # strict=False: a raw control char in a string (a stray NUL) is cleaned away, not fatal
        record = json.loads(line, parse_constant=_no_constant, strict=False)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    if not isinstance(record, dict):
        raise ValueError(f"a JSON {type(record).__name__}, not an object")
    try:
        dumps(record).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("a string holds a lone surrogate escape") from None
    return record


def _no_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def _record_id(value, line_no: int) -> str:
    """A record's id as a string; the 1-based line number when the id is absent, empty or not scalar."""
    if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
        return str(line_no)
    return str(value)


@reader(".json")
def read_squad(raw: bytes, rel: str, opts: Options) -> Iterator[Item]:
    """A SQuAD-style JSON file: each paragraph is one item; its context becomes a doc (see
    ragft.squad for the id), a context seen before in the file an `exact_duplicate`."""
    articles = squad.load(decode_file(raw)[0])
    kept: dict[str, str] = {}  # doc id -> label of the paragraph that gave it
    seen = False
    for para in squad.paragraphs(articles):
        seen = True
        if not isinstance(para, squad.Paragraph):
            where, problem = para
            yield Rejection(rel, f"{rel}:{where}", problem.reason, problem.detail)
            continue
        where = f"{rel}:{para.label}"
        context = para.record["context"]
        text = squad.context_text(context)
        doc_id = squad.doc_id(rel, text)
        if doc_id in kept:
            yield Rejection(rel, where, "exact_duplicate", f"same text as {doc_id} (paragraph {kept[doc_id]})")
            continue
        meta = {**file_meta("squad", len(context.encode("utf-8", "surrogatepass"))), "article": para.article, "paragraph": para.index}
        qas = para.record.get("qas")
        meta["questions"] = len(qas) if isinstance(qas, list) else 0
        if isinstance(doc_key := para.record.get("document_id"), (str, int)) and not isinstance(doc_key, bool):
            meta["document_id"] = clean_title(str(doc_key))
        item = make_doc(doc_id, rel, where, para.title, text, meta, opts)
        if isinstance(item, dict):
            kept[doc_id] = para.label
        yield item
    if not seen:
        raise Reject("empty", "no paragraphs")
