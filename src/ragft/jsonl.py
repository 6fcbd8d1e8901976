"""JSON Lines and JSON files: UTF-8, one object per line, stable key order, atomic writes (of
files, and of whole folders with `atomic_directory`)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    """Return every record of a JSON Lines file."""
    return list(iter_jsonl(path))


def iter_jsonl(path: str | os.PathLike) -> Iterator[dict]:
    """Yield the records of a JSON Lines file, skipping blank lines."""
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def dumps(record: dict) -> str:
    """One record as one line: keys in the order given, non-ASCII kept, no spaces."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def atomic_path(path: str | os.PathLike) -> tuple[int, str]:
    """Open a temporary file beside `path` (same filesystem, so the final rename is atomic)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write text atomically: a killed writer never leaves a file a rerun would accept."""
    fd, tmp = atomic_path(path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def atomic_writer(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """A binary file that replaces `path` only when the block ends without an error (for streaming)."""
    fd, tmp = atomic_path(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def atomic_directory(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary folder beside `path` to fill; when the block ends without an error it replaces
    `path` (renamed into place), else it is removed. A killed writer leaves no folder at `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            os.replace(path, old / path.name)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_jsonl(path: str | os.PathLike, records: Iterable[dict], sort_key: str | None = "id") -> int:
    """Write records as JSON Lines (sorted by `sort_key` when given); return how many."""
    records = list(records)
    if sort_key is not None:
        records.sort(key=lambda r: r[sort_key])
    write_text(path, "".join(dumps(r) + "\n" for r in records))
    return len(records)


def write_json(path: str | os.PathLike, obj) -> None:
    """Write one JSON document, indented, keys in the order given."""
    write_text(path, json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


def read_json(path: str | os.PathLike):
    """Read one JSON document."""
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)
