"""What a generated question may ask: a chunk's sentences (ragft.sentences, list and footnote
markers cut), the span of each to blank, and the sentences that are no candidate at all.

The key span is the sentence's last quantity that says something (a number with a unit, a
currency, a percentage, a decimal, or 100 and more: "6.7 to 7.9", "12 kg", "$1.764 billion"; a date
or month range: "May to August"), else its last multi-word proper name that is not at the
sentence start ("Runsen Dulcal"), else its last bare number (a year, or a number under 100 without
a unit: answers that fit many questions, which generation caps). Numbers that only point
somewhere (footnote markers "(2)", list numbers "1)", "Note 3", "Item 7", "Exhibit 10.1") are no
span. Legal boilerplate and exhibit lists (`boilerplate`) and page furniture and table rows read
as text (`furniture`) are no candidates.
"""

from __future__ import annotations

import re

from ragft.sentences import sentence_spans

# heading, bullet, list number, or footnote marker at a line's start: "# ", "- ", "2) ", "(1) ", "(a) ", "* "
_MARKER = re.compile(r"^(?:#{1,6}\s+|[-*•·▪]\s+|\d{1,2}[.)]\s+|\([0-9a-z]{1,3}\)\s+|[*†‡]+\s*)")
WORD = re.compile(r"\w[\w'’-]*")  # a word, as cloze counts them
_NUM = r"[$€£]?\d+(?:,\d{3})*(?:\.\d+)?%?"
_UNITS = (
    "%|percent|per cent|°C|°F|kg|g|mg|µg|t|tonnes?|tons?|ha|hectares?|acres?|km|m|cm|mm|µm|nm|"
    "kilometres?|kilometers?|metres?|meters?|centimetres?|centimeters?|millimetres?|millimeters?|"
    "kilograms?|grams?|milligrams?|l|L|ml|mL|litres?|liters?|days?|weeks?|months?|years?|hours?|"
    "minutes?|seconds?|h|min|s|kWh|MWh|kW|MW|GW|W|V|Hz|kHz|MHz|GHz|ppm|mol|mmol|°|degrees?|"
    "dollars?|euros?|pounds?|USD|EUR|GBP|million|billion|thousand"
)
_QUANTITY = re.compile(
    rf"(?<![\w.,:/-]){_NUM}(?:\s*(?:-|–|to)\s*{_NUM})?(?:\s?(?:{_UNITS})(?:\s?/\s?[a-z]+|\s+per\s+[a-z]+)?)?(?![\w:/])"
)
_MONTH = (r"(?:(?:early|mid|late)[- ])?(?:January|February|March|April|May|June|July|August|September|October|"
          r"November|December)(?: \d{1,2}(?:st|nd|rd|th)?)?(?:,? \d{4})?")
_DATE = re.compile(rf"(?<![\w-]){_MONTH}(?:\s*(?:-|–|to|and|until)\s*{_MONTH})?(?!\w)")
# a number after one of these words names a part of a document or a rank, not an amount
_POINTER = re.compile(r"\b(?:Notes?|Items?|Exhibits?|Sections?|Parts?|Rules?|Articles?|Schedules?|Forms?|Chapters?|"
                      r"Tables?|Figures?|Pages?|Levels?|Nos?\.|Phases?|Tiers?|Class|Series|Topic|ASC|ASU|Step)\s+$")
_BARE = re.compile(r"^(?:\d{1,2}|1[89]\d\d|20\d\d)(?:\s*(?:-|–|to|and)\s*(?:\d{1,2}|1[89]\d\d|20\d\d))?$")
# a name that is a part of a document ("Notes to the Consolidated Financial Statements") is a pointer, not a fact
_PART_NAME = re.compile(r"^(?:Parts?|Items?|Notes?|Sections?|Exhibits?|Schedules?)\b"
                        r"|\b(?:Financial Statements|Annual Report|Statements? of|Balance Sheets?)\b")
_GENERIC = re.compile(r"(?:^|\s)(?:a|an|each|any|every|no)\s+$", re.IGNORECASE)
_CONNECTORS = {"of", "de", "la", "du", "van", "von", "der", "for", "the", "&"}  # not "and": "Paris and Rome" is two

# legal boilerplate, exhibit lists and cross-references: true of many filings, or a pointer, not a fact
BOILERPLATE = re.compile(
    r"\b(?:incorporated (?:herein )?by reference|indicate by check mark|pursuant to the requirements|"
    r"forward-looking statements?|safe harbor|hereto|hereby|hereunder|thereunder|the registrant|undersigned|"
    r"in witness whereof|power of attorney|filed herewith|furnished herewith|exhibits? \d|securities exchange act|"
    r"see accompanying notes|all rights reserved|trademarks? of|shall|this agreement|information required by|"
    r"regulation s-k|proxy statement|section entitled|under the captions?|certifications? of|pursuant to section|"
    r"participant|exhibit numbers?|(?:section|paragraph|article) [\d.]+ (?:below|above))\b"
    r"|^(?:refer to|see|for (?:a |more |further |additional )?(?:discussion|information|details))\b",
    re.IGNORECASE,
)
FURNITURE = re.compile(r"\btable of contents\b|\(continued\)|\bcontinued on\b|\bpage \d+ of \d+\b|^page \d+\b",
                       re.IGNORECASE)
