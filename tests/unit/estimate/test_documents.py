"""The estimator reads a corpus cheaply: files, bytes and PDF pages by format, no text extracted."""

from pathlib import Path

import pytest

from ragft.estimate.documents import (
    chunk_count,
    corpus_inputs,
    generated_per_chunk,
    pdf_pages,
    question_counts,
    survey,
    text_chars,
)

from ..ingest.docgen import make_pdf, write

ROOT = Path(__file__).resolve().parents[3]
FILING = ROOT.parent / "shared" / "data" / "sec" / "3M_2018_10K.pdf"
QA = {"eval_fraction": 0.2, "max_eval": 80, "generate": {"questions": 500, "per_chunk": 1}}


def test_pdf_pages_are_counted_from_page_objects(tmp_path):
    pdf = write(tmp_path / "three.pdf", make_pdf([["one"], ["two"], ["three"]]))
    assert pdf_pages(str(pdf)) == 3
    assert pdf_pages(str(write(tmp_path / "broken.pdf", b"%PDF-1.4 not really"))) is None


@pytest.mark.skipif(not FILING.is_file(), reason="the 3M 10-K is in the shared data of this project's machines")
def test_the_10k_has_160_pages():
    assert pdf_pages(str(FILING)) == 160


def test_survey_counts_files_bytes_and_pages_by_format(tmp_path):
    files = [write(tmp_path / "a.pdf", make_pdf([["alpha"], ["beta"]])), write(tmp_path / "b.pdf", make_pdf([["gamma"]])),
             write(tmp_path / "notes.md", b"# Notes\n" + b"x" * 992), write(tmp_path / "c.txt", b"y" * 500)]
    formats = survey([str(f) for f in files])
    pdf_bytes = files[0].stat().st_size + files[1].stat().st_size
    assert formats == {"pdf": {"files": 2, "bytes": pdf_bytes, "pages": 3, "most_pages": 2},
                       "md": {"files": 1, "bytes": 1000}, "txt": {"files": 1, "bytes": 500}}
    # past the read budget a PDF's pages come from its size, at the bytes per page of those read
    copy = write(tmp_path / "copy.pdf", files[0].read_bytes())
    assert survey([str(files[0]), str(copy)], read_budget_mb=1e-9)["pdf"] == {
        "files": 2, "bytes": 2 * files[0].stat().st_size, "pages": 4, "most_pages": 2}


def test_characters_chunks_and_questions():
    # 2 pages of PDF at 3,660 characters, markdown byte for byte, HTML a third markup
    assert text_chars({"pdf": {"files": 1, "bytes": 9000, "pages": 2}, "md": {"files": 1, "bytes": 1000},
                       "html": {"files": 1, "bytes": 1000}}) == 7320 + 1000 + 300
    # a small text-only PDF holds no more characters than bytes (fpdf2's 2 pages: 1,929 in 2,047 bytes)
    assert text_chars({"pdf": {"files": 1, "bytes": 2047, "pages": 2}}) == 2047
    assert text_chars({"pdf": {"files": 1, "bytes": 1_252_586, "pages": 160}}) == 585_600  # the 10-K: 586,682
    assert chunk_count(176_853, 200, 64, 16) == 857  # the demo: 979 chunks
    assert chunk_count(586_682, 1, 128, 16) == 1219  # the 10-K at the schema's chunk size: 1,081
    assert chunk_count(100, 3, 128, 16) == 3  # a document is at least one chunk
    generated = question_counts({"source": "docs/"}, QA, chunks=1219)
    assert generated == {"source": "generated", "total": 500, "eval": 80, "train": 420}
    assert question_counts({"source": "docs/"}, QA, chunks=30) == {"source": "generated", "total": 21, "eval": 4, "train": 17}
    # a PDF's lines cut its sentences: the 10-K kept 297 cloze questions from 1,081 chunks
    tenk = {"pdf": {"files": 1, "bytes": 1_252_586, "pages": 160}}
    assert generated_per_chunk(tenk) == 0.27 and generated_per_chunk({"md": {"files": 1, "bytes": 10}}) == 0.7
    assert generated_per_chunk({**tenk, "md": {"files": 1, "bytes": 585_600}}) == pytest.approx((0.27 + 0.7) / 2)
    assert question_counts({"source": "10k.pdf"}, QA, 1219, generated_per_chunk(tenk)) == {
        "source": "generated", "total": 329, "eval": 66, "train": 263}  # 297: 59 and 238


def test_corpus_inputs_of_the_demo(monkeypatch):
    monkeypatch.chdir(ROOT)
    config = {"corpora": {"demo": {"source": "resources/demo/corpus", "qa": "resources/demo/qa.jsonl"}},
              "chunk": {"size": 64, "overlap": 16}, "qa": QA}
    inputs = corpus_inputs(config, "demo")
    assert inputs["files"] == 163 and inputs["formats"]["md"]["files"] == 110 and inputs["formats"]["txt"]["files"] == 52
    assert inputs["chars"] == 177_114  # 176,853 after ingest
    assert inputs["chunks"] == 859  # 979 after chunking
    assert inputs["questions"] == {"source": "gold", "total": 942, "eval": 80, "train": 862}
