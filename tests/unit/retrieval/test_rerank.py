import pytest

from ragft.retrieval.rerank import Reranker, RerankSearcher, rerank

HITS = [("a", 0.9), ("b", 0.8), ("c", 0.7), ("d", 0.6)]
TEXT = {"a": "wheat is sown in march", "b": "rust attacks wheat", "c": "the cat sat", "d": "march rains"}


def test_rerank_reorders_the_top_n_and_keeps_the_rest():
    assert rerank(HITS, [0.1, 0.9, 0.5], top_n=3) == [("b", 0.9), ("c", 0.5), ("a", 0.1), ("d", 0.6)]
    assert rerank(HITS, [0.5, 0.5], top_n=2)[:2] == [("a", 0.5), ("b", 0.5)]  # ties keep the first stage's order


class Fixed:
    def search(self, queries, k):
        return [HITS[:k] for _ in queries]


class ByLength:
    """Scores a pair by the length of the chunk text (longer first)."""

    def scores(self, pairs):
        return [float(len(text)) for _, text in pairs]


def test_rerank_searcher_rescores_the_first_stage():
    searcher = RerankSearcher(Fixed(), ByLength(), TEXT, top_n=3)
    assert searcher.search(["q1", "q2"], 2) == [[("a", 22.0), ("b", 18.0)]] * 2
    assert [c for c, _ in searcher.search(["q"], 4)[0]] == ["a", "b", "c", "d"]  # d is past top_n


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory):
    """A randomly initialised one-layer BERT cross-encoder (one relevance logit), saved to a folder."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from ragft.models.specs import minilm_path

    out = tmp_path_factory.mktemp("cross_encoder")
    tokenizer = AutoTokenizer.from_pretrained(minilm_path())
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128, num_labels=1)
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return str(out)


def test_a_local_cross_encoder_reranks(tiny_cross_encoder):
    model = Reranker(tiny_cross_encoder, batch_size=2, device="cpu")
    pairs = [("when is wheat sown", TEXT[c]) for c in "abcd"]
    scores = model.scores(pairs)
    assert len(scores) == 4 and len(set(scores)) == 4 and all(0 < s < 1 for s in scores)  # sigmoid of one logit
    assert model.scores(pairs) == scores  # deterministic
    hits = RerankSearcher(Fixed(), model, TEXT, top_n=4).search(["when is wheat sown"], 4)[0]
    expected = sorted(zip("abcd", scores), key=lambda cs: -cs[1])
    assert [c for c, _ in hits] == [c for c, _ in expected]
    assert [s for _, s in hits] == [s for _, s in expected]
