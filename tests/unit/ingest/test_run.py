"""Ingest end to end: sources to docs, rejections and a manifest that accounts for every item; each
kind of bad input generated and checked for what it yields."""

import hashlib
import json
import os
import random
import re
from pathlib import Path

import pytest

import ragft.ingest.run
from ragft.ingest.run import REASONS, ingest, run_ingest
from ragft.jsonl import read_json, read_jsonl

from .docgen import (
    BODY,
    ORCHARD_PAGES,
    ORCHARD_TEXT,
    blank_pdf,
    encrypt_pdf,
    make_docx,
    make_pdf,
    make_prose,
    prose_with_nuls,
    write,
)

REPO = Path(__file__).resolve().parents[3]
AGXQA = REPO.parent / "shared" / "data" / "agxqa" / "agxqa_sample.json"


def jsonl_bytes(*lines):
    return "".join((ln if isinstance(ln, str) else json.dumps(ln)) + "\n" for ln in lines).encode()


def by_id(result):
    return {d["id"]: d for d in result.docs}


def test_txt_md_jsonl_docs_have_fixed_ids_titles_and_meta(tmp_path):
    md = write(tmp_path / "varieties/korvell-amber.md", f"# Korvell Amber\n\n{BODY}\n")
    write(tmp_path / "varieties/plain.md", f"No heading here.\n{make_prose('plain')}")
    write(tmp_path / "notes.txt", make_prose("notes"))
    line1 = {"id": "q1", "title": "First record", "text": make_prose("q1"), "lang": "en"}
    line2 = {"text": make_prose("line2")}
    write(tmp_path / "faq.jsonl", jsonl_bytes(line1, line2))

    result = ingest(str(tmp_path), min_chars=10)

    docs = by_id(result)
    assert list(docs) == ["faq.jsonl:2", "faq.jsonl:q1", "notes.txt", "varieties/korvell-amber.md", "varieties/plain.md"]
    amber = docs["varieties/korvell-amber.md"]
    assert list(amber) == ["id", "source", "title", "text", "sha256", "meta"]
    assert amber["source"] == "varieties/korvell-amber.md"
    assert amber["title"] == "Korvell Amber"
    assert amber["text"] == f"# Korvell Amber\n\n{BODY}"
    assert amber["sha256"] == hashlib.sha256(amber["text"].encode()).hexdigest()
    assert amber["meta"] == {"format": "md", "bytes": md.stat().st_size}
    assert docs["varieties/plain.md"]["title"] == "plain"
    assert docs["notes.txt"]["title"] == "notes"
    assert docs["notes.txt"]["meta"] == {"format": "txt", "bytes": len(make_prose("notes"))}
    q1 = docs["faq.jsonl:q1"]
    assert (q1["source"], q1["title"], q1["text"]) == ("faq.jsonl", "First record", make_prose("q1"))
    assert q1["meta"] == {"format": "jsonl", "bytes": len(json.dumps(line1)), "line": 1, "fields": {"lang": "en"}}
    assert docs["faq.jsonl:2"]["title"] == "2"
    assert result.rejected == []


def test_bom_crlf_and_nfc_are_normalised(tmp_path):
    write(tmp_path / "a.txt", b"\xef\xbb\xbf" + f"Cafe\u0301 line one\r\n\r\n\r\n\r\n{BODY}  \r\n".encode())
    doc = ingest(str(tmp_path / "a.txt")).docs[0]
    assert doc["text"] == f"Café line one\n\n{BODY}"
    assert doc["meta"]["bytes"] == (tmp_path / "a.txt").stat().st_size


def test_unsupported_extension_is_rejected(tmp_path):
    write(tmp_path / "table.xlsx", b"PK\x03\x04 not a spreadsheet we read")
    [rej] = ingest(str(tmp_path)).rejected
    assert (rej["source"], rej["reason"]) == ("table.xlsx", "unsupported_format")
    assert rej["detail"] == (
        "no reader for extension '.xlsx'; readers exist for "
        ".docx, .htm, .html, .json, .jsonl, .markdown, .md, .pdf, .txt, .xhtml"
    )