NUMERIC_SHARE = 0.4  # a sentence with more of its words numbers than this is a table row read as text


def sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of `text` (ragft.sentences), heading, list and footnote markers cut."""
    spans = []
    for start, end in sentence_spans(text):
        if marker := _MARKER.match(text[start:end]):
            start += marker.end()
        if start < end:
            spans.append((start, end))
    return spans


def is_bare(answer: str) -> bool:
    """A year or a number under 100 without unit, currency, sign or decimals (or a range of them):
    an answer that fits many questions."""
    return bool(_BARE.match(answer.strip()))


def quantity_spans(sentence: str) -> list[tuple[int, int]]:
    """Spans of numbers and ranges with their units, and of dates and month ranges, in order:
    "6.7 to 7.9", "12 kg", "1998", "May to August"; not footnote and list markers ("(2)", "1)")
    nor numbers that point to a part of a document ("Note 3", "Item 7")."""
    dates = [m.span() for m in _DATE.finditer(sentence)]
    numbers = []
    for m in _QUANTITY.finditer(sentence):
        start, end = m.span()
        if any(a <= start and end <= b for a, b in dates):  # "March 3, 1998" is one date
            continue
        marker = sentence[end:end + 1] == ")" and is_bare(m.group()) and m.group().isdigit()
        if marker or _POINTER.search(sentence[:start]):
            continue
        numbers.append((start, end))
    return sorted(dates + numbers)


def name_spans(sentence: str) -> list[tuple[int, int]]:
    """Spans of runs of two or more capitalised words (joined by spaces and "of", "de", ...), the
    sentence's first word left out: a capital there says nothing."""
    words = [m.span() for m in WORD.finditer(sentence)][1:]
    spans, run = [], []
    for start, end in words + [(len(sentence) + 1, len(sentence) + 1)]:
        word = sentence[start:end]
        joined = not run or sentence[run[-1][1]:start].isspace()
        if joined and word[:1].isupper() and not (run and _possessive(sentence, run[-1])):
            run.append((start, end))
            continue
        if joined and run and word in _CONNECTORS:
            run.append((start, end))
            continue
        while run and not sentence[run[-1][0]].isupper():  # a name ends with a capitalised word
            run.pop()
        if len(run) >= 2:
            spans.append((run[0][0], run[-1][1] - 2 if _possessive(sentence, run[-1]) else run[-1][1]))
        run = [(start, end)] if word[:1].isupper() else []
    return spans


def _possessive(sentence: str, word: tuple[int, int]) -> bool:
    """The word ends in 's: a name ends there ("Company's Health Care" is no name)."""
    return sentence[word[1] - 2:word[1]] in ("'s", "’s")


def key_span(sentence: str) -> tuple[int, int] | None:
    """The span to blank: the last amount (a quantity that is neither bare nor a date), else the
    last date, else the last multi-word name, else the last bare quantity, else None; a span that
    cuts a word ("401(k)", "L.P.") is none."""
    quantities = [s for s in quantity_spans(sentence) if _whole(sentence, *s)]
    dates = [s for s in quantities if _DATE.fullmatch(sentence[s[0]:s[1]])]
    amounts = [s for s in quantities if s not in dates and not is_bare(sentence[s[0]:s[1]])]
    names = [s for s in name_spans(sentence) if _whole(sentence, *s) and not _PART_NAME.search(sentence[s[0]:s[1]])
             and not re.search(r"\d", sentence[s[0]:s[1]])  # "ASU N0", "Plan 2": a code, not a name
             and not _GENERIC.search(sentence[:s[0]])]  # "each Nonemployee Director": a defined role, not a name
    spans = amounts or dates or names or quantities
    return spans[-1] if spans else None


def _whole(sentence: str, start: int, end: int) -> bool:
    """The span neither starts nor ends inside a token (no letter or digit before it, none after
    it, no "(" or ".x" right after it) and names no section ("the Selling, General and
    Administrative Expenses section")."""
    before, after = sentence[start - 1:start], sentence[end:end + 2]
    return not before.isalnum() and not after[:1].isalnum() and not after.startswith("(") \
        and not (after[:1] == "." and after[1:2].isalnum()) and not sentence[end:end + 9].lower().startswith(" section")


def furniture(sentence: str) -> bool:
    """Page furniture ("Table of Contents", "(continued)", "Page 3 of 9") or a table row read as text."""
    words = sentence.split()
    numeric = sum(any(c.isdigit() for c in w) and not any(c.isalpha() for c in w) for w in words)
    return bool(FURNITURE.search(sentence)) or numeric > NUMERIC_SHARE * len(words)
