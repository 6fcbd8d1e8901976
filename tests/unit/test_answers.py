"""The SQuAD answer normalisation every answer check and metric shares."""

import pytest

from ragft.answers import normalize_answer


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("The  Cat!", "cat"),
        ("theater", "theater"),  # articles only as whole words
        ("A man, a plan, an apple", "man plan apple"),
        ("  Hello\tWorld\n", "hello world"),
        ("an", ""),
        ("Anne's", "annes"),
        ("the-end", "theend"),  # SQuAD deletes punctuation before removing articles
        ("The the THE", ""),  # every article goes, whatever its case
        ("1,000 kg.", "1000 kg"),  # thousands separators are punctuation too
        ("a.b.c", "abc"),  # ... so initials join into one token
        ("\u201cQuoted\u201d text", "\u201cquoted\u201d text"),  # only ASCII punctuation is removed (as SQuAD)
        ("\u00dcn\u00efcode\u2014dash", "\u00fcn\u00efcode\u2014dash"),  # lower-cased, accents and em dash kept
    ],
)
def test_normalize_answer(raw, expected):
    assert normalize_answer(raw) == expected
