"""Quality filters judge prose, not table cells: a filing with long financial tables is kept whole,
junk is still rejected."""

import re
from pathlib import Path

import pytest

from ragft.ingest.quality import is_prose, judged_lines, prose_lines, quality_problem
from ragft.ingest.run import ingest

from .docgen import make_filing_pdf, make_prose, write

SEC_10K = Path(__file__).resolve().parents[4] / "shared" / "data" / "sec" / "3M_2018_10K.pdf"


def test_prose_lines_leave_out_table_cells_numbers_dashes_and_short_headings():
    lines = ["(Millions)", "$", " —", "2018", "5,363", "(370)", "%", "Page 12", "Cost of sales", "Table of Contents",
             "Net income including noncontrolling interest", "Cash flows from operating activities can fluctuate.",
             "Это обычная строка текста здесь"]
    assert [line for line in lines if is_prose(line)] == lines[-3:]
    assert prose_lines("Cost of sales\n$\nThe company sells four kinds of apples.") == ["The company sells four kinds of apples."]


def test_judged_lines_are_all_lines_when_prose_is_under_min_chars():
    table = "Net sales\n$\n1,077\n\n$\n1,094"
    assert judged_lines(table, 50) == (["Net sales", "$", "1,077", "$", "1,094"], False)
    text = "The cold rooms keep apples until spring.\n$\n$"
    assert judged_lines(text, 20) == (["The cold rooms keep apples until spring."], True)
    assert judged_lines(text, 50)[1] is False  # 40 characters of prose: too little to judge alone


def test_table_cells_repeating_do_not_reject_the_prose_around_them():
    prose = make_prose("around the table", 120)
    table = "\n".join(["(Millions)", "2018", "2017", "$", "1,077", "$", "-", "%"] * 30)
    assert quality_problem(f"{prose}\n{table}", 50, 0.3, 0.3) is None


def test_10k_like_pdf_is_kept_whole(tmp_path):
    raw, paragraphs = make_filing_pdf(12)
    write(tmp_path / "filings/acme_2018_10k.pdf", raw)
    result = ingest(str(tmp_path))
    assert result.rejected == []
    [doc] = result.docs
    assert (doc["id"], doc["meta"]["pages"]) == ("filings/acme_2018_10k.pdf", 12)
    flat = " ".join(doc["text"].split())
    assert all(p in flat for p in paragraphs)  # every paragraph of every page, in full
    assert flat.count("Net sales $ ") == 12 and "(Millions) 2018 2017 2016" in flat  # the tables too
    assert "ANNUAL REPORT" not in flat  # the running header is dropped
    assert len(doc["text"].split()) == 3036 == sum(len(p.split()) for p in paragraphs) + 12 * 73  # 73 in each table
    assert doc["meta"]["repairs"] == {"lines_joined": 118, "running_lines": 24}  # the paragraphs' wrapped lines


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("\n".join(["This page was intentionally left blank by the printer."] * 200),
         "0.99 of 200 prose lines repeat an earlier line, above max_repeated_lines=0.3"),
        ("\n\n".join(make_prose(f"real {i}", 70) for i in range(6)) + "\n" + "\n".join(["Click here to subscribe to our newsletter"] * 200),
         "0.97 of 206 prose lines repeat an earlier line, above max_repeated_lines=0.3"),
        ("\n".join(["12,345.00"] * 200),
         "0.99 of 200 lines repeat an earlier line (under min_chars=50 characters of prose), above max_repeated_lines=0.3"),
    ],
    ids=["one-line-200-times", "prose-drowned-in-one-line", "one-number-200-times"],
)
def test_junk_is_still_rejected(tmp_path, text, detail):
    write(tmp_path / "junk.txt", text)
    result = ingest(str(tmp_path))
    assert result.docs == []
    assert result.rejected == [{"source": "junk.txt", "reason": "repeated_lines", "detail": detail}]


@pytest.mark.skipif(not SEC_10K.is_file(), reason="../shared/data/sec is not here")
def test_sec_10k_filing_is_one_doc():
    """3M's 2018 10-K (160 pages, 0.45 of its lines repeat: `$`, `—`, `%`, years) was rejected whole
    as repeated_lines; its text layer takes about a minute to read with pypdf."""
    result = ingest(str(SEC_10K))
    assert result.rejected == []
    [doc] = result.docs
    assert (doc["id"], doc["meta"]["pages"]) == ("3M_2018_10K.pdf", 160)
    assert 88_000 <= len(doc["text"].split()) <= 90_000
    flat = " ".join(doc["text"].split())
    assert "3M is a diversified technology company with a global presence" in flat
    assert re.search(r"Net cash provided by operating activities \$ 6,439", flat)
    # a line wrap is not a sentence end: wrapped lines are joined into paragraphs, so sentences come out whole
    from ragft.sentences import sentence_spans

    text = doc["text"]
    sentences = {text[s:e] for s, e in sentence_spans(text)}
    assert ("3M products are sold through numerous distribution channels, including directly to users and through "
            "numerous wholesalers, retailers, jobbers, distributors and dealers in a wide variety of trades in many "
            "countries around the world.") in sentences
    assert ("Research, development and related expenses totaled $1.821 billion in 2018, $1.870 billion in 2017 and "
            "$1.764 billion in 2016.") in sentences
    assert doc["meta"]["repairs"]["lines_joined"] > 2500
