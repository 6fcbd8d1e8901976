import pytest

from ragft.chunk import chunk_doc, pack_sentences, sentence_spans, token_windows
from ragft.models import minilm_path


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(minilm_path())


def test_token_windows_overlap_and_cover_everything():
    offsets = [(i, i + 1) for i in range(10)]
    assert token_windows(offsets, 4, 1) == [(0, 4), (3, 7), (6, 10)]
    assert token_windows(offsets, 10, 2) == [(0, 10)]
    with pytest.raises(ValueError, match="larger than overlap"):
        token_windows(offsets, 2, 2)


def test_sentence_spans_split_on_stops_and_lines():
    text = "# Title\nFirst one. Second one! Third?\n- bullet"
    assert [text[s:e] for s, e in sentence_spans(text)] == ["# Title", "First one.", "Second one!", "Third?", "- bullet"]


def test_pack_sentences_respects_size_and_carries_overlap():
    spans = [(0, 1), (1, 2), (2, 3), (3, 4)]
    assert pack_sentences(spans, [3, 3, 3, 3], size=6, overlap=3) == [(0, 2), (1, 3), (2, 4)]
    assert pack_sentences(spans, [3, 3, 3, 3], size=6, overlap=0) == [(0, 2), (2, 4)]


def test_chunk_offsets_point_into_the_doc_and_ids_are_stable(tokenizer):
    text = "# Korvell\n" + " ".join(f"Sentence number {i} is here." for i in range(30))
    doc = {"id": "varieties/korvell.md", "text": text}
    chunks = chunk_doc(doc, tokenizer, size=32, overlap=8)
    assert [c["id"] for c in chunks][:2] == ["varieties/korvell.md#0000", "varieties/korvell.md#0001"]
    for c in chunks:
        assert text[c["start"] : c["end"]] == c["text"]
        assert c["n_tokens"] <= 32
    # first chunk starts at the heading, the last one ends the doc
    assert chunks[0]["start"] == 0 and chunks[-1]["end"] == len(text)
    # consecutive chunks overlap by whole sentences
    assert chunks[1]["start"] < chunks[0]["end"]
    assert chunk_doc(doc, tokenizer, size=32, overlap=8) == chunks


def test_fixed_token_windows(tokenizer):
    doc = {"id": "d", "text": "one two three four five six seven eight nine ten"}
    chunks = chunk_doc(doc, tokenizer, size=4, overlap=1, strategy="tokens")
    assert [c["text"] for c in chunks] == ["one two three four", "four five six seven", "seven eight nine ten"]
    assert [c["n_tokens"] for c in chunks] == [4, 4, 4]


def test_unknown_strategy_is_a_clear_error(tokenizer):
    with pytest.raises(ValueError, match="chunk.strategy 'paragraphs'"):
        chunk_doc({"id": "d", "text": "x"}, tokenizer, 8, 0, strategy="paragraphs")
