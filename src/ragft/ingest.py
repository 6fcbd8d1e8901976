"""Ingest: turn a corpus's raw files into clean doc records; every item that fails becomes a rejection.

Flow: `discover` the files of each source -> `read_file` each with the reader registered for its
extension in READERS -> `drop_duplicate_ids` -> `dedup_exact` -> `build_manifest`. `ingest` runs
that flow in memory; `run_ingest` also writes docs.jsonl, rejected.jsonl and ingest_manifest.json.

An *item* is one txt/md file, one JSONL record, or one file that could not be read at all. Each
item becomes a doc or a rejection `{"source", "reason", "detail"}`, never an exception; only a
config mistake (a source that matches no file, a bad option) raises ValueError.

Ids: a txt/md doc's id is its path relative to its source root (posix, extension kept); a JSONL
record's id is `{relpath}:{record id}`, the record id being its id field or else its 1-based line
number. The source root is the directory of a directory source, the leading non-glob directory of a
glob, the parent of a single file. Directory walks are sorted, skip hidden names (leading "."), and
follow symlinked directories except into their own ancestors (a loop). A file matched by two
sources is read once, for the first.

Rejection reasons (REASONS):
  binary              NUL byte or many control bytes in the first 8 KiB
  duplicate_id        an earlier file or record (in source order) already gave this id
  empty               no text left after normalisation (or a JSONL file with no records)
  encoding            not valid UTF-8 (nor UTF-16/32 with a byte-order mark)
  exact_duplicate     same normalised text as a doc earlier in id order (detail names it)
  missing_field       JSONL record without a string text field
  parse_error         JSONL line that is not one valid JSON object
  too_short           fewer than `min_chars` characters after normalisation
  unreadable          OSError while reading, or not a regular file
  unsupported_format  no reader for the file's extension
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from glob import glob
from pathlib import PurePath
from typing import NamedTuple

from tqdm import tqdm

from ragft.jsonl import dumps, write_json, write_jsonl
from ragft.textnorm import (
    binary_reason,
    clean_title,
    decode,
    normalise_text,
    sha256_text,
    wide_codec,
)

REASONS = (
    "binary",
    "duplicate_id",
    "empty",
    "encoding",
    "exact_duplicate",
    "missing_field",
    "parse_error",
    "too_short",
    "unreadable",
    "unsupported_format",
)
MIN_CHARS = 50
JSONL_FIELDS = {"id": "id", "title": "title", "text": "text"}

logger = logging.getLogger(__name__)


class SourceFile(NamedTuple):
    """One discovered file: its path as found, and its path relative to its source root (posix)."""

    path: str
    rel: str


class Rejection(NamedTuple):
    """One rejected item; `file` is the relpath of the file it came from (for per-file counts)."""

    file: str
    source: str
    reason: str
    detail: str

    def record(self) -> dict:
        """The rejected.jsonl record."""
        return {"source": self.source, "reason": self.reason, "detail": self.detail}


class Reject(Exception):
    """Raised inside a reader when the whole file is one rejected item."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


@dataclass(frozen=True)
class Options:
    """Reader settings: JSONL field names and the minimum text length."""

    fields: Mapping[str, str] = field(default_factory=lambda: dict(JSONL_FIELDS))
    min_chars: int = MIN_CHARS


Item = dict | Rejection  # a doc record, or the rejection of one item
Reader = Callable[[bytes, str, Options], list[Item]]


@dataclass
class FileResult:
    """What one file gave: its size in bytes and its items (docs and rejections), in file order."""

    file: SourceFile
    nbytes: int
    items: list[Item]

    @property
    def docs(self) -> list[dict]:
        """The items that became docs."""
        return [i for i in self.items if isinstance(i, dict)]

    @property
    def rejections(self) -> list[Rejection]:
        """The items that were rejected."""
        return [i for i in self.items if isinstance(i, Rejection)]


@dataclass
class Result:
    """The outcome of one ingest: docs sorted by id, rejected records sorted by (source, reason)."""

    docs: list[dict]
    rejected: list[dict]
    manifest: dict


# --- discovery -------------------------------------------------------------------------------


def discover(sources, root: str | os.PathLike | None = None) -> list[SourceFile]:
    """Expand sources (a path, glob, or list of them; relative ones under `root`) into files, in order."""
    seen, files = set(), []
    for src in [sources] if isinstance(sources, (str, os.PathLike)) else list(sources):
        for f in expand_source(src, root):
            key = os.path.abspath(f.path)
            if key not in seen:
                seen.add(key)
                files.append(f)
    return files


