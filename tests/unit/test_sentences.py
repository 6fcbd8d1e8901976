"""Sentences: every line break ends one, pysbd finds the ends within a line (abbreviations kept)."""

import pysbd

from ragft.sentences import sentence_spans


def cut(text):
    return [text[s:e] for s, e in sentence_spans(text)]


def test_lines_and_stops_end_sentences():
    text = "# Title\nFirst one. Second one!  Third?\n- bullet\n\n   \nLast line"
    assert cut(text) == ["# Title", "First one.", "Second one!", "Third?", "- bullet", "Last line"]


def test_abbreviations_and_decimals_do_not_end_a_sentence():
    # real sentences of 3M's 2018 10-K, where a splitter on ". " breaks at "U.S." and "Mr."
    text = ("The Company consolidated its customer account activity, which previously had been deployed only in "
            "the U.S. and Canada. Sales rose 3.5% in 2018. Mr. Roman became CEO on July 1, 2018.")
    assert cut(text) == [
        "The Company consolidated its customer account activity, which previously had been deployed only in "
        "the U.S. and Canada.",
        "Sales rose 3.5% in 2018.",
        "Mr. Roman became CEO on July 1, 2018.",
    ]


def test_spans_are_pysbds_segments_located_in_the_text():
    line = "Bank of America and U.S. Bancorp are lenders. It grew 3.5% (see Note 3). Done!"
    segments = [s.strip() for s in pysbd.Segmenter(language="en", clean=False).segment(line)]
    text = "Heading\n" + line
    spans = sentence_spans(text)
    assert [text[s:e] for s, e in spans] == ["Heading"] + segments
    assert spans[1][0] == len("Heading\n")
