import pytest

from ragft.models.specs import minilm_path
from ragft.retrieval.chunk import (
    chunk_doc,
    load_offsets_tokenizer,
    markdown_sections,
    pack_sentences,
    token_windows,
)


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


FOUR = {"id": "d", "text": "Alpha beta gamma. Delta epsilon zeta. Eta theta iota. Kappa lambda mu."}
MD = ("# Korvell\n\nKorvell is a wheat. It grows fast.\n\n## Agronomy\n\n### Sowing\n\n"
      "Sow in March. Harvest in July.\n\n## Advice\n\nWater weekly.\n")


def spans(chunks):
    return [(c["text"], c["start"], c["end"], c["n_tokens"]) for c in chunks]


def test_token_windows_boundaries_and_offsets(tokenizer):
    # 17 tokens ("iota." and "mu." are two each): windows [0, 8), [5, 13), [10, 17)
    assert spans(chunk_doc(FOUR, tokenizer, size=8, overlap=3, strategy="tokens")) == [
        ("Alpha beta gamma. Delta epsilon zeta.", 0, 37, 8),
        ("epsilon zeta. Eta theta iota.", 24, 53, 8),
        ("iota. Kappa lambda mu.", 48, 70, 7),
    ]


def test_sentence_windows_boundaries_and_offsets(tokenizer):
    # sentences of 4, 4, 5 and 4 tokens: the first two fill a window of 8; no sentence fits the overlap of 3
    assert spans(chunk_doc(FOUR, tokenizer, size=8, overlap=3, strategy="sentences")) == [
        ("Alpha beta gamma. Delta epsilon zeta.", 0, 37, 8),
        ("Eta theta iota.", 38, 53, 5),
        ("Kappa lambda mu.", 54, 70, 4),
    ]


def test_markdown_sections_start_at_headings():
    text = MD + "\n```\n# a comment, not a heading\n```\n"
    assert markdown_sections(text) == [(0, 45), (47, 102), (104, 164)]
    assert text[104:164] == "## Advice\n\nWater weekly.\n\n```\n# a comment, not a heading\n```"
    assert text[47:102] == "## Agronomy\n\n### Sowing\n\nSow in March. Harvest in July."  # a lone heading joins the next
    assert markdown_sections("Preface.\n\n# Title\n") == [(0, 8), (10, 17)]  # a last lone heading stays


def test_markdown_chunks_never_span_two_sections(tokenizer):
    chunks = chunk_doc({"id": "v/k.md", "text": MD}, tokenizer, size=16, overlap=4, strategy="markdown")
    assert [c["id"] for c in chunks] == [f"v/k.md#{i:04d}" for i in range(5)]
    assert spans(chunks) == [
        ("# Korvell\n\nKorvell is a wheat.", 0, 30, 13),
        ("It grows fast.", 31, 45, 4),
        ("## Agronomy\n\n### Sowing\n\nSow in March.", 47, 85, 15),
        ("Harvest in July.", 86, 102, 4),
        ("## Advice\n\nWater weekly.", 104, 128, 6),
    ]
    # packing by sentences alone puts a heading at the end of the chunk before its section
    assert chunk_doc({"id": "v/k.md", "text": MD}, tokenizer, 16, 4, "sentences")[1]["text"] == \
        "It grows fast.\n\n## Agronomy\n\n### Sowing"


def test_unknown_strategy_is_a_clear_error(tokenizer):
    with pytest.raises(ValueError, match="chunk.strategy 'paragraphs' is not one of: sentences, tokens, markdown"):
        chunk_doc({"id": "d", "text": "x"}, tokenizer, 8, 0, strategy="paragraphs")


@pytest.mark.parametrize("strategy", ["tokens", "sentences", "markdown"])
def test_tokenizers_loader_chunks_exactly_as_autotokenizer(tokenizer, strategy):
    """The chunk job loads tokenizer.json with `tokenizers` alone (no transformers import): same chunks."""
    fast = load_offsets_tokenizer(minilm_path())
    assert type(fast).__module__.startswith("tokenizers")
    long = MD + "\n" + " ".join(FOUR["text"] for _ in range(40))  # longer than MiniLM's 128-token truncation
    ours = chunk_doc({"id": "d.md", "text": long}, fast, 16, 4, strategy)
    assert ours == chunk_doc({"id": "d.md", "text": long}, tokenizer, 16, 4, strategy)
    assert sum(c["n_tokens"] for c in ours) > 128 and ours[-1]["end"] == len(long)


LONG = ("Wheat needs nitrogen, phosphorus and potassium, sown in rows twenty centimetres apart, watered weekly "
        "in dry spells and harvested when the grain is hard and golden under the sun")
TEXT = MD + "\n" + FOUR["text"] + "\n\n" + LONG + ". " + FOUR["text"] + "\n"


