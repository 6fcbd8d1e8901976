"""Text normalisation for ingest: bytes to str, repair, one canonical form of text, quality measures.

`decode_text` turns any text file's bytes into str (UTF-8, a byte-order mark, or a legacy encoding
found by charset-normalizer; stray non-UTF-8 bytes inside UTF-8 are read as Windows-1252).
`repair_text` undoes mojibake with ftfy, `normalise_text` gives the canonical form. Normalisation is
idempotent, so hashing its output (`sha256_text`) identifies documents whose text differs only in
encoding noise, line endings, Unicode composition or spacing.

`binary_reason` tells a binary file from text by its first 8 KiB: text may hold a few stray control
bytes (a NUL or two in a log or an export), which normalisation removes; a binary file (compressed
data, an image, an executable, UTF-16 without a BOM) has many (random bytes: about 11%).
"""

from __future__ import annotations

import codecs
import hashlib
import re
import unicodedata
from collections import Counter

import charset_normalizer
import ftfy
import ftfy.bad_codecs  # registers the sloppy-windows-1252 codec  # noqa: F401

SNIFF_BYTES = 8192  # binary sniffing looks at the first 8 KiB only
CONTROL_SHARE = 0.30  # more control bytes than this share of the sniffed head means binary
NUL_CONTROL_SHARE = 0.01  # ... and so does a NUL byte among more than this share of control bytes

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

_SURROGATES = re.compile("[\udc80-\udcff]")  # undecodable bytes under errors="surrogateescape"
_NON_ASCII = re.compile("[^\x00-\x7f]")
_LEGACY = "sloppy-windows-1252"  # cp1252 that also maps its 5 undefined bytes, as Latin-1 does
# ftfy is slow, so it only sees lines that hold a likely mojibake pair: a UTF-8 lead byte read as
# cp1252/Latin-1 (Â..ô) followed by a continuation byte read the same way.
_MOJIBAKE = re.compile(
    "[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc"
    "\u2013\u2014\u2018-\u201a\u201c-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]"
)
_FTFY = ftfy.TextFixerConfig(
    unescape_html=False, fix_latin_ligatures=False, fix_character_width=False, uncurl_quotes=False,
    fix_line_breaks=False, explain=False,
)
# a letter, a hyphen (or soft hyphen) ending the line, and the next line's first word
_HYPHEN_BREAK = re.compile(r"(?<=[^\W\d_])[-\u00ad]\n([^\W\d_]\S*)(?: |\n|$)")
_SYMBOL = re.compile(r"[^\w\s]")
_ASCII_WORD_OR_SPACE = bytes(b for b in range(128) if not _SYMBOL.match(chr(b)))
# Cc except \t \n, stray BOMs, and lone surrogates (from JSON escapes such as "\\ud800")
_CONTROL_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ufeff\ud800-\udfff]")
_ASCII_CONTROL = bytes(b for b in range(128) if _CONTROL_CHARS.match(chr(b)))
_BLANK_RUNS = re.compile("\t[ \t]*| [ \t]+")  # blanks to make one space (a lone space is left alone)
_TRAILING_SPACE = re.compile(" +(?=\n)")
_GAPS = re.compile("\n{3,}")


def wide_codec(raw: bytes) -> str | None:
    """The codec named by a UTF-32/UTF-16 byte-order mark at the start of `raw`, else None."""
    return next((codec for bom, codec in _WIDE_BOMS if raw.startswith(bom)), None)


def binary_reason(raw: bytes) -> str | None:
    """Why `raw` looks binary, else None: in its first 8 KiB, more than 30% control bytes, or a NUL
    byte among more than 1% control bytes (NUL included). Fewer are stray bytes, not a reason."""
    head = raw[:SNIFF_BYTES]
    share = len(head.translate(None, _NOT_CONTROL)) / len(head) if head else 0.0
    if share > CONTROL_SHARE:
        return f"{share:.0%} control bytes in the first 8 KiB"
    if share > NUL_CONTROL_SHARE and (nuls := head.count(0)):
        return f"{share:.1%} control bytes in the first 8 KiB, {nuls} of them NUL"
    return None


def decode(raw: bytes) -> str:
    """Bytes to str: UTF-32/16 when a BOM says so, else UTF-8 minus any BOM.

    Raises UnicodeDecodeError when the bytes are not valid in that encoding."""
    return raw.decode(wide_codec(raw) or "utf-8-sig")


def decode_text(raw: bytes) -> tuple[str, str]:
    """Bytes to (text, encoding): a BOM's codec, else UTF-8 (stray bad bytes read as cp1252), else the
    legacy encoding charset-normalizer finds (cp1252 when it is among the plausible ones).

    Raises UnicodeError when the bytes fit no encoding."""
    if codec := wide_codec(raw):
        return raw.decode(codec), codec
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    text = raw.decode("utf-8-sig", errors="surrogateescape")
    bad = len(_SURROGATES.findall(text))
    if len(_NON_ASCII.findall(text)) - bad >= bad:  # mostly UTF-8: a few foreign bytes pasted in
        return raw.decode("utf-8-sig", errors="ragft-cp1252"), "utf-8+cp1252"
    return _decode_legacy(raw)


def _decode_legacy(raw: bytes) -> tuple[str, str]:
    matches = charset_normalizer.from_bytes(raw)
    best = matches.best()
    if best is None:
        raise UnicodeError("no text encoding fits these bytes (charset detection found none)")
    plausible = {m.encoding for m in matches} | set(best.could_be_from_charset)
    if "cp1252" in plausible:
        return raw.decode(_LEGACY), "cp1252"
    return str(best), best.encoding