def test_identical_texts_keep_the_first_id(tmp_path):
    write(tmp_path / "b.txt", BODY)
    write(tmp_path / "a.md", BODY + "\n\n")  # same text after normalisation
    write(tmp_path / "c.jsonl", jsonl_bytes({"id": "x", "text": BODY}))
    result = ingest(str(tmp_path))
    assert [d["id"] for d in result.docs] == ["a.md"]
    assert result.rejected == [
        {"source": "b.txt", "reason": "exact_duplicate", "detail": "same text as a.md"},
        {"source": "c.jsonl:1", "reason": "exact_duplicate", "detail": "same text as a.md"},
    ]
    kept = result.docs[0]
    sha = hashlib.sha256(BODY.encode()).hexdigest()
    assert kept["meta"]["duplicates"] == [
        {"id": "b.txt", "reason": "exact_duplicate", "sha256": sha},
        {"id": "c.jsonl:x", "reason": "exact_duplicate", "sha256": sha},
    ]


def test_jsonl_bad_lines_cost_only_themselves(tmp_path):
    write(
        tmp_path / "recs.jsonl",
        jsonl_bytes(
            {"id": "a", "text": make_prose("a")},
            '{"id": "b", "text": ',
            "",
            ["not", "an", "object"],
            {"id": "d", "body": make_prose("d")},
            {"id": "a", "text": make_prose("a again")},
        )
        + b'{"id": "e", "text": "caf\xe9 au lait"}\n'
        + jsonl_bytes({"id": 7, "text": make_prose("g")}),
    )
    result = ingest(str(tmp_path))
    assert [d["id"] for d in result.docs] == ["recs.jsonl:7", "recs.jsonl:a"]
    assert result.rejected == [
        {"source": "recs.jsonl:2", "reason": "parse_error", "detail": "Expecting value: line 1 column 21 (char 20)"},
        {"source": "recs.jsonl:4", "reason": "parse_error", "detail": "a JSON list, not an object"},
        {"source": "recs.jsonl:5", "reason": "missing_field", "detail": "no string field 'text'"},
        {"source": "recs.jsonl:6", "reason": "duplicate_id", "detail": f"id 'recs.jsonl:a' already given by {tmp_path}/recs.jsonl:1"},
        # the Latin-1 byte is repaired (café), but the record is still too short
        {"source": "recs.jsonl:7", "reason": "too_short", "detail": "12 characters, fewer than min_chars=50"},
    ]
    m = result.manifest
    assert (m["files_seen"], m["items_seen"], m["accepted"], m["rejected"]) == (1, 7, 2, 5)
    assert m["by_source"] == {"recs.jsonl": {"seen": 7, "accepted": 2, "rejected": 5}}


def test_jsonl_fields_can_be_renamed(tmp_path):
    write(tmp_path / "r.jsonl", jsonl_bytes({"qid": "k1", "heading": "Head", "body": BODY, "id": "other"}))
    [doc] = ingest(str(tmp_path), jsonl_fields={"id": "qid", "title": "heading", "text": "body"}).docs
    assert (doc["id"], doc["title"], doc["meta"]["fields"]) == ("r.jsonl:k1", "Head", {"id": "other"})
    with pytest.raises(ValueError, match="jsonl_fields has unknown key"):
        ingest(str(tmp_path), jsonl_fields={"body": "text"})


@pytest.mark.parametrize(
    ("clean", "message"),
    [
        ({"min_chars": -1}, "config key 'clean.min_chars': -1 is less than the minimum of 0"),
        ({"near_dup_threshold": 1.5}, "config key 'clean.near_dup_threshold': 1.5 is greater than the maximum of 1"),
        ({"max_file_mb": 0}, "config key 'clean.max_file_mb': 0 is less than or equal to the minimum of 0"),
        ({"near_dup_ngram": "5"}, "config key 'clean.near_dup_ngram': '5' is not of type 'integer'"),
        ({"min_char": 3}, r"config key 'clean.min_char': unknown key \(allowed: max_file_mb, max_repeated_lines, "),
    ],
)
def test_bad_clean_setting_raises_naming_it(tmp_path, clean, message):
    write(tmp_path / "a.txt", BODY)
    with pytest.raises(ValueError, match=message):
        ingest(str(tmp_path), **clean)