@pytest.fixture(scope="module")
def tokenizer_dirs(tmp_path_factory):
    """Folders of three kinds of tokenizer: MiniLM's WordPiece, and two trained here whose offsets
    hold the space before a word: GPT-2-style byte-level BPE ("Ġbeta") and SentencePiece-style
    BPE as Llama 2 and Mistral have ("▁beta")."""
    from tokenizers import ByteLevelBPETokenizer, SentencePieceBPETokenizer
    from transformers import GPT2TokenizerFast, LlamaTokenizerFast

    byte_level = ByteLevelBPETokenizer()
    byte_level.train_from_iterator([TEXT] * 20, vocab_size=400, special_tokens=["<|endoftext|>"], show_progress=False)
    pieces = SentencePieceBPETokenizer()
    pieces.train_from_iterator([TEXT] * 20, vocab_size=400, special_tokens=["<unk>", "<s>", "</s>"], show_progress=False)
    dirs = {"wordpiece": minilm_path()}
    for name, tok in [("bytelevel", GPT2TokenizerFast(tokenizer_object=byte_level._tokenizer, eos_token="<|endoftext|>")),
                      ("sentencepiece", LlamaTokenizerFast(tokenizer_object=pieces._tokenizer, bos_token="<s>",
                                                           eos_token="</s>", unk_token="<unk>", legacy=True))]:
        dirs[name] = str(tmp_path_factory.mktemp(name))
        tok.save_pretrained(dirs[name])
    return dirs


def test_chunk_token_counts_are_the_tokenizers_own_and_never_above_size(tokenizer_dirs):
    """n_tokens == len(tokenizer(chunk text, add_special_tokens=False).input_ids) <= size, for every
    chunk, tokenizer kind and strategy; and every character but whitespace is in a chunk."""
    from transformers import AutoTokenizer

    wrong = []
    for name, folder in tokenizer_dirs.items():
        auto = AutoTokenizer.from_pretrained(folder)
        for tok in (load_offsets_tokenizer(folder), auto):
            for strategy in ("tokens", "sentences", "markdown"):
                for size, overlap in ((8, 3), (16, 4), (32, 8)):
                    chunks = chunk_doc({"id": "d.md", "text": TEXT}, tok, size, overlap, strategy)
                    real = [len(auto(c["text"], add_special_tokens=False).input_ids) for c in chunks]
                    wrong += [(name, strategy, size, c["n_tokens"], n, c["text"]) for c, n in zip(chunks, real)
                              if c["n_tokens"] != n or n > size]
                    covered = {i for c in chunks for i in range(c["start"], c["end"])}
                    assert all(TEXT[i].isspace() for i in range(len(TEXT)) if i not in covered)
                    assert all(TEXT[c["start"]:c["end"]] == c["text"] == c["text"].strip() for c in chunks)
    assert wrong == []


def test_a_byte_level_chunk_counts_the_spaces_its_words_carry(tokenizer_dirs):
    # GPT-2-style offsets put " grows" at the space before it, so counting the tokens lying wholly
    # inside each sentence missed one per sentence and every line break: packed at size 16, the
    # second chunk was "It grows fast.\n\n## Agronomy\n\n### Sowing", 18 tokens counted, 19 real
    tok = load_offsets_tokenizer(tokenizer_dirs["bytelevel"])
    chunks = chunk_doc({"id": "d.md", "text": TEXT}, tok, 16, 4, "sentences")
    assert [(c["text"], c["n_tokens"]) for c in chunks[:6]] == [
        ("# Korvell\n\nKorvell is a wheat. It grows fast.", 16),
        ("## Agronomy\n\n### Sowing", 12),
        ("Sow in March. Harvest in July.", 11),
        ("## Advice\n\nWater weekly.\n\nAlpha beta gamma.", 15),
        ("Alpha beta gamma. Delta epsilon zeta. Eta theta iota.", 12),  # carried over: overlap 4
        ("Eta theta iota. Kappa lambda mu.", 8),
    ]
    assert [c["n_tokens"] for c in chunks] == [len(tok.encode(c["text"]).ids) for c in chunks]


def test_a_wordpiece_window_cut_inside_a_word_counts_what_its_text_tokenizes_to(tokenizer):
    # "Korvell" is ko ##r ##vel ##l: a window from ##r holds 4 of the doc's tokens, but its text
    # "rvell wheat" is 3 (rv ##ell wheat); on the 3M 10-K, 45 of 2,522 windows of 64 held more than 64
    doc = {"id": "d", "text": "Sow Korvell wheat in March and harvest Korvell in July."}
    assert [(c["text"], c["n_tokens"]) for c in chunk_doc(doc, tokenizer, 4, 1, strategy="tokens")] == [
        ("Sow Kor", 4), ("rvell wheat", 3), ("wheat in March and", 4), ("and harvest Kor", 4), ("rvell in", 3),
        ("in July.", 3)]
