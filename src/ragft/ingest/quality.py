"""Quality filters: a document is rejected for junk prose, never for its tables.

The filters judge a text's *prose lines*: lines holding at least PROSE_MIN_WORDS words of two or
more letters. Table cells, amounts, years, dashes, `$` and `%` signs, page numbers and short
headings are not prose, so a financial filing whose tables repeat `$`, `—` and `2018` on every page
is judged on its sentences. A text with fewer than min_chars characters of prose (a bare table, a
list of numbers, junk without sentences) is judged on all its non-blank lines, as before.

The filters, in order, with the `clean` setting each one reads (the same for every format: a file's
doc, a JSONL record, a SQuAD context; what reaches them differs by format, see ragft.ingest.readers):

  empty             no text left after normalisation
  too_short         fewer than min_chars characters, the whole text counted
  too_many_symbols  more than max_symbol_ratio of the judged lines' non-space characters are
                    neither letters, digits nor `_` (prose has about 0.03-0.05)
  repeated_lines    more than max_repeated_lines of the judged lines repeat an earlier line
"""

from __future__ import annotations

import re

from ragft.ingest.textnorm import repeated_line_ratio, symbol_ratio

PROSE_MIN_WORDS = 4  # a prose line holds at least this many words of two or more letters
_SHORTEST_PROSE = PROSE_MIN_WORDS * 3 - 1  # `ab cd ef gh`: a shorter line cannot be prose
# PROSE_MIN_WORDS runs of two or more letters (any script), apart by non-letters and one-letter
# words; a search stops at the 4th word, so a 20 MB one-line record costs no more than a short one.
_LETTERS, _OTHER = r"[^\W\d_]", r"[\W\d_]"
_PROSE = re.compile(rf"{_LETTERS}{{2,}}(?:{_OTHER}+(?:{_LETTERS}{_OTHER}+)*{_LETTERS}{{2,}}){{{PROSE_MIN_WORDS - 1}}}")


def is_prose(line: str) -> bool:
    """Whether a line reads as prose: at least PROSE_MIN_WORDS words of two or more letters."""
    return len(line) >= _SHORTEST_PROSE and _PROSE.search(line) is not None


def prose_lines(text: str) -> list[str]:
    """The lines of `text` that read as prose (see is_prose), in order."""
    return [line for line in text.split("\n") if is_prose(line)]


def judged_lines(text: str, min_chars: int) -> tuple[list[str], bool]:
    """The lines the filters judge, and whether they are prose: the prose lines when they hold at
    least min_chars characters (and there is one), else all non-blank lines."""
    prose = prose_lines(text)
    if prose and sum(map(len, prose)) >= min_chars:
        return prose, True
    return [line for line in text.split("\n") if line.strip()], False


def quality_problem(text: str, min_chars: int, max_symbol_ratio: float, max_repeated_lines: float) -> tuple[str, str] | None:
    """(reason, detail) when normalised text fails a filter: empty, too_short, too_many_symbols,
    repeated_lines; else None."""
    if not text:
        return "empty", "no text after normalisation"
    if len(text) < min_chars:
        return "too_short", f"{len(text)} characters, fewer than min_chars={min_chars}"
    lines, prose = judged_lines(text, min_chars)
    judged = "\n".join(lines)
    note = "" if prose else f" (under min_chars={min_chars} characters of prose)"
    if (share := symbol_ratio(judged)) > max_symbol_ratio:
        where = "prose lines" if prose else "all lines"
        return "too_many_symbols", f"{share:.2f} of non-space characters in {where} are symbols{note}, above max_symbol_ratio={max_symbol_ratio}"
    if (share := repeated_line_ratio(judged)) > max_repeated_lines:
        what = f"{len(lines)} prose lines" if prose else f"{len(lines)} lines"
        return "repeated_lines", f"{share:.2f} of {what} repeat an earlier line{note}, above max_repeated_lines={max_repeated_lines}"
    return None
