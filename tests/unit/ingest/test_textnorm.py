import codecs
import random

import pytest

from ragft.ingest.textnorm import (
    binary_reason,
    clean_title,
    decode,
    decode_text,
    dehyphenate,
    normalise_counting,
    normalise_text,
    repair_text,
    repeated_line_ratio,
    sha256_text,
    symbol_ratio,
    wide_codec,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a\r\nb\rc\n", "a\nb\nc"),
        ("caf\u0065\u0301", "café"),
        ("a \t  b\t\tc", "a b c"),
        ("line   \nnext\t\n", "line\nnext"),
        ("p1\n\n\n\n\np2", "p1\n\np2"),
        ("p1\n  \n \t\n\np2", "p1\n\np2"),
        ("a\x00b\x07c\x1bd\x7fe\x85f", "abcde\nf"),
        ("page1\x0cpage2", "page1\npage2"),
        ("\ufeffhello\ufeff world", "hello world"),
        ("e\x01\u0301", "é"),  # a removed control char does not block composition
        ("  \n\t  ", ""),
    ],
)
def test_normalise_text(raw, expected):
    assert normalise_text(raw) == expected


def test_normalise_text_is_idempotent():
    raw = " A\r\n\r\n\r\n\x00b\u0307  c \t\n\n\n\u2028d \x0b e\n"
    once = normalise_text(raw)
    assert once == "A\n\n\u1e03 c\n\nd\n e"
    assert normalise_text(once) == once


def test_clean_title_is_one_line():
    assert clean_title("  Korvell\n\n  Amber\t ") == "Korvell Amber"


def test_sha256_text_is_hex_of_utf8():
    assert sha256_text("e\u0301") != sha256_text("\u00e9")  # hashing does not normalise
    assert sha256_text("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_binary_reason():
    assert binary_reason(b"text\x00more") == "11.1% control bytes in the first 8 KiB, 1 of them NUL"
    assert binary_reason(bytes([1, 2, 3, 4]) + b"ab") == "67% control bytes in the first 8 KiB"
    assert binary_reason(b"plain\ttext\r\n\x1b[0m colour") is None
    assert binary_reason("ünïcödé".encode()) is None
    assert binary_reason(b"") is None
    assert binary_reason(b"a" * 8192 + b"\x00") is None  # only the first 8 KiB is sniffed


def test_binary_reason_lets_stray_nuls_through_but_not_binary_data():
    prose = b"Apples keep until spring in cold rooms. " * 50
    assert binary_reason(prose[:1000] + b"\x00\x00" + prose[1000:]) is None  # 2 NULs in 2 KB of text
    assert binary_reason(prose[:60] + b"\x00" + prose[60:99]) is None  # 1 in 100 bytes: stray
    assert binary_reason(prose[:60] + b"\x00\x00" + prose[60:98]) == "2.0% control bytes in the first 8 KiB, 2 of them NUL"
    assert binary_reason("utf-16 without a byte-order mark".encode("utf-16-le")) == "50% control bytes in the first 8 KiB"
    data = bytes(random.Random(3).randbytes(8192))
    assert binary_reason(data) == "10.7% control bytes in the first 8 KiB, 36 of them NUL"


def test_normalise_counting_counts_removed_control_chars_not_line_ends():
    assert normalise_counting("a\x00\x00b\r\nc\x0cd\x07\ufeff") == ("ab\nc\nd", 4)
    assert normalise_counting("plain text") == ("plain text", 0)


def test_decode_strips_bom_and_reads_wide_encodings():
    assert decode(codecs.BOM_UTF8 + "héllo".encode()) == "héllo"
    assert decode("héllo".encode("utf-16")) == "héllo"
    assert decode("héllo".encode("utf-32")) == "héllo"
    assert wide_codec(codecs.BOM_UTF32_LE + "x".encode("utf-32-le")) == "utf-32"
    assert wide_codec(codecs.BOM_UTF16_LE + "x".encode("utf-16-le")) == "utf-16"
    assert wide_codec(b"plain") is None
    with pytest.raises(UnicodeDecodeError):
        decode(b"caf\xe9")


@pytest.mark.parametrize(
    ("raw", "text", "encoding"),
    [
        ("plain ütf-8".encode(), "plain ütf-8", "utf-8"),
        (codecs.BOM_UTF8 + b"bom", "bom", "utf-8"),
        ("wide".encode("utf-16"), "wide", "utf-16"),
        ("Café crème brûlée à la française".encode("latin-1"), "Café crème brûlée à la française", "cp1252"),
        ("\u201cQuoted\u201d \u2014 dash".encode("cp1252"), "\u201cQuoted\u201d \u2014 dash", "cp1252"),
        ("Naïve ".encode() + b"caf\xe9 " + "déjà".encode(), "Naïve café déjà", "utf-8+cp1252"),
        ("Привет мир, это тестовый текст на русском языке. ".encode("cp1251") * 3,
         "Привет мир, это тестовый текст на русском языке. " * 3, "cp1251"),
        ("é".encode() + b" \x81", "é \x81", "utf-8+cp1252"),  # a byte cp1252 leaves undefined: read as Latin-1
    ],
)
def test_decode_text_repairs_what_it_can(raw, text, encoding):
    assert decode_text(raw) == (text, encoding)


def test_decode_text_gives_up_on_noise():
    with pytest.raises(UnicodeError, match="no text encoding fits these bytes"):
        decode_text(bytes(range(128, 256)) * 10)


def test_repair_text_fixes_mojibake_lines_only():
    assert repair_text("The grower doesnâ€™t sell cafÃ©.\nFine line.\nCafé stays.") == (
        "The grower doesn’t sell café.\nFine line.\nCafé stays.", 1
    )
    assert repair_text("ascii only") == ("ascii only", 0)
    assert repair_text("déjà vu, “quoted”") == ("déjà vu, “quoted”", 0)  # no mojibake pair: ftfy not run


def test_dehyphenate_joins_only_lowercase_continuations():
    text, joins = dehyphenate("The infor-\nmation is kept and a well-\nknown\nfact. In 2024-\n25 the North-\nEast grew ex-\nports")
    assert text == "The information\nis kept and a wellknown\nfact. In 2024-\n25 the North-\nEast grew exports"
    assert joins == 3
    assert dehyphenate("soft\u00ad\nhyphen here") == ("softhyphen\nhere", 1)
    assert dehyphenate("no break-here") == ("no break-here", 0)


def test_symbol_ratio_and_repeated_line_ratio():
    assert symbol_ratio("ab, cd.") == 2 / 6
    assert symbol_ratio("«ünï» cödé") == 2 / 9  # non-ASCII path gives the same measure
    assert symbol_ratio("") == 0.0 and symbol_ratio(" \n\t") == 0.0
    assert repeated_line_ratio("a\nb\na\n\na\nc") == 2 / 5
    assert repeated_line_ratio("one line") == 0.0


def test_normalise_text_removes_lone_surrogates():
    assert normalise_text("a\ud800b\udcffc") == "abc"
