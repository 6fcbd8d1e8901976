"""Ingest's files: discover each source's files, read each with its format's reader, in parallel
processes, spilling the docs to disk as they are read.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import stat
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from glob import glob
from pathlib import PurePath
from typing import NamedTuple

import numpy as np
from tqdm import tqdm

from ragft.ingest.dedup import Signer
from ragft.ingest.formats import Reject
from ragft.ingest.readers import (
    READERS,
    Item,
    Options,
    Rejection,
    label,
)
from ragft.jsonl import dumps

logger = logging.getLogger(__name__)


class SourceFile(NamedTuple):
    """One discovered file: its path as found, and its path relative to its source root (posix)."""

    path: str
    rel: str


class DocRef(NamedTuple):
    """What ingest keeps of a read doc: never its text, but where its record lies in a spill file."""

    id: str
    source: str
    label: str
    where: str  # file path (and line) for duplicate_id details
    sha256: str
    signature: np.ndarray
    spill: str
    offset: int
    length: int
    text_bytes: int
    repairs: tuple[tuple[str, int], ...]


@dataclass
class FileResult:
    """What one file gave: its size in bytes and its items (DocRefs and rejections), in file order."""

    file: SourceFile
    nbytes: int
    items: list

    @property
    def docs(self) -> list:
        """The items that became docs."""
        return [i for i in self.items if not isinstance(i, Rejection)]

    @property
    def rejections(self) -> list[Rejection]:
        """The items that were rejected."""
        return [i for i in self.items if isinstance(i, Rejection)]


def discover(sources, root: str | os.PathLike | None = None) -> list[SourceFile]:
    """Expand sources (a path, glob, or list of them; relative ones under `root`) into files, in order."""
    seen, files = set(), []
    for src in [sources] if isinstance(sources, (str, os.PathLike)) else list(sources):
        for f in expand_source(src, root):
            key = os.path.realpath(f.path) if os.path.exists(f.path) else os.path.abspath(f.path)
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
        found = _files_at(pattern, os.path.dirname(pattern)) if os.path.lexists(pattern) else []
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


def _walk(top: str, base: str) -> Iterator[SourceFile]:
    """Files under `top` depth first in name order; hidden names skipped, symlink loops cut.

    Iterative (a stack of open listings), so that any depth of nesting is walked. A directory that
    cannot be listed is yielded as a file, for iter_file to reject as `unreadable`."""
    stack: list[tuple[Iterator[os.DirEntry], frozenset[str]]] = []
    if not _enter(stack, top, frozenset()):
        yield SourceFile(top, _rel(top, base))
    while stack:
        entries, ancestors = stack[-1]
        entry = next(entries, None)
        if entry is None:
            stack.pop()
        elif entry.name.startswith("."):
            continue
        elif not _is_dir(entry) or not _enter(stack, entry.path, ancestors):
            yield SourceFile(entry.path, _rel(entry.path, base))


def _enter(stack: list, path: str, ancestors: frozenset[str]) -> bool:
    """Push the sorted listing of directory `path` unless it is one of its own ancestors (a symlink
    loop); False when it cannot be listed."""
    real = os.path.realpath(path)
    if real in ancestors:
        return True
    try:
        with os.scandir(path) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError:
        return False
    stack.append((iter(entries), ancestors | {real}))
    return True


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _rel(path: str, base: str) -> str:
    """Posix relpath; bytes that are not UTF-8 in a file name (surrogate escapes) become U+FFFD."""
    rel = PurePath(os.path.relpath(path, base)).as_posix()
    return _printable(rel)


def _printable(name: str) -> str:
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def iter_file(file: SourceFile, opts: Options) -> Iterator[Item]:
    """The items of one file in file order (docs and rejections); every failure becomes a rejection."""
    try:
        size = _regular_size(file.path)
        read = READERS.get(PurePath(file.path).suffix.lower())
        if read is None:
            raise Reject("unsupported_format", _unsupported(file.path))
        if read.stream:
            with _open(file.path) as fh:
                yield from read(fh, file.rel, opts)
        else:
            if size > opts.max_file_mb * 2**20:
                raise Reject("too_large", f"{size / 2**20:.1f} MB, above max_file_mb={opts.max_file_mb}")
            yield from read(_read_bytes(file.path), file.rel, opts)
    except Reject as r:
        yield Rejection(file.rel, file.rel, r.reason, r.detail)
    except OSError as exc:  # e.g. the file vanished or broke while a streaming reader read it
        yield Rejection(file.rel, file.rel, "unreadable", _os_detail(exc))
    except Exception as exc:  # a parser bug must not stop the run; the item says what happened
        logger.exception("ingest: unexpected error reading %s", file.path)
        yield Rejection(file.rel, file.rel, "parse_error", f"unexpected {type(exc).__name__}: {exc}")


def _regular_size(path: str) -> int:
    try:
        st = os.stat(path)
    except OSError as exc:
        raise Reject("unreadable", _os_detail(exc)) from None
    if not stat.S_ISREG(st.st_mode):
        raise Reject("unreadable", "not a regular file")
    return st.st_size


def _size_or_zero(path: str) -> int:
    try:
        st = os.stat(path)
    except OSError:
        return 0
    return st.st_size if stat.S_ISREG(st.st_mode) else 0


def _open(path: str):
    try:
        return open(path, "rb")
    except OSError as exc:
        raise Reject("unreadable", _os_detail(exc)) from None


def _read_bytes(path: str) -> bytes:
    with _open(path) as fh:
        try:
            return fh.read()
        except OSError as exc:
            raise Reject("unreadable", _os_detail(exc)) from None


def _os_detail(exc: OSError) -> str:
    return f"{type(exc).__name__}: {exc.strerror or exc}"


def _unsupported(path: str) -> str:
    ext = PurePath(path).suffix
    what = f"extension {_printable(ext)!r}" if ext else "a file without extension"
    return f"no reader for {what}; readers exist for {', '.join(sorted(READERS))}"


class Spiller:
    """Reads files for one process: each doc goes to this process's spill file, and the caller gets
    a DocRef (id, hashes, MinHash signature, spill position) in its place."""

    def __init__(self, opts: Options, spill_dir: str):
        self.opts = opts
        self.signer = Signer(opts.near_dup_num_perm, opts.near_dup_ngram)
        self.path = os.path.join(spill_dir, f"spill-{os.getpid()}.jsonl")
        self.fh = None

    def __call__(self, file: SourceFile) -> FileResult:
        """Read one file; docs are spilled, rejections returned as they are."""
        if self.fh is None:
            self.fh = open(self.path, "ab")
        items = [self.spill(item, file) if isinstance(item, dict) else item for item in iter_file(file, self.opts)]
        self.fh.flush()  # pool workers end without flushing
        return FileResult(file, _size_or_zero(file.path), items)

    def spill(self, doc: dict, file: SourceFile) -> DocRef:
        """Append one doc record to the spill file; its reference."""
        line = (dumps(doc) + "\n").encode("utf-8")
        offset = self.fh.tell()
        self.fh.write(line)
        where = _printable(file.path) + label(doc)[len(doc["source"]):]
        repairs = dict(doc["meta"].get("repairs", {}))
        if "encoding" in doc["meta"]:
            repairs["encoding_guessed"] = 1
        text_bytes = len(doc["text"].encode("utf-8"))
        return DocRef(doc["id"], doc["source"], label(doc), where, doc["sha256"], self.signer.signature(doc["text"]),
                      self.path, offset, len(line), text_bytes, tuple(sorted(repairs.items())))

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = None


_SPILLER: Spiller | None = None  # the pool worker's own


def _start_worker(opts: Options, spill_dir: str) -> None:
    global _SPILLER
    _SPILLER = Spiller(opts, spill_dir)


def _work(file: SourceFile) -> FileResult:
    return _SPILLER(file)


def read_all(files: list[SourceFile], opts: Options, spill_dir: str, threads: int = 1) -> list[FileResult]:
    """Spill every file's docs (in `threads` processes); results in the files' order."""
    bar = dict(total=len(files), desc="ingest", unit="file", disable=None)
    if threads <= 1 or len(files) < 2:
        spiller = Spiller(opts, spill_dir)
        try:
            return [spiller(f) for f in tqdm(files, **bar)]
        finally:
            spiller.close()
    # fork where there is one: a spawned worker would re-run a Snakemake script's __main__
    method = "fork" if sys.platform == "linux" else None
    chunk = max(1, min(64, len(files) // (threads * 8)))
    with ProcessPoolExecutor(
        threads, mp_context=multiprocessing.get_context(method), initializer=_start_worker, initargs=(opts, spill_dir)
    ) as pool:
        return list(tqdm(pool.map(_work, files, chunksize=chunk), **bar))