def test_manifest_counts_every_item(tmp_path):
    good = make_prose("good")
    write(tmp_path / "good.txt", good)
    write(tmp_path / "dup.txt", good)
    write(tmp_path / "short.md", "tiny")
    write(tmp_path / "x.bin", b"\x00\x01")
    write(tmp_path / "r.jsonl", jsonl_bytes({"id": 1, "text": make_prose("r1")}, "{bad"))
    manifest = ingest(str(tmp_path)).manifest
    assert list(manifest) == [
        "files_seen", "items_seen", "accepted", "rejected", "rejected_by_reason", "repairs",
        "bytes_in", "bytes_out", "invariant_ok", "by_source",
    ]
    assert (manifest["files_seen"], manifest["items_seen"], manifest["accepted"], manifest["rejected"]) == (5, 6, 2, 4)
    assert list(manifest["rejected_by_reason"]) == sorted(REASONS)
    assert {k: v for k, v in manifest["rejected_by_reason"].items() if v} == {
        "exact_duplicate": 1, "parse_error": 1, "too_short": 1, "unsupported_format": 1,
    }
    assert manifest["repairs"] == {"encoding_guessed": 0, "mojibake_lines": 0, "control_chars": 0, "dehyphenated": 0, "running_lines": 0}
    assert manifest["bytes_in"] == sum(p.stat().st_size for p in tmp_path.iterdir())
    assert manifest["bytes_out"] == len(good) + len(make_prose("r1"))
    assert manifest["invariant_ok"] is True
    assert manifest["by_source"] == {
        "dup.txt": {"seen": 1, "accepted": 1, "rejected": 0},
        "good.txt": {"seen": 1, "accepted": 0, "rejected": 1},
        "r.jsonl": {"seen": 2, "accepted": 1, "rejected": 1},
        "short.md": {"seen": 1, "accepted": 0, "rejected": 1},
        "x.bin": {"seen": 1, "accepted": 0, "rejected": 1},
    }


def test_outputs_are_byte_identical_across_runs_and_process_counts(tmp_path):
    corpus = tmp_path / "corpus"
    for i in range(12):
        write(corpus / f"d{i % 3}/f{i}.md", f"# Doc {i % 5}\n\n{make_prose(f'doc {i % 5}', 80)}")
    records = [{"id": i, "text": make_prose(f"record {i}")} for i in range(5)]
    write(corpus / "r.jsonl", jsonl_bytes(*records, "oops"))
    outputs = []
    for run, threads in enumerate([1, 1, 3]):
        paths = [tmp_path / f"out{run}" / n for n in ("docs.jsonl", "rejected.jsonl", "ingest_manifest.json")]
        manifest = run_ingest(str(corpus), *paths, threads=threads)
        assert manifest == read_json(paths[2])
        outputs.append([p.read_bytes() for p in paths])
        assert sorted(os.listdir(paths[0].parent)) == ["docs.jsonl", "ingest_manifest.json", "rejected.jsonl"]
    assert outputs[0] == outputs[1] == outputs[2]
    docs = read_jsonl(tmp_path / "out0/docs.jsonl")
    assert [d["id"] for d in docs] == sorted(d["id"] for d in docs)
    assert len(docs) == 5 + 5  # 12 md files carry 5 distinct texts
    rejected = read_jsonl(tmp_path / "out0/rejected.jsonl")
    assert [(r["source"], r["reason"]) for r in rejected] == sorted((r["source"], r["reason"]) for r in rejected)
    assert sum(r["reason"] == "exact_duplicate" for r in rejected) == 7


