import bisect
import hashlib
import io
import json

import pytest

from ragft.ingest.formats import Reject
from ragft.ingest.readers import (
    Rejection,
    join_pages,
    md_title,
    parse_record,
    read_docx,
    read_html,
    read_jsonl_records,
    read_pdf,
    read_squad,
)
from ragft.ingest.run import make_options

from .docgen import (
    ORCHARD_PAGES,
    ORCHARD_TEXT,
    make_docx,
    make_filing_pdf,
    make_pdf,
    make_prose,
)

OPTS = make_options()  # the schema's clean defaults


def test_pdf_doc_keeps_page_starts_and_counts_repairs():
    raw = make_pdf([[], *ORCHARD_PAGES], header="ACME Orchard Report 2024", footer=True)
    [doc] = read_pdf(raw, "reports/orchard.pdf", OPTS)
    assert (doc["id"], doc["title"], doc["text"]) == ("reports/orchard.pdf", "orchard", ORCHARD_TEXT)
    meta = doc["meta"]
    assert (meta["format"], meta["pages"], meta["bytes"]) == ("pdf", 4, len(raw))
    assert meta["repairs"] == {"dehyphenated": 3, "lines_joined": 4, "running_lines": 8}
    starts = meta["page_starts"]
    assert starts == [0, 0, ORCHARD_TEXT.index("Pears"), ORCHARD_TEXT.index("Plums")]
    assert bisect.bisect_right(starts, ORCHARD_TEXT.index("Quinces")) == 3  # 1-based page of a character


def test_pdf_amounts_at_page_ends_are_kept_and_the_running_footer_dropped():
    """Every page ends with an amount of one shape (#,###) above its footer: the amounts are table
    content, not a running footer; the footer, the same text but its page number, is one."""
    totals = ["1,234", "5,678", "9,012", "3,456", "7,890", "2,345", "6,789", "4,321", "8,765", "1,357", "2,468", "9,753"]
    raw, _ = make_filing_pdf(12, footer="Acme Corp 2018 Form 10-K | Page {page}", totals=totals)
    [doc] = read_pdf(raw, "filings/acme_2018_10k.pdf", OPTS)
    text, starts = doc["text"], doc["meta"]["page_starts"]
    pages = [text[start:end] for start, end in zip(starts, starts[1:] + [len(text)])]
    assert [page.split()[-3:] for page in pages] == [["assets", "$", total] for total in totals]
    assert "Form 10-K" not in text and "ANNUAL REPORT" not in text
    assert doc["meta"]["repairs"] == {"lines_joined": 118, "running_lines": 24}  # 12 headers and 12 footers, no amount


def test_join_pages_offsets():
    assert join_pages(["a", "", "bc", ""]) == ("a\n\nbc", [0, 1, 3, 5])


def test_html_doc_is_titled_by_title_tag():
    text = make_prose("html doc")
    [doc] = read_html(f"<title>News</title><main><p>{text}</p></main>".encode(), "news.html", OPTS)
    assert (doc["title"], doc["text"], doc["meta"]) == ("News", text, {"format": "html", "bytes": len(text) + 39})


def test_html_in_latin1_is_decoded():
    text = "Pommes de garde, récoltées en octobre, conservées au froid. " + make_prose("latin html")
    [doc] = read_html(f"<html><body><p>{text}</p></body></html>".encode("latin-1"), "fr.html", OPTS)
    assert (doc["text"], doc["meta"]["encoding"]) == (text, "cp1252")


def test_docx_doc():
    raw = make_docx("Spring memo", [make_prose("memo")])
    [doc] = read_docx(raw, "memo.docx", OPTS)
    assert (doc["title"], doc["text"], doc["meta"]) == ("Spring memo", f"Spring memo\n{make_prose('memo')}", {"format": "docx", "bytes": len(raw)})


def squad_bytes(*articles):
    return json.dumps({"version": "v2.0", "data": list(articles)}).encode()


def test_squad_contexts_become_docs_with_content_ids():
    one, two = make_prose("ctx one"), make_prose("ctx two")
    raw = squad_bytes(
        {"title": "Orchards", "paragraphs": [
            {"context": one + "  ", "document_id": 7, "qas": [{"id": "q1", "question": "?", "answers": []}]},
            {"context": two, "qas": []},
        ]},
        {"title": "Again", "paragraphs": [{"context": one, "qas": []}]},
    )
    items = list(read_squad(raw, "bench/squad.json", OPTS))
    id_one = "bench/squad.json:" + hashlib.sha256(one.encode()).hexdigest()[:12]
    id_two = "bench/squad.json:" + hashlib.sha256(two.encode()).hexdigest()[:12]
    assert [i["id"] for i in items[:2]] == [id_one, id_two]
    assert items[0]["title"] == "Orchards" and items[0]["text"] == one
    assert items[0]["meta"] == {"format": "squad", "bytes": len(one) + 2, "article": 0, "paragraph": 0, "questions": 1, "document_id": "7"}
    assert items[2] == Rejection("bench/squad.json", "bench/squad.json:1.0", "exact_duplicate", f"same text as {id_one} (paragraph 0.0)")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [(b"{not json", "parse_error"), (b'{"data": [{"text": "x"}]}', "unsupported_format"), (b'{"data": []}', "empty")],
)
def test_squad_file_level_rejections(raw, reason):
    with pytest.raises(Reject) as err:
        list(read_squad(raw, "x.json", OPTS))
    assert err.value.reason == reason


def test_jsonl_streams_utf16_and_bom_files():
    rec = {"id": "a", "text": make_prose("wide jsonl")}
    line = json.dumps(rec, ensure_ascii=False) + "\n"
    for raw in (line.encode("utf-16"), b"\xef\xbb\xbf" + line.encode()):
        [doc] = list(read_jsonl_records(io.BytesIO(raw), "w.jsonl", OPTS))
        assert (doc["id"], doc["text"]) == ("w.jsonl:a", rec["text"])


def test_jsonl_binary_file_is_one_rejection():
    with pytest.raises(Reject) as err:
        list(read_jsonl_records(io.BytesIO(b'{"id": 1}\n\x00\x00\x00'), "b.jsonl", OPTS))
    assert (err.value.reason, err.value.detail) == ("binary", "23.1% control bytes in the first 8 KiB, 3 of them NUL")


def test_md_title_skips_code_fences_and_closing_hashes():
    assert md_title("```\n# not a title\n```\n# Real ##") == "Real"
    assert md_title("## Sub\n# C#") == "C#"
    assert md_title("#hashtag\nno heading") == ""


@pytest.mark.parametrize(
    ("line", "detail"),
    [
        ('{"text": NaN}', "NaN is not valid JSON"),
        ("[" * 100_000 + "]" * 100_000, "JSON nested too deeply"),
        ('{"text": "\\ud800 lone"}', "a string holds a lone surrogate escape"),
        ('"just a string"', "a JSON str, not an object"),
    ],
)
def test_parse_record_turns_every_failure_into_value_error(line, detail):
    with pytest.raises(ValueError) as err:
        parse_record(line)
    assert str(err.value) == detail
