"""Ingest: turn a corpus's raw files into clean doc records; every item that fails becomes a rejection.

Flow: `discover` the files of each source -> read each with the reader registered for its extension
(ragft.readers; files in parallel processes) -> `drop_duplicate_ids` -> exact and near-duplicate
dedup (ragft.dedup) -> `build_manifest`. `run_ingest` writes docs.jsonl (sorted by id),
rejected.jsonl and ingest_manifest.json; `ingest` returns the same in memory.

An *item* is one file, one JSONL record or one SQuAD paragraph. Each item becomes a doc or a
rejection `{"source", "reason", "detail"}`, never an exception; only a config mistake (a source that
matches no file, a bad option) raises ValueError. The manifest checks `seen == accepted + rejected`
per file and overall.

Sources: a directory (walked recursively in name order, hidden names skipped, symlinked directories
followed except into their own ancestors), a glob (`**` recurses), a single file, or a list of
these. Doc ids start with the file's path relative to its source root: the directory of a directory
source, the leading non-glob directory of a glob, the parent of a single file (ragft.readers gives
each format's id). A file reached twice (overlapping sources, symlinks) is read once, for the first.

Memory does not grow with the corpus's text: docs go to spill files as they are read and are copied
into docs.jsonl in id order at the end; what is kept per doc is its id, hashes and MinHash signature
(about 1.5 KB). A JSONL file streams line by line; other formats hold one file per process in
memory (at most `max_file_mb`).

Rejection reasons (REASONS):
  binary              in the first 8 KiB, over 30% control bytes, or a NUL among over 1% control
                      bytes (fewer are stray: removed, counted in meta.repairs.control_chars)
  duplicate_id        an earlier file or record (in source order) already gave this id
  empty               no text left after cleaning (or no records / paragraphs / pages at all)
  encoding            no text encoding fits the bytes (UTF-8, BOM, or one charset detection finds)
  encrypted           a PDF that needs a password
  exact_duplicate     same normalised text as a kept doc (detail names it)
  missing_field       JSONL record without a string text field; SQuAD article or paragraph
                      without paragraphs or context
  near_duplicate      estimated Jaccard similarity of word n-grams >= near_dup_threshold with a kept
                      doc (detail names it)
  no_text_layer       a PDF whose pages have no extractable text (scanned; needs OCR)
  parse_error         invalid JSONL line, JSON, PDF or DOCX
  repeated_lines      more than max_repeated_lines of the prose lines repeat an earlier line (all
                      lines when there is under min_chars of prose; see ragft.ingest.quality)
  too_large           a whole-file format larger than max_file_mb
  too_many_symbols    more than max_symbol_ratio of the prose lines' non-space characters are symbols
  too_short           fewer than min_chars characters after cleaning
  unreadable          OSError while reading, or not a regular file (a file that vanished)
  unsupported_format  no reader for the extension, or JSON that is not SQuAD-style
Duplicates keep the first doc in (id length, id) order, so `report.txt` wins over `report-copy.txt`;
the kept doc's meta.duplicates lists the ids and sha256 of the docs dropped as its duplicates.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ragft.config import schema_defaults, section_errors
from ragft.ingest.dedup import (
    DocKey,
    Duplicate,
    exact_duplicates,
    near_duplicates,
    priority,
)
from ragft.ingest.readers import (
    JSONL_FIELDS,
    Options,
    Rejection,
)
from ragft.ingest.sources import DocRef, FileResult, discover, read_all
from ragft.jsonl import (
    atomic_writer,
    dumps,
    read_json,
    read_jsonl,
    write_json,
    write_jsonl,
)

REASONS = (
    "binary",
    "duplicate_id",
    "empty",
    "encoding",
    "encrypted",
    "exact_duplicate",
    "missing_field",
    "near_duplicate",
    "no_text_layer",
    "parse_error",
    "repeated_lines",
    "too_large",
    "too_many_symbols",
    "too_short",
    "unreadable",
    "unsupported_format",
)


REPAIRS = ("encoding_guessed", "mojibake_lines", "control_chars", "dehyphenated", "running_lines")


logger = logging.getLogger(__name__)


@dataclass
class Result:
    """The outcome of one ingest: docs sorted by id, rejected records sorted by (source, reason)."""

    docs: list[dict]
    rejected: list[dict]
    manifest: dict


def drop_duplicate_ids(results: Iterable[FileResult]) -> tuple[list[DocRef], list[Rejection]]:
    """All docs in source order; a doc whose id an earlier one took becomes a `duplicate_id` rejection."""
    first: dict[str, str] = {}
    kept, rejected = [], []
    for res in results:
        for doc in res.docs:
            if doc.id in first:
                detail = f"id {doc.id!r} already given by {first[doc.id]}"
                rejected.append(Rejection(doc.source, doc.label, "duplicate_id", detail))
            else:
                first[doc.id] = doc.where
                kept.append(doc)
    return kept, rejected


def dedup(docs: list[DocRef], opts: Options) -> tuple[list[DocRef], list[Duplicate]]:
    """Exact, then near-duplicate dedup; (kept docs sorted by id, duplicates)."""
    keys, dups = exact_duplicates(DocKey(d.id, d.sha256, d.signature) for d in docs)
    keys, near = near_duplicates(keys, opts.near_dup_threshold, opts.near_dup_num_perm)
    by_id = {d.id: d for d in docs}
    return sorted((by_id[k.id] for k in keys), key=lambda d: d.id), dups + near


def duplicate_rejection(dup: Duplicate, doc: DocRef) -> Rejection:
    """The rejection of a duplicate, naming the kept doc."""
    if dup.reason == "exact_duplicate":
        return Rejection(doc.source, doc.label, dup.reason, f"same text as {dup.kept}")
    return Rejection(doc.source, doc.label, dup.reason, f"similar to {dup.kept} (estimated Jaccard {dup.similarity:.2f})")


def write_docs(path: str | os.PathLike, docs: list[DocRef], dups: list[Duplicate], by_id: Mapping[str, DocRef]) -> None:
    """Copy the kept docs' records from the spill files into docs.jsonl, in id order; a kept doc's
    meta.duplicates lists the docs dropped as its duplicates."""
    merged: dict[str, list[dict]] = {}
    for dup in sorted(dups, key=lambda d: priority(d.id)):
        merged.setdefault(dup.kept, []).append({"id": dup.id, "reason": dup.reason, "sha256": by_id[dup.id].sha256})
    handles: dict[str, object] = {}
    try:
        with atomic_writer(path) as out:
            for doc in docs:
                fh = handles.get(doc.spill) or handles.setdefault(doc.spill, open(doc.spill, "rb"))
                fh.seek(doc.offset)
                line = fh.read(doc.length)
                if doc.id in merged:
                    record = json.loads(line)
                    record["meta"]["duplicates"] = merged[doc.id]
                    line = (dumps(record) + "\n").encode("utf-8")
                out.write(line)
    finally:
        for fh in handles.values():
            fh.close()


def build_manifest(results: list[FileResult], docs: list[DocRef], rejections: list[Rejection]) -> dict:
    """Counts of files, items, accepted and rejected (overall, by reason, per file), bytes in/out,
    and the repairs made in the accepted docs."""
    by_source: dict[str, Counter] = {}
    for res in results:
        by_source.setdefault(res.file.rel, Counter())["seen"] += len(res.items)
    for doc in docs:
        by_source[doc.source]["accepted"] += 1
    for rej in rejections:
        by_source[rej.file]["rejected"] += 1
    reasons = Counter(r.reason for r in rejections)
    repairs = Counter()
    for doc in docs:
        repairs.update(dict(doc.repairs))
    items_seen = sum(len(res.items) for res in results)
    per_source_ok = all(c["seen"] == c["accepted"] + c["rejected"] for c in by_source.values())
    return {
        "files_seen": len(results),
        "items_seen": items_seen,
        "accepted": len(docs),
        "rejected": len(rejections),
        "rejected_by_reason": {r: reasons[r] for r in sorted(set(REASONS) | set(reasons))},
        "repairs": {r: repairs[r] for r in REPAIRS},
        "bytes_in": sum(res.nbytes for res in results),
        "bytes_out": sum(doc.text_bytes for doc in docs),
        "invariant_ok": per_source_ok and items_seen == len(docs) + len(rejections),
        "by_source": {
            rel: {"seen": c["seen"], "accepted": c["accepted"], "rejected": c["rejected"]}
            for rel, c in sorted(by_source.items())
        },
    }


def make_options(jsonl_fields: Mapping[str, str] | None = None, **clean) -> Options:
    """Validated reader options from JSONL field names and `clean` settings; ValueError names the bad one."""
    fields = {**JSONL_FIELDS, **(jsonl_fields or {})}
    unknown = sorted(set(fields) - set(JSONL_FIELDS))
    if unknown:
        raise ValueError(f"jsonl_fields has unknown key(s) {unknown}; expected some of id, title, text")
    if not all(isinstance(v, str) and v for v in fields.values()):
        raise ValueError(f"jsonl_fields values must be non-empty strings, got {dict(fields)}")
    errors = section_errors(clean, "clean")
    if errors:
        raise ValueError(errors[0])
    return Options(fields, **{**schema_defaults("clean"), **clean})


def run_ingest(
    sources,
    out_docs: str | os.PathLike,
    out_rejected: str | os.PathLike,
    out_manifest: str | os.PathLike,
    *,
    root: str | os.PathLike | None = None,
    jsonl_fields: Mapping[str, str] | None = None,
    threads: int = 1,
    log: logging.Logger | None = None,
    **clean,
) -> dict:
    """Discover, read, check ids, dedup and count, streaming; write docs.jsonl, rejected.jsonl and the
    manifest atomically; return the manifest. Deterministic for the same inputs and settings."""
    log = log or logger
    opts = make_options(jsonl_fields, **clean)
    files = discover(sources, root)
    spill_parent = os.path.dirname(os.path.abspath(out_docs))
    os.makedirs(spill_parent, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".ingest-spill-", dir=spill_parent) as spill_dir:
        results = read_all(files, opts, spill_dir, max(1, int(threads)))
        docs, id_dups = drop_duplicate_ids(results)
        by_id = {d.id: d for d in docs}
        kept, dups = dedup(docs, opts)
        rejections = [r for res in results for r in res.rejections] + id_dups
        rejections += [duplicate_rejection(dup, by_id[dup.id]) for dup in dups]
        rejections.sort(key=lambda r: (r.source, r.reason, r.detail))
        write_docs(out_docs, kept, dups, by_id)
    manifest = build_manifest(results, kept, rejections)
    write_jsonl(out_rejected, [r.record() for r in rejections], sort_key=None)
    write_json(out_manifest, manifest)
    log.info(
        "ingest: %d files, %d items -> %d docs, %d rejected %s",
        manifest["files_seen"], manifest["items_seen"], manifest["accepted"], manifest["rejected"],
        {r: n for r, n in manifest["rejected_by_reason"].items() if n},
    )
    return manifest


def ingest(
    sources,
    *,
    root: str | os.PathLike | None = None,
    jsonl_fields: Mapping[str, str] | None = None,
    threads: int = 1,
    log: logging.Logger | None = None,
    **clean,
) -> Result:
    """`run_ingest` into a temporary folder, its outputs read back into memory (for small corpora)."""
    with tempfile.TemporaryDirectory(prefix="ragft-ingest-") as tmp:
        paths = [os.path.join(tmp, name) for name in ("docs.jsonl", "rejected.jsonl", "ingest_manifest.json")]
        run_ingest(sources, *paths, root=root, jsonl_fields=jsonl_fields, threads=threads, log=log, **clean)
        return Result(read_jsonl(paths[0]), read_jsonl(paths[1]), read_json(paths[2]))
