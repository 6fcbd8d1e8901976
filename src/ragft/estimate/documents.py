"""What a corpus brings, read cheaply before any job: files, bytes and PDF pages by format (page
objects counted, no text extracted), the characters and chunks they make, and how many questions."""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

from ragft.config import qa_file
from ragft.estimate.calibration import (
    CHARS_PER_PDF_BYTE,
    CHARS_PER_PDF_PAGE,
    CHARS_PER_TOKEN,
    GENERATED_PER_CHUNK,
    GENERATED_PER_PDF_CHUNK,
    TEXT_SHARE,
)
from ragft.ingest.sources import discover

PAGE = re.compile(rb"/Type\s*/Page(?![A-Za-z])")


def pdf_pages(path: str) -> int | None:
    """A PDF's page count from its page objects (no text extracted); pypdf when they are
    compressed in object streams; None when neither can read it."""
    data = Path(path).read_bytes()
    pages = len(PAGE.findall(data))
    if pages:
        return pages
    try:
        import pypdf

        return len(pypdf.PdfReader(path).pages)
    except Exception:  # an encrypted or broken PDF: ingest rejects it, it costs nothing
        return None


def survey(files: list[str], read_budget_mb: float = 64) -> dict[str, dict]:
    """Files, bytes and (PDF) pages, and the most in one file, by format. PDFs are read while
    `read_budget_mb` lasts; later ones get pages from their size at the median bytes per page of
    those read (7.8 KB a page in the 3M 10-K, the default)."""
    out: dict[str, dict] = {}
    read, per_page = 0.0, []
    for path in files:
        fmt = Path(path).suffix.lower().lstrip(".") or "none"
        size = os.path.getsize(path)
        entry = out.setdefault(fmt, {"files": 0, "bytes": 0, **({"pages": 0, "most_pages": 0} if fmt == "pdf" else {})})
        entry["files"] += 1
        entry["bytes"] += size
        if fmt == "pdf":
            pages = pdf_pages(path) if read < read_budget_mb * 2**20 else None
            read += size
            if pages:
                per_page.append(size / pages)
            else:
                pages = max(1, round(size / (sorted(per_page)[len(per_page) // 2] if per_page else 7800)))
            entry["pages"] += pages
            entry["most_pages"] = max(entry["most_pages"], pages)
    return out


def format_chars(formats: dict[str, dict]) -> dict[str, int]:
    """Characters of text by format: PDFs' by pages (and bytes), the rest's by bytes and format."""
    chars = {}
    for fmt, f in formats.items():
        if fmt == "pdf":  # a page holds a dense page's text at most, and a file no more than its bytes
            chars[fmt] = round(min(f["pages"] * CHARS_PER_PDF_PAGE, f["bytes"] * CHARS_PER_PDF_BYTE))
        else:
            chars[fmt] = round(f["bytes"] * TEXT_SHARE.get(fmt, 0.0))
    return chars


def text_chars(formats: dict[str, dict]) -> int:
    """Characters of text the documents hold."""
    return sum(format_chars(formats).values())


def generated_per_chunk(formats: dict[str, dict]) -> float:
    """Cloze questions kept per chunk, by the share of the text in PDFs (whose lines cut sentences)."""
    chars = format_chars(formats)
    pdf = chars.get("pdf", 0) / max(1, sum(chars.values()))
    return pdf * GENERATED_PER_PDF_CHUNK + (1 - pdf) * GENERATED_PER_CHUNK


def chunk_count(chars: int, docs: int, size: int, overlap: int) -> int:
    """Chunks of at most `size` tokens sharing `overlap`: one per document at least."""
    return max(docs, math.ceil(chars / (CHARS_PER_TOKEN * max(1, size - overlap))))


def question_counts(corpus: dict, qa: dict, chunks: int, per_chunk: float = GENERATED_PER_CHUNK) -> dict:
    """How many questions there will be and how many are held out for evaluation; generated ones at
    `per_chunk` kept per chunk (generated_per_chunk)."""
    gold = qa_file(corpus)
    if gold:
        raw = Path(gold).read_bytes() if Path(gold).is_file() else b""
        total = raw.count(b'"question"') if gold.lower().endswith(".json") else raw.count(b"\n")
    else:
        total = min(qa["generate"]["questions"], round(chunks * qa["generate"]["per_chunk"] * per_chunk))
    n_eval = min(qa["max_eval"], round(qa["eval_fraction"] * total))
    return {"source": "gold" if gold else "generated", "total": total, "eval": n_eval, "train": total - n_eval}


def corpus_inputs(config: dict, name: str) -> dict:
    """What a corpus brings: its files by format, characters, chunks and questions."""
    corpus = config["corpora"][name]
    files = [f.path for f in discover(corpus["source"])]
    formats = survey(files)
    chars = text_chars(formats)
    chunks = chunk_count(chars, len(files), config["chunk"]["size"], config["chunk"]["overlap"])
    questions = question_counts(corpus, config["qa"], chunks, generated_per_chunk(formats))
    return {"formats": formats, "files": len(files), "chars": chars, "chunks": chunks, "questions": questions}