def test_glob_and_list_sources_root_ids_at_the_glob_directory(tmp_path):
    write(tmp_path / "data/a.txt", make_prose("a"))
    write(tmp_path / "data/sub/b.txt", make_prose("b"))
    write(tmp_path / "data/c.md", make_prose("c"))
    write(tmp_path / "more/d.md", make_prose("d"))
    assert [d["id"] for d in ingest(str(tmp_path / "data/*.txt")).docs] == ["a.txt"]
    assert [d["id"] for d in ingest(str(tmp_path / "data/**/*.txt")).docs] == ["a.txt", "sub/b.txt"]
    assert [d["id"] for d in ingest(str(tmp_path / "da*")).docs] == ["data/a.txt", "data/c.md", "data/sub/b.txt"]
    both = ingest([str(tmp_path / "data/*.md"), str(tmp_path / "more/d.md")])
    assert [d["id"] for d in both.docs] == ["c.md", "d.md"]
    assert [d["id"] for d in ingest(["data", "more"], root=tmp_path).docs] == ["a.txt", "c.md", "d.md", "sub/b.txt"]


def test_same_id_from_two_sources_rejects_the_later(tmp_path):
    write(tmp_path / "one/x.txt", make_prose("first"))
    write(tmp_path / "two/x.txt", make_prose("second"))
    result = ingest([str(tmp_path / "one"), str(tmp_path / "two")])
    assert [d["text"] for d in result.docs] == [make_prose("first")]
    assert result.rejected == [
        {"source": "x.txt", "reason": "duplicate_id", "detail": f"id 'x.txt' already given by {tmp_path}/one/x.txt"}
    ]
    assert result.manifest["by_source"] == {"x.txt": {"seen": 2, "accepted": 1, "rejected": 1}}
    assert result.manifest["invariant_ok"] is True


def test_overlapping_sources_and_symlinked_files_are_read_once(tmp_path):
    write(tmp_path / "a.txt", BODY)
    os.symlink(tmp_path / "a.txt", tmp_path / "alias.txt")
    result = ingest([str(tmp_path), str(tmp_path / "*.txt")])
    assert (result.manifest["files_seen"], [d["id"] for d in result.docs], result.rejected) == (1, ["a.txt"], [])


def test_vanished_file_is_unreadable(tmp_path):
    os.symlink(tmp_path / "gone.txt", tmp_path / "link.txt")
    write(tmp_path / "ok.txt", BODY)
    result = ingest(str(tmp_path))
    assert result.rejected == [
        {"source": "link.txt", "reason": "unreadable", "detail": "FileNotFoundError: No such file or directory"}
    ]


@pytest.mark.parametrize("source", ["missing", "missing/*.txt", ["ok.txt", "nope.md"]])
def test_source_matching_nothing_raises(tmp_path, source):
    write(tmp_path / "ok.txt", BODY)
    with pytest.raises(ValueError, match=r"ingest source '(missing|missing/\*\.txt|nope\.md)' matches no file"):
        ingest(source, root=tmp_path)


def test_near_duplicates_keep_the_first_and_name_it(tmp_path):
    text = make_prose("report", 300)
    words = text.split()
    words[100], words[200] = "tractor", "greenhouse"
    write(tmp_path / "report.txt", text)
    write(tmp_path / "report-v2.txt", " ".join(words))
    write(tmp_path / "other.txt", make_prose("other", 300))
    result = ingest(str(tmp_path))
    assert [d["id"] for d in result.docs] == ["other.txt", "report.txt"]
    [rej] = result.rejected
    assert (rej["source"], rej["reason"]) == ("report-v2.txt", "near_duplicate")
    similarity = float(re.fullmatch(r"similar to report\.txt \(estimated Jaccard (0\.\d\d)\)", rej["detail"])[1])
    assert 0.85 <= similarity < 1.0  # 10 of ~300 five-word shingles changed: Jaccard 0.94, estimated
    assert by_id(result)["report.txt"]["meta"]["duplicates"][0]["id"] == "report-v2.txt"
    # a stricter threshold keeps both
    assert len(ingest(str(tmp_path), near_dup_threshold=0.99).docs) == 3