def expand_source(src: str | os.PathLike, root: str | os.PathLike | None = None) -> list[SourceFile]:
    """The files of one source, sorted; raise ValueError naming the source if it matches none."""
    pattern = os.fspath(src)
    if root is not None and not os.path.isabs(pattern):
        pattern = os.path.join(os.fspath(root), pattern)
    if _is_glob(pattern):
        base = glob_root(pattern)
        found = [f for match in sorted(glob(pattern, recursive=True)) for f in _files_at(match, base)]
    elif os.path.isdir(pattern):
        found = _files_at(pattern, pattern)
    else:
        found = _files_at(pattern, os.path.dirname(pattern)) if os.path.exists(pattern) else []
    if not found:
        raise ValueError(f"ingest source {os.fspath(src)!r} matches no file (looked for {pattern!r})")
    return found


def glob_root(pattern: str) -> str:
    """The leading directories of a glob before its first wildcard (`data/*.txt` -> `data`)."""
    parts = []
    for part in PurePath(pattern).parts:
        if _is_glob(part):
            break
        parts.append(part)
    return os.path.join(*parts) if parts else "."


def _is_glob(s: str) -> bool:
    return any(c in s for c in "*?[")


def _files_at(path: str, base: str) -> list[SourceFile]:
    """The files at `path` (walked if a directory), with relpaths from the source root `base`."""
    if os.path.isdir(path):
        return list(_walk(path, base))
    return [SourceFile(path, _rel(path, base or "."))]


def _walk(path: str, base: str, ancestors: frozenset = frozenset()) -> Iterator[SourceFile]:
    """Files under `path` depth first in name order; hidden names skipped, symlink loops cut."""
    real = os.path.realpath(path)
    if real in ancestors:
        return
    try:
        with os.scandir(path) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError:
        yield SourceFile(path, _rel(path, base))  # read_file turns it into an `unreadable` item
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if _is_dir(entry):
            yield from _walk(entry.path, base, ancestors | {real})
        else:
            yield SourceFile(entry.path, _rel(entry.path, base))


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _rel(path: str, base: str) -> str:
    return PurePath(os.path.relpath(path, base)).as_posix()


# --- readers ---------------------------------------------------------------------------------

READERS: dict[str, Reader] = {}


def reader(*extensions: str) -> Callable[[Reader], Reader]:
    """Register a reader for file extensions (lower case, with the dot)."""

    def register(fn: Reader) -> Reader:
        for ext in extensions:
            READERS[ext] = fn
        return fn

    return register


def read_file(file: SourceFile, opts: Options = Options()) -> FileResult:
    """Read one file with the reader for its extension; every failure becomes a rejection."""
    nbytes = 0
    try:
        nbytes = _regular_size(file.path)
        read = READERS.get(PurePath(file.path).suffix.lower())
        if read is None:
            raise Reject("unsupported_format", _unsupported(file.path))
        raw = _read_bytes(file.path)
        nbytes = len(raw)
        items = read(raw, file.rel, opts)
    except Reject as r:
        items = [Rejection(file.rel, file.rel, r.reason, r.detail)]
    return FileResult(file, nbytes, items)


def _regular_size(path: str) -> int:
    try:
        st = os.stat(path)
    except OSError as exc:
        raise Reject("unreadable", _os_detail(exc)) from None
    if not stat.S_ISREG(st.st_mode):
        raise Reject("unreadable", "not a regular file")
    return st.st_size


