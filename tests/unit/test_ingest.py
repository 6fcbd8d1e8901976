import hashlib
import json
import os

import pytest

from ragft.ingest import REASONS, discover, ingest, md_title, parse_record, run_ingest
from ragft.jsonl import read_json, read_jsonl

BODY = "Korvell Amber is a late-ripening apple variety grown on the northern terraces."  # 79 chars


def write(path, data):
    """Write bytes or UTF-8 text to path, creating parent directories."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def jsonl_bytes(*lines):
    return "".join((ln if isinstance(ln, str) else json.dumps(ln)) + "\n" for ln in lines).encode()


def by_id(result):
    return {d["id"]: d for d in result.docs}


def reasons(result):
    return [(r["source"], r["reason"]) for r in result.rejected]


def test_txt_md_jsonl_docs_have_fixed_ids_titles_and_meta(tmp_path):
    md = write(tmp_path / "varieties/korvell-amber.md", f"# Korvell Amber\n\n{BODY}\n")
    write(tmp_path / "varieties/plain.md", f"No heading here.\n{BODY}")
    write(tmp_path / "notes.txt", BODY)
    line1 = {"id": "q1", "title": "First record", "text": BODY + " One.", "lang": "en"}
    line2 = {"text": BODY + " Two."}
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
    assert docs["notes.txt"]["meta"] == {"format": "txt", "bytes": len(BODY)}
    q1 = docs["faq.jsonl:q1"]
    assert (q1["source"], q1["title"], q1["text"]) == ("faq.jsonl", "First record", BODY + " One.")
    assert q1["meta"] == {"format": "jsonl", "bytes": len(json.dumps(line1)), "line": 1, "fields": {"lang": "en"}}
    assert docs["faq.jsonl:2"]["title"] == "2"
    assert result.rejected == []


def test_md_title_skips_code_fences_and_closing_hashes():
    assert md_title("```\n# not a title\n```\n# Real ##") == "Real"
    assert md_title("## Sub\n# C#") == "C#"
    assert md_title("#hashtag\nno heading") == ""


def test_bom_crlf_and_nfc_are_normalised(tmp_path):
    write(tmp_path / "a.txt", b"\xef\xbb\xbf" + f"Cafe\u0301 line one\r\n\r\n\r\n\r\n{BODY}  \r\n".encode())
    doc = ingest(str(tmp_path / "a.txt")).docs[0]
    assert doc["text"] == f"Café line one\n\n{BODY}"
    assert doc["meta"]["bytes"] == (tmp_path / "a.txt").stat().st_size


@pytest.mark.parametrize(
    ("name", "data", "reason", "detail"),
    [
        ("empty.txt", b"", "empty", "no text after normalisation"),
        ("blank.md", b"  \n\t\r\n  \n", "empty", "no text after normalisation"),
        ("nul.txt", b"text\x00" + BODY.encode(), "binary", "NUL byte in the first 8 KiB"),
        ("latin1.txt", b"caf\xe9 " + BODY.encode(), "encoding", "not valid utf-8: invalid continuation byte at byte 3"),
        ("short.txt", b"Too short.", "too_short", "10 characters, fewer than min_chars=50"),
        ("empty.jsonl", b"\n\n", "empty", "no JSON records"),
    ],
)
def test_bad_file_is_one_rejection(tmp_path, name, data, reason, detail):
    write(tmp_path / name, data)
    result = ingest(str(tmp_path))
    assert result.docs == []
    assert result.rejected == [{"source": name, "reason": reason, "detail": detail}]
    assert result.manifest["invariant_ok"] is True


def test_unsupported_extension_is_rejected(tmp_path):
    write(tmp_path / "report.pdf", b"%PDF-1.7 ...")
    [rej] = ingest(str(tmp_path)).rejected
    assert (rej["source"], rej["reason"]) == ("report.pdf", "unsupported_format")
    assert rej["detail"] == "no reader for extension '.pdf'; readers exist for .jsonl, .markdown, .md, .txt"


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


def test_jsonl_bad_lines_cost_only_themselves(tmp_path):
    write(
        tmp_path / "recs.jsonl",
        jsonl_bytes(
            {"id": "a", "text": BODY + " A"},
            '{"id": "b", "text": ',
            "",
            ["not", "an", "object"],
            {"id": "d", "body": BODY},
            {"id": "a", "text": BODY + " again"},
        )
        + b'{"id": "e", "text": "caf\xe9"}\n'
        + jsonl_bytes({"id": 7, "text": BODY + " G"}),
    )
    result = ingest(str(tmp_path))
    assert [d["id"] for d in result.docs] == ["recs.jsonl:7", "recs.jsonl:a"]
    assert result.rejected == [
        {"source": "recs.jsonl:2", "reason": "parse_error", "detail": "Expecting value: line 1 column 21 (char 20)"},
        {"source": "recs.jsonl:4", "reason": "parse_error", "detail": "a JSON list, not an object"},
        {"source": "recs.jsonl:5", "reason": "missing_field", "detail": "no string field 'text'"},
        {"source": "recs.jsonl:6", "reason": "duplicate_id", "detail": f"id 'recs.jsonl:a' already given by {tmp_path}/recs.jsonl:1"},
        {"source": "recs.jsonl:7", "reason": "encoding", "detail": "not valid utf-8: invalid continuation byte at byte 24"},
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


def test_manifest_counts_every_item(tmp_path):
    write(tmp_path / "good.txt", BODY)
    write(tmp_path / "dup.txt", BODY)
    write(tmp_path / "short.md", "tiny")
    write(tmp_path / "x.bin", b"\x00\x01")
    write(tmp_path / "r.jsonl", jsonl_bytes({"id": 1, "text": BODY + "!"}, "{bad"))
    manifest = ingest(str(tmp_path)).manifest
    assert list(manifest) == [
        "files_seen", "items_seen", "accepted", "rejected", "rejected_by_reason",
        "bytes_in", "bytes_out", "invariant_ok", "by_source",
    ]
    assert (manifest["files_seen"], manifest["items_seen"], manifest["accepted"], manifest["rejected"]) == (5, 6, 2, 4)
    assert list(manifest["rejected_by_reason"]) == sorted(REASONS)
    assert {k: v for k, v in manifest["rejected_by_reason"].items() if v} == {
        "exact_duplicate": 1, "parse_error": 1, "too_short": 1, "unsupported_format": 1,
    }
    assert manifest["bytes_in"] == sum(p.stat().st_size for p in tmp_path.iterdir())
    assert manifest["bytes_out"] == 2 * len(BODY) + 1
    assert manifest["invariant_ok"] is True
    assert manifest["by_source"] == {
        "dup.txt": {"seen": 1, "accepted": 1, "rejected": 0},
        "good.txt": {"seen": 1, "accepted": 0, "rejected": 1},
        "r.jsonl": {"seen": 2, "accepted": 1, "rejected": 1},
        "short.md": {"seen": 1, "accepted": 0, "rejected": 1},
        "x.bin": {"seen": 1, "accepted": 0, "rejected": 1},
    }


def test_outputs_are_byte_identical_across_runs_and_thread_counts(tmp_path):
    corpus = tmp_path / "corpus"
    for i in range(12):
        write(corpus / f"d{i % 3}/f{i}.md", f"# Doc {i % 5}\n\n{BODY}")
    write(corpus / "r.jsonl", jsonl_bytes(*({"id": i, "text": f"{BODY} {i}"} for i in range(5)), "oops"))
    outputs = []
    for run, threads in enumerate([1, 1, 4]):
        paths = [tmp_path / f"out{run}" / n for n in ("docs.jsonl", "rejected.jsonl", "ingest_manifest.json")]
        manifest = run_ingest(str(corpus), *paths, threads=threads)
        assert manifest == read_json(paths[2])
        outputs.append([p.read_bytes() for p in paths])
    assert outputs[0] == outputs[1] == outputs[2]
    docs = read_jsonl(tmp_path / "out0/docs.jsonl")
    assert [d["id"] for d in docs] == sorted(d["id"] for d in docs)
    assert len(docs) == 5 + 5  # 12 md files carry 5 distinct texts
    rejected = read_jsonl(tmp_path / "out0/rejected.jsonl")
    assert [(r["source"], r["reason"]) for r in rejected] == sorted((r["source"], r["reason"]) for r in rejected)


def test_glob_and_list_sources_root_ids_at_the_glob_directory(tmp_path):
    write(tmp_path / "data/a.txt", BODY + " a")
    write(tmp_path / "data/sub/b.txt", BODY + " b")
    write(tmp_path / "data/c.md", BODY + " c")
    write(tmp_path / "more/d.md", BODY + " d")
    assert [d["id"] for d in ingest(str(tmp_path / "data/*.txt")).docs] == ["a.txt"]
    assert [d["id"] for d in ingest(str(tmp_path / "data/**/*.txt")).docs] == ["a.txt", "sub/b.txt"]
    assert [d["id"] for d in ingest(str(tmp_path / "da*")).docs] == ["data/a.txt", "data/c.md", "data/sub/b.txt"]
    both = ingest([str(tmp_path / "data/*.md"), str(tmp_path / "more/d.md")])
    assert [d["id"] for d in both.docs] == ["c.md", "d.md"]
    assert [d["id"] for d in ingest(["data", "more"], root=tmp_path).docs] == ["a.txt", "c.md", "d.md", "sub/b.txt"]


def test_same_id_from_two_sources_rejects_the_later(tmp_path):
    write(tmp_path / "one/x.txt", BODY + " first")
    write(tmp_path / "two/x.txt", BODY + " second")
    result = ingest([str(tmp_path / "one"), str(tmp_path / "two")])
    assert [d["text"] for d in result.docs] == [BODY + " first"]
    assert result.rejected == [
        {"source": "x.txt", "reason": "duplicate_id", "detail": f"id 'x.txt' already given by {tmp_path}/one/x.txt"}
    ]
    assert result.manifest["by_source"] == {"x.txt": {"seen": 2, "accepted": 1, "rejected": 1}}
    assert result.manifest["invariant_ok"] is True


def test_overlapping_sources_read_a_file_once(tmp_path):
    write(tmp_path / "a.txt", BODY)
    result = ingest([str(tmp_path), str(tmp_path / "*.txt")])
    assert (result.manifest["files_seen"], [d["id"] for d in result.docs], result.rejected) == (1, ["a.txt"], [])


def test_walk_skips_hidden_names_and_survives_symlink_loops(tmp_path):
    write(tmp_path / "c/a.txt", BODY)
    write(tmp_path / "c/.git/config", "x")
    write(tmp_path / "c/.hidden.txt", "x")
    os.symlink(tmp_path / "c", tmp_path / "c/loop")
    files = discover(str(tmp_path / "c"))
    assert [f.rel for f in files] == ["a.txt"]


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


def test_utf16_file_with_bom_is_read(tmp_path):
    write(tmp_path / "w.txt", f"Wide {BODY}".encode("utf-16"))
    assert [d["text"] for d in ingest(str(tmp_path)).docs] == [f"Wide {BODY}"]