def test_file_above_max_file_mb_is_too_large_but_jsonl_streams(tmp_path):
    write(tmp_path / "big.txt", make_prose("big", 30_000))
    write(tmp_path / "big.jsonl", jsonl_bytes(*({"id": i, "text": make_prose(f"rec {i}", 2000)} for i in range(20))))
    result = ingest(str(tmp_path), max_file_mb=0.1)
    assert len(result.docs) == 20 and {d["source"] for d in result.docs} == {"big.jsonl"}
    [rej] = result.rejected
    assert (rej["source"], rej["reason"]) == ("big.txt", "too_large")
    assert re.fullmatch(r"0\.\d MB, above max_file_mb=0\.1", rej["detail"])


# --- bad input: each kind generated here, each checked for what it yields ----------------------
#
# A case writes its files into a folder and returns (docs, rejected): the doc ids it must give
# (with their exact text, or a predicate on it) and the (source, reason, detail) it must be
# rejected with (detail None: not fixed; `{p}` in a detail: the folder prefix of doc ids).


def _case_empty(d):
    write(d / "empty.txt", b"")
    return {}, [("empty.txt", "empty", "no text after normalisation")]


def _case_whitespace_only(d):
    write(d / "blank.md", b"  \n\t\r\n \xc2\xa0 \n")
    return {}, [("blank.md", "empty", "no text after normalisation")]