def _read_bytes(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise Reject("unreadable", _os_detail(exc)) from None


def _os_detail(exc: OSError) -> str:
    return f"{type(exc).__name__}: {exc.strerror or exc}"


def _unsupported(path: str) -> str:
    ext = PurePath(path).suffix
    what = f"extension {ext!r}" if ext else "a file without extension"
    return f"no reader for {what}; readers exist for {', '.join(sorted(READERS))}"


def decode_file(raw: bytes) -> str:
    """A text file's bytes as str; raise Reject (`binary` or `encoding`) when they are not text."""
    if wide_codec(raw) is None and (why := binary_reason(raw)):
        raise Reject("binary", why)
    try:
        return decode(raw)
    except UnicodeDecodeError as exc:
        raise Reject("encoding", _decode_detail(exc)) from None


def _decode_detail(exc: UnicodeDecodeError) -> str:
    return f"not valid {exc.encoding}: {exc.reason} at byte {exc.start}"


def make_doc(
    doc_id: str, rel: str, label: str, title: str, text: str, meta: dict, opts: Options
) -> Item:
    """A doc record from normalised text, or the rejection (`empty`, `too_short`) it earns."""
    if not text:
        return Rejection(rel, label, "empty", "no text after normalisation")
    if len(text) < opts.min_chars:
        detail = f"{len(text)} characters, fewer than min_chars={opts.min_chars}"
        return Rejection(rel, label, "too_short", detail)
    title = clean_title(title) or doc_id
    sha = sha256_text(text)
    return {"id": doc_id, "source": rel, "title": title, "text": text, "sha256": sha, "meta": meta}


@reader(".txt")
def read_txt(raw: bytes, rel: str, opts: Options) -> list[Item]:
    """A plain-text file is one doc titled by its file stem."""
    text = normalise_text(decode_file(raw))
    meta = {"format": "txt", "bytes": len(raw)}
    return [make_doc(rel, rel, rel, PurePath(rel).stem, text, meta, opts)]


@reader(".md", ".markdown")
def read_md(raw: bytes, rel: str, opts: Options) -> list[Item]:
    """A Markdown file is one doc titled by its first `# ` heading, else its file stem."""
    text = normalise_text(decode_file(raw))
    meta = {"format": "md", "bytes": len(raw)}
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


@reader(".jsonl")
def read_jsonl_records(raw: bytes, rel: str, opts: Options) -> list[Item]:
    """Each non-blank line of a JSONL file is one item: a doc, or a rejection for that line alone."""
    items = [_jsonl_item(n, line, rel, opts) for n, line in _jsonl_lines(raw) if _nonblank(line)]
    if not items:
        raise Reject("empty", "no JSON records")
    return items


def _jsonl_lines(raw: bytes) -> list[tuple[int, str | Reject]]:
    """Numbered lines, decoded one by one so that a bad byte costs only its own record."""
    if wide_codec(raw):
        return list(enumerate(decode_file(raw).split("\n"), 1))
    if why := binary_reason(raw):
        raise Reject("binary", why)
    lines = []
    for n, line in enumerate(raw.split(b"\n"), 1):
        try:
            lines.append((n, line.decode("utf-8-sig" if n == 1 else "utf-8")))
        except UnicodeDecodeError as exc:
            lines.append((n, Reject("encoding", _decode_detail(exc))))
    return lines


def _nonblank(line: str | Reject) -> bool:
    return isinstance(line, Reject) or bool(line.strip())


def _jsonl_item(n: int, line: str | Reject, rel: str, opts: Options) -> Item:
    """One JSONL line as a doc with id `{rel}:{record id}`, or its rejection with source `{rel}:{n}`."""
    label = f"{rel}:{n}"
    if isinstance(line, Reject):
        return Rejection(rel, label, line.reason, line.detail)
    try:
        record = parse_record(line)
    except ValueError as exc:
        return Rejection(rel, label, "parse_error", str(exc))
    names = opts.fields
    text = record.get(names["text"])
    if not isinstance(text, str):
        return Rejection(rel, label, "missing_field", f"no string field {names['text']!r}")
    record_id = _record_id(record.get(names["id"]), n)
    title = record.get(names["title"])
    others = {k: v for k, v in record.items() if k not in names.values()}
    meta = {"format": "jsonl", "bytes": len(line.encode("utf-8")), "line": n, "fields": others}
    title = clean_title(title) if isinstance(title, str) else ""
    return make_doc(f"{rel}:{record_id}", rel, label, title or record_id, normalise_text(text), meta, opts)


def parse_record(line: str) -> dict:
    """One JSONL line as a dict; ValueError says why it is not one valid JSON object."""
    try:
        record = json.loads(line, parse_constant=_no_constant)
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


# --- whole-corpus steps ----------------------------------------------------------------------


def read_all(files: list[SourceFile], opts: Options, threads: int = 1) -> list[FileResult]:
    """read_file over all files (in `threads` threads), results in the files' order."""
    bar = dict(total=len(files), desc="ingest", unit="file", disable=None)
    if threads <= 1:
        return list(tqdm((read_file(f, opts) for f in files), **bar))
    with ThreadPoolExecutor(threads) as pool:
        return list(tqdm(pool.map(lambda f: read_file(f, opts), files), **bar))


def drop_duplicate_ids(results: Iterable[FileResult]) -> tuple[list[dict], list[Rejection]]:
    """All docs in source order; a doc whose id an earlier one took becomes a `duplicate_id` rejection."""
    first: dict[str, str] = {}
    kept, rejected = [], []
    for res in results:
        for doc in res.docs:
            where = res.file.path + (f":{doc['meta']['line']}" if "line" in doc["meta"] else "")
            if doc["id"] in first:
                detail = f"id {doc['id']!r} already given by {first[doc['id']]}"
                rejected.append(Rejection(doc["source"], _label(doc), "duplicate_id", detail))
            else:
                first[doc["id"]] = where
                kept.append(doc)
    return kept, rejected


def dedup_exact(docs: Iterable[dict]) -> tuple[list[dict], list[Rejection]]:
    """Keep the first doc in (id length, id) order for each normalised-text sha256; the rest are
    `exact_duplicate`. Shortest id first, so `report.txt` wins over `report-copy.txt`."""
    kept_id: dict[str, str] = {}
    kept, rejected = [], []
    for doc in sorted(docs, key=lambda d: (len(d["id"]), d["id"])):
        if doc["sha256"] in kept_id:
            detail = f"same text as {kept_id[doc['sha256']]}"
            rejected.append(Rejection(doc["source"], _label(doc), "exact_duplicate", detail))
        else:
            kept_id[doc["sha256"]] = doc["id"]
            kept.append(doc)
    return sorted(kept, key=lambda d: d["id"]), rejected


def _label(doc: dict) -> str:
    """Where a doc came from, as a rejection names it: `rel`, or `rel:line` for a JSONL record."""
    return f"{doc['source']}:{doc['meta']['line']}" if "line" in doc["meta"] else doc["source"]


def build_manifest(results: list[FileResult], docs: list[dict], rejections: list[Rejection]) -> dict:
    """Counts of files, items, accepted and rejected (overall, by reason, per file) and bytes in/out."""
    by_source: dict[str, Counter] = {}
    for res in results:
        by_source.setdefault(res.file.rel, Counter())["seen"] += len(res.items)
    for doc in docs:
        by_source[doc["source"]]["accepted"] += 1
    for rej in rejections:
        by_source[rej.file]["rejected"] += 1
    reasons = Counter(r.reason for r in rejections)
    items_seen = sum(len(res.items) for res in results)
    per_source_ok = all(c["seen"] == c["accepted"] + c["rejected"] for c in by_source.values())
    return {
        "files_seen": len(results),
        "items_seen": items_seen,
        "accepted": len(docs),
        "rejected": len(rejections),
        "rejected_by_reason": {r: reasons[r] for r in sorted(set(REASONS) | set(reasons))},
        "bytes_in": sum(res.nbytes for res in results),
        "bytes_out": sum(len(doc["text"].encode("utf-8")) for doc in docs),
        "invariant_ok": per_source_ok and items_seen == len(docs) + len(rejections),
        "by_source": {
            rel: {"seen": c["seen"], "accepted": c["accepted"], "rejected": c["rejected"]}
            for rel, c in sorted(by_source.items())
        },
    }


def make_options(jsonl_fields: Mapping[str, str] | None = None, min_chars: int = MIN_CHARS) -> Options:
    """Validated reader options; ValueError names the bad setting."""
    fields = {**JSONL_FIELDS, **(jsonl_fields or {})}
    unknown = sorted(set(fields) - set(JSONL_FIELDS))
    if unknown:
        raise ValueError(f"jsonl_fields has unknown key(s) {unknown}; expected some of id, title, text")
    if not all(isinstance(v, str) and v for v in fields.values()):
        raise ValueError(f"jsonl_fields values must be non-empty strings, got {dict(fields)}")
    if isinstance(min_chars, bool) or not isinstance(min_chars, int) or min_chars < 0:
        raise ValueError(f"min_chars must be an integer >= 0, got {min_chars!r}")
    return Options(fields, min_chars)


def ingest(
    sources,
    *,
    root: str | os.PathLike | None = None,
    jsonl_fields: Mapping[str, str] | None = None,
    min_chars: int = MIN_CHARS,
    threads: int = 1,
    log: logging.Logger | None = None,
) -> Result:
    """Discover, read, check ids, dedup and count, in memory; deterministic for the same inputs."""
    log = log or logger
    opts = make_options(jsonl_fields, min_chars)
    files = discover(sources, root)
    results = read_all(files, opts, max(1, int(threads)))
    docs, id_dups = drop_duplicate_ids(results)
    docs, text_dups = dedup_exact(docs)
    rejections = [r for res in results for r in res.rejections] + id_dups + text_dups
    rejections.sort(key=lambda r: (r.source, r.reason, r.detail))
    manifest = build_manifest(results, docs, rejections)
    log.info(
        "ingest: %d files, %d items -> %d docs, %d rejected %s",
        manifest["files_seen"], manifest["items_seen"], manifest["accepted"], manifest["rejected"],
        {r: n for r, n in manifest["rejected_by_reason"].items() if n},
    )
    return Result(docs, [r.record() for r in rejections], manifest)


def run_ingest(
    sources,
    out_docs: str | os.PathLike,
    out_rejected: str | os.PathLike,
    out_manifest: str | os.PathLike,
    *,
    root: str | os.PathLike | None = None,
    jsonl_fields: Mapping[str, str] | None = None,
    min_chars: int = MIN_CHARS,
    threads: int = 1,
    log: logging.Logger | None = None,
) -> dict:
    """`ingest`, then write docs.jsonl, rejected.jsonl and the manifest atomically; return the manifest."""
    result = ingest(
        sources, root=root, jsonl_fields=jsonl_fields, min_chars=min_chars, threads=threads, log=log
    )
    write_jsonl(out_docs, result.docs, sort_key="id")
    write_jsonl(out_rejected, result.rejected, sort_key=None)
    write_json(out_manifest, result.manifest)
    return result.manifest