def _as_cp1252(err: UnicodeDecodeError) -> tuple[str, int]:
    """Codec error handler: read the undecodable bytes as Windows-1252."""
    return err.object[err.start : err.end].decode(_LEGACY), err.end


codecs.register_error("ragft-cp1252", _as_cp1252)


def repair_text(text: str) -> tuple[str, int]:
    """Undo mojibake (`cafÃ©` -> `café`) with ftfy on the lines that show it; (text, lines fixed)."""
    if text.isascii() or not _MOJIBAKE.search(text):
        return text, 0
    lines = text.split("\n")
    fixed = 0
    for i, line in enumerate(lines):
        if _MOJIBAKE.search(line):
            new = ftfy.fix_text(line, _FTFY)
            fixed += new != line
            lines[i] = new
    return "\n".join(lines), fixed


def dehyphenate(text: str) -> tuple[str, int]:
    """Join words hyphenated across a line break (`infor-` + `mation is` -> `information` + `is`),
    when the second part starts in lower case; (text, joins). Line structure is kept."""
    joins = 0

    def join(m: re.Match) -> str:
        nonlocal joins
        if not m.group(1)[0].islower():
            return m.group(0)
        joins += 1
        return m.group(1) + "\n"

    text = _HYPHEN_BREAK.sub(join, text)
    return (text.rstrip("\n") if joins else text), joins


_BULLET = re.compile(r"^\s*(?:[-*•·▪◦–]|\(?\d{1,2}[.)]|\(?[a-z][.)])(?:\s|$)")
WRAP_FULL = 0.8  # a line at least this share of the page's usual prose width was wrapped, not ended


def join_wrapped_lines(text: str) -> tuple[str, int]:
    """One PDF page's lines joined into paragraphs: a line break is a wrap, not a sentence end, when
    the line runs to the page's usual width (WRAP_FULL of its prose lines' 90th-percentile length)
    or stops mid-sentence before a lower-case word, and neither line is a bullet, a heading
    (ending in ':') or a row of numbers, nor a sentence's end followed by a short label ("Total
    assets"); (text, lines joined). Blank lines stay paragraph breaks."""
    lines = text.split("\n")
    prose = sorted(len(line) for line in lines if _is_prose(line))
    if not prose:
        return text, 0
    width = prose[min(len(prose) - 1, int(0.9 * len(prose)))]
    out, joins = [lines[0]], 0
    for line in lines[1:]:
        prev = out[-1].rstrip()
        ended = prev.endswith((".", "!", "?", ";"))
        wrapped = len(prev) >= WRAP_FULL * width or (not ended and line[:1].islower())
        if wrapped and _is_prose(prev) and line.strip() and not prev.endswith(":") and not _BULLET.match(line) \
                and any(c.isalpha() for c in line[:3]) and (not ended or _is_prose(line)):
            out[-1] = prev + " " + line.lstrip()
            joins += 1
        else:
            out.append(line)
    return "\n".join(out), joins


def _is_prose(line: str) -> bool:
    """Three words or more, most of its characters letters: a line of running text, not a table row."""
    letters = sum(c.isalpha() for c in line)
    return len(line.split()) >= 3 and letters >= 0.5 * len(line.replace(" ", ""))


def symbol_ratio(text: str) -> float:
    """Share of the characters other than space, newline and tab that are neither letters, digits
    nor `_` (counted without building lists: this runs on every doc)."""
    non_space = len(text) - text.count(" ") - text.count("\n") - text.count("\t")
    if non_space <= 0:
        return 0.0
    if text.isascii():  # bytes.translate counts in C what the regex would count char by char
        return len(text.encode("ascii").translate(None, _ASCII_WORD_OR_SPACE)) / non_space
    return _SYMBOL.subn("", text)[1] / non_space


def repeated_line_ratio(text: str) -> float:
    """Share of non-blank lines that repeat an earlier line of the same text."""
    lines = [line for line in text.split("\n") if line.strip()]
    if len(lines) < 2:
        return 0.0
    return (len(lines) - len(Counter(lines))) / len(lines)


def normalise_text(text: str) -> str:
    """Canonical text: \\n line ends, no control chars but \\n and \\t (nor lone surrogates), NFC,
    single spaces, no trailing spaces, at most one blank line in a row, stripped."""
    return normalise_counting(text)[0]


def normalise_counting(text: str) -> tuple[str, int]:
    """normalise_text's text, and how many control characters (NUL, BEL, stray BOMs, lone
    surrogates, ...; not line ends) it removed."""
    text = "\n".join(text.splitlines())  # \r\n, \r, \v, \f, \x85, \u2028, ... all become \n
    size = len(text)
    text = _drop_control_chars(text)  # before NFC, so a removed char cannot block a composition
    removed = size - len(text)
    text = unicodedata.normalize("NFC", text)
    # each pattern scans the whole text, so it runs only where a plain search says it can match
    if "  " in text or "\t" in text:
        text = _BLANK_RUNS.sub(" ", text)
    if " \n" in text:
        text = _TRAILING_SPACE.sub("", text)
    if "\n\n\n" in text:
        text = _GAPS.sub("\n\n", text)
    return text.strip(), removed


def _drop_control_chars(text: str) -> str:
    if text.isascii():  # bytes.translate deletes in C what the regex would test char by char
        return text.encode("ascii").translate(None, _ASCII_CONTROL).decode("ascii")
    return _CONTROL_CHARS.sub("", text)


def clean_title(title: str) -> str:
    """A title on one line: normalised, all whitespace runs made one space."""
    return " ".join(normalise_text(title).split())


def sha256_text(text: str) -> str:
    """Hex sha256 of `text` encoded as UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