def _case_binary_named_txt(d):
    write(d / "photo.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    return {}, [("photo.txt", "binary", "11.2% control bytes in the first 8 KiB, 7 of them NUL")]


def _case_jpeg_named_txt(d):
    write(d / "scan.txt", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + random.Random("jpeg").randbytes(6000))
    return {}, [("scan.txt", "binary", "10.9% control bytes in the first 8 KiB, 23 of them NUL")]


def _case_stray_nuls_in_prose(d):
    raw, _, _ = prose_with_nuls()
    write(d / "export.txt", raw)
    return {"export.txt": raw.replace(b"\x00", b"").decode()}, []


def _case_stray_nul_in_json_strings(d):
    text = make_prose("json nul", 80)
    write(d / "recs.jsonl", b'{"id": "a", "text": "' + text[:200].encode() + b"\x00" + text[200:].encode() + b'"}\n')
    context = make_prose("squad nul", 80)
    squad = {"data": [{"title": "T", "paragraphs": [{"context": context[:100] + "\x00" + context[100:], "qas": []}]}]}
    write(d / "bench.json", json.dumps(squad).replace("\\u0000", "\x00"))  # a raw NUL, not the escape
    doc_id = f"bench.json:{hashlib.sha256(context.encode()).hexdigest()[:12]}"
    return {"recs.jsonl:a": text, doc_id: context}, []


def _case_invalid_utf8_inside_good_text(d):
    text = make_prose("mixed")
    write(d / "mixed.txt", "Crème brûlée. ".encode() + text.encode() + b" Caf\xe9 noir.")
    return {"mixed.txt": f"Crème brûlée. {text} Café noir."}, []


def _case_utf16_with_bom(d):
    text = make_prose("utf16") + " Ünïcödé."
    write(d / "wide.txt", text.encode("utf-16"))
    return {"wide.txt": text}, []


def _case_latin1(d):
    text = "Café crème brûlée, à la française. " + make_prose("latin1")
    write(d / "legacy.txt", text.encode("latin-1"))
    return {"legacy.txt": text}, []


def _case_mojibake(d):
    text = make_prose("mojibake")
    write(d / "moji.txt", f"The grower doesnâ€™t sell cafÃ© apples.\n{text}")
    return {"moji.txt": f"The grower doesn’t sell café apples.\n{text}"}, []


def _case_control_chars_and_late_nul(d):
    text = make_prose("control", 2000)
    write(d / "ctrl.txt", text[:9000].encode() + b"\x00\x07\x1b" + text[9000:].encode())
    return {"ctrl.txt": text}, []


def _case_corrupt_pdf(d):
    write(d / "broken.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >>\n" + bytes(range(256)) * 8)
    return {}, [("broken.pdf", "parse_error", None)]


def _case_encrypted_pdf(d):
    write(d / "secret.pdf", encrypt_pdf(make_pdf(ORCHARD_PAGES), "secret"))
    return {}, [("secret.pdf", "encrypted", "the PDF needs a password to open; decrypt it first (e.g. qpdf --decrypt)")]


def _case_pdf_without_text_layer(d):
    write(d / "scan.pdf", blank_pdf(2))
    return {}, [("scan.pdf", "no_text_layer", "2 page(s) without extractable text; scanned? run OCR first (e.g. ocrmypdf)")]


def _case_pdf_with_running_lines_and_hyphens(d):
    write(d / "orchard.pdf", make_pdf(ORCHARD_PAGES, header="ACME Orchard Report 2024", footer=True))
    return {"orchard.pdf": ORCHARD_TEXT}, []


def _case_html_all_script(d):
    write(d / "app.html", "<html><head><script>var a = 1;</script><style>p {}</style></head>"
                          "<body><script>document.write('hello world')</script><noscript></noscript></body></html>")
    return {}, [("app.html", "empty", "no text outside script, style, navigation, header and footer")]


def _case_html_with_boilerplate(d):
    text = make_prose("html")
    write(d / "page.htm", f"<html><head><title>Orchard news</title></head><body><nav><a href='/'>Home</a></nav>"
                          f"<header>Site banner</header><main><p>{text}</p><ul><li>First point</li><li>Second point</li></ul>"
                          f"</main><footer>Copyright 2024</footer><script>track()</script></body></html>")
    return {"page.htm": f"{text}\nFirst point\nSecond point"}, []


def _case_malformed_jsonl_lines(d):
    good = [{"id": "a", "text": make_prose("jsonl a")}, {"id": "b", "text": make_prose("jsonl b")}]
    write(d / "recs.jsonl", jsonl_bytes(good[0], '{"id": "x", "text": "unterminated', good[1]))
    return {"recs.jsonl:a": good[0]["text"], "recs.jsonl:b": good[1]["text"]}, [
        ("recs.jsonl:2", "parse_error", "Unterminated string starting at: line 1 column 21 (char 20)")
    ]


def _case_jsonl_missing_text_field(d):
    write(d / "fields.jsonl", jsonl_bytes({"id": "a", "body": make_prose("body")}, {"id": "b", "text": 42}))
    return {}, [("fields.jsonl:1", "missing_field", "no string field 'text'"),
                ("fields.jsonl:2", "missing_field", "no string field 'text'")]


def _case_squad_with_missing_keys(d):
    good = make_prose("squad good")
    data = {"data": [
        {"title": "No paragraphs here"},
        {"title": "Orchards", "paragraphs": [{"qas": []}, {"context": good, "qas": [{"id": "q", "question": "?"}]}]},
    ]}
    write(d / "bench.json", json.dumps(data))
    doc_id = f"bench.json:{hashlib.sha256(good.encode()).hexdigest()[:12]}"
    return {doc_id: good}, [("bench.json:0", "missing_field", "article 0 has no 'paragraphs' list"),
                            ("bench.json:1.0", "missing_field", "article 1 paragraph 0 has no string 'context'")]


def _case_json_not_squad(d):
    write(d / "list.json", json.dumps([{"id": 1, "text": make_prose("list")}]))
    return {}, [("list.json", "unsupported_format",
                 "JSON without a SQuAD-style 'data' list of articles with 'paragraphs'; "
                 "write other records as JSONL (one {id, title, text} object per line)")]


def _case_duplicate_files_under_two_names(d):
    text = make_prose("copy")
    write(d / "report.txt", text)
    write(d / "report (copy).txt", text)
    return {"report.txt": text}, [("report (copy).txt", "exact_duplicate", "same text as {p}report.txt")]


def _case_near_duplicates(d):
    text = make_prose("near", 300)
    words = text.split()
    words[150] = "tractor"
    write(d / "a.txt", text)
    write(d / "b.txt", " ".join(words))
    return {"a.txt": text}, [("b.txt", "near_duplicate", None)]


def _case_symlink_loop(d):
    write(d / "inner/a.txt", make_prose("loop"))
    os.symlink(d / "inner", d / "inner/again")
    os.symlink(d, d / "inner/up")
    return {"inner/a.txt": make_prose("loop")}, []


def _case_deeply_nested(d):
    rel = "/".join(["level"] * 200) + "/deep.txt"
    write(d / rel, make_prose("deep"))
    return {rel: make_prose("deep")}, []


def _case_odd_file_names(d):
    write(d / "my report (final) #2.txt", make_prose("spaces"))
    write(d / "résumé – ünïcode.md", make_prose("unicode"))
    (d / "bad\udcffname.txt").write_bytes(make_prose("bytes").encode())  # not UTF-8 on disk
    return {"bad\ufffdname.txt": make_prose("bytes"), "my report (final) #2.txt": make_prose("spaces"),
            "résumé – ünïcode.md": make_prose("unicode")}, []


def _case_too_short_symbols_and_repeats(d):
    write(d / "short.txt", "Too short.")
    write(d / "symbols.txt", "|--|--|--|--| ==== ++++ #### **** ---- //// \\\\\\\\ ~~~~ %%%% !!!! ???? ::::")
    write(d / "repeats.txt", "\n".join(["Click here to subscribe to our newsletter"] * 6 + [make_prose("repeat")]))
    return {}, [
        ("repeats.txt", "repeated_lines", "0.71 of 7 prose lines repeat an earlier line, above max_repeated_lines=0.3"),
        ("short.txt", "too_short", "10 characters, fewer than min_chars=50"),
        ("symbols.txt", "too_many_symbols", ("1.00 of non-space characters in all lines are symbols "
                                             "(under min_chars=50 characters of prose), above max_symbol_ratio=0.3")),
    ]


def _case_corrupt_docx(d):
    write(d / "letter.docx", b"PK\x03\x04" + bytes(100))
    return {}, [("letter.docx", "parse_error", None)]


def _case_docx(d):
    write(d / "memo.docx", make_docx("Spring memo", [make_prose("memo")], [["Variety", "Yield"], ["Amber", "12 t"]]))
    return {"memo.docx": f"Spring memo\n{make_prose('memo')}\nVariety | Yield\nAmber | 12 t"}, []


def _case_dangling_symlink(d):
    os.symlink(d / "nowhere.txt", d / "dangling.txt")
    return {}, [("dangling.txt", "unreadable", "FileNotFoundError: No such file or directory")]


BAD_INPUTS = {name.removeprefix("_case_"): fn for name, fn in globals().items() if name.startswith("_case_")}


def check_accounting(result, docs: dict, rejected: list, prefix: str = ""):
    """The case's docs and rejections, exactly; and every file is in docs or rejected, once counted."""
    got = by_id(result)
    for doc_id, expected in docs.items():
        text = got[prefix + doc_id]["text"]
        assert expected(text) if callable(expected) else text == expected, doc_id
    mine = [r for r in result.rejected if r["source"].startswith(prefix)]
    assert [(r["source"], r["reason"]) for r in mine] == [(prefix + s, reason) for s, reason, _ in rejected]
    for r, (_, _, detail) in zip(mine, rejected):
        if detail is not None:
            assert r["detail"] == detail.replace("{p}", prefix)
    m = result.manifest
    assert m["invariant_ok"] is True
    assert m["items_seen"] == m["accepted"] + m["rejected"] == len(result.docs) + len(result.rejected)
    sources = {d["source"] for d in result.docs} | {r["source"].split(":")[0] for r in result.rejected}
    assert set(m["by_source"]) == sources


@pytest.mark.parametrize("kind", sorted(BAD_INPUTS))
def test_bad_input_is_accounted_for(tmp_path, kind):
    folder = tmp_path / "corpus"
    folder.mkdir()
    docs, rejected = BAD_INPUTS[kind](folder)
    result = ingest(str(folder))
    assert sorted(by_id(result)) == sorted(docs)
    check_accounting(result, docs, rejected)


def test_all_bad_inputs_in_one_corpus_with_two_processes(tmp_path):
    folder = tmp_path / "corpus"
    expected = {}
    for kind, make in sorted(BAD_INPUTS.items()):
        (folder / kind).mkdir(parents=True)
        expected[kind] = make(folder / kind)
    result = ingest(str(folder), threads=2)
    for kind, (docs, rejected) in expected.items():
        check_accounting(result, docs, rejected, prefix=f"{kind}/")
    assert len(result.docs) == sum(len(docs) for docs, _ in expected.values())
    assert len(result.rejected) == sum(len(rej) for _, rej in expected.values())
    assert result.manifest["repairs"] == {
        "encoding_guessed": 2, "mojibake_lines": 1, "control_chars": 6, "dehyphenated": 3, "running_lines": 6,
    }


def test_stray_nuls_in_prose_are_removed_and_counted(tmp_path):
    raw, before, after = prose_with_nuls()
    write(tmp_path / "export.txt", raw)
    result = ingest(str(tmp_path))
    assert result.rejected == []
    [doc] = result.docs
    assert "\x00" not in doc["text"] and f"{before}\n\n{after}" in doc["text"]
    assert doc["text"] == raw.replace(b"\x00", b"").decode()
    assert (doc["meta"]["repairs"], result.manifest["repairs"]["control_chars"]) == ({"control_chars": 2}, 2)


def test_single_line_of_20_mb_is_one_doc(tmp_path):
    line = " ".join(make_prose(f"line {i}", 200).rstrip(".") for i in range(2200))
    line = (line * (20_000_000 // len(line) + 1))[:20_000_000].rstrip()
    write(tmp_path / "huge.txt", line)
    result = ingest(str(tmp_path))
    [doc] = result.docs
    assert (doc["id"], len(doc["text"]), doc["text"][:40]) == ("huge.txt", len(line), line[:40])
    assert result.manifest["bytes_in"] == 20_000_000


def test_file_that_vanishes_between_listing_and_reading(tmp_path, monkeypatch):
    write(tmp_path / "stays.txt", make_prose("stays"))
    write(tmp_path / "goes.txt", make_prose("goes"))
    real_discover = ragft.ingest.run.discover

    def discover_then_delete(*args, **kwargs):
        files = real_discover(*args, **kwargs)
        (tmp_path / "goes.txt").unlink()
        return files

    monkeypatch.setattr(ragft.ingest.run, "discover", discover_then_delete)
    result = ingest(str(tmp_path))
    assert [d["id"] for d in result.docs] == ["stays.txt"]
    assert result.rejected == [
        {"source": "goes.txt", "reason": "unreadable", "detail": "FileNotFoundError: No such file or directory"}
    ]
    assert result.manifest["by_source"]["goes.txt"] == {"seen": 1, "accepted": 0, "rejected": 1}


def test_demo_corpus_gives_200_docs_and_its_two_rejections():
    result = ingest(str(REPO / "resources/demo/corpus"))
    assert len(result.docs) == 200
    assert result.rejected == [
        {"source": "notes/empty.txt", "reason": "empty", "detail": "no text after normalisation"},
        {"source": "pests/katal-rust-copy.txt", "reason": "exact_duplicate", "detail": "same text as pests/katal-rust.txt"},
    ]
    assert (result.manifest["items_seen"], result.manifest["invariant_ok"]) == (202, True)


@pytest.mark.skipif(not AGXQA.is_file(), reason="../shared/data/agxqa is not here")
def test_agxqa_squad_file_gives_one_doc_per_context():
    result = ingest(str(AGXQA))
    assert (len(result.docs), result.rejected) == (155, [])
    doc = result.docs[0]
    assert re.fullmatch(r"agxqa_sample\.json:[0-9a-f]{12}", doc["id"])
    assert doc["meta"]["format"] == "squad" and sum(d["meta"]["questions"] for d in result.docs) == 570
