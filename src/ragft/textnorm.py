"""Text normalisation for ingest: bytes to str, binary sniffing, and one canonical form of text.

Only the standard library is used. `normalise_text` is idempotent, so hashing its output
(`sha256_text`) identifies documents whose text differs only in encoding noise, line endings,
Unicode composition or spacing.
"""

from __future__ import annotations

import codecs
import hashlib
import re
import unicodedata

SNIFF_BYTES = 8192  # binary sniffing looks at the first 8 KiB only
CONTROL_SHARE = 0.30  # more control bytes than this share of the sniffed head means binary

# UTF-32 first: its little-endian BOM begins with UTF-16's.
_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Bytes that are neither printable ASCII, text whitespace (\t \n \f \r), ESC nor part of UTF-8.
_CONTROL_BYTES = (set(range(32)) - {9, 10, 12, 13, 27}) | {127}
_NOT_CONTROL = bytes(b for b in range(256) if b not in _CONTROL_BYTES)

_CONTROL_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ufeff]")  # Cc except \t \n, and stray BOMs
_BLANK_RUNS = re.compile("[ \t]+")
_TRAILING_SPACE = re.compile(" +(?=\n)")
_GAPS = re.compile("\n{3,}")


def wide_codec(raw: bytes) -> str | None:
    """The codec named by a UTF-32/UTF-16 byte-order mark at the start of `raw`, else None."""
    return next((codec for bom, codec in _WIDE_BOMS if raw.startswith(bom)), None)


def binary_reason(raw: bytes) -> str | None:
    """Why `raw` looks binary (a NUL byte, or many control bytes, in its first 8 KiB), else None."""
    head = raw[:SNIFF_BYTES]
    if b"\x00" in head:
        return "NUL byte in the first 8 KiB"
    share = len(head.translate(None, _NOT_CONTROL)) / len(head) if head else 0.0
    if share > CONTROL_SHARE:
        return f"{share:.0%} control bytes in the first 8 KiB"
    return None


def decode(raw: bytes) -> str:
    """Bytes to str: UTF-32/16 when a BOM says so, else UTF-8 minus any BOM.

    Raises UnicodeDecodeError when the bytes are not valid in that encoding."""
    return raw.decode(wide_codec(raw) or "utf-8-sig")


def normalise_text(text: str) -> str:
    """Canonical text: \\n line ends, no control chars but \\n and \\t, NFC, single spaces, no trailing
    spaces, at most one blank line in a row, stripped."""
    text = "\n".join(text.splitlines())  # \r\n, \r, \v, \f, \x85, \u2028, ... all become \n
    text = _CONTROL_CHARS.sub("", text)  # before NFC, so a removed char cannot block a composition
    text = unicodedata.normalize("NFC", text)
    text = _BLANK_RUNS.sub(" ", text)
    text = _TRAILING_SPACE.sub("", text)
    text = _GAPS.sub("\n\n", text)
    return text.strip()


def clean_title(title: str) -> str:
    """A title on one line: normalised, all whitespace runs made one space."""
    return " ".join(normalise_text(title).split())


def sha256_text(text: str) -> str:
    """Hex sha256 of `text` encoded as UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
