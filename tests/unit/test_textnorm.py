import codecs

import pytest

from ragft.textnorm import binary_reason, clean_title, decode, normalise_text, sha256_text, wide_codec


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
    assert binary_reason(b"text\x00more") == "NUL byte in the first 8 KiB"
    assert binary_reason(bytes([1, 2, 3, 4]) + b"ab") == "67% control bytes in the first 8 KiB"
    assert binary_reason(b"plain\ttext\r\n\x1b[0m colour") is None
    assert binary_reason("ünïcödé".encode()) is None
    assert binary_reason(b"") is None
    assert binary_reason(b"a" * 8192 + b"\x00") is None  # only the first 8 KiB is sniffed


def test_decode_strips_bom_and_reads_wide_encodings():
    assert decode(codecs.BOM_UTF8 + "héllo".encode()) == "héllo"
    assert decode("héllo".encode("utf-16")) == "héllo"
    assert decode("héllo".encode("utf-32")) == "héllo"
    assert wide_codec(codecs.BOM_UTF32_LE + "x".encode("utf-32-le")) == "utf-32"
    assert wide_codec(codecs.BOM_UTF16_LE + "x".encode("utf-16-le")) == "utf-16"
    assert wide_codec(b"plain") is None
    with pytest.raises(UnicodeDecodeError):
        decode(b"caf\xe9")
