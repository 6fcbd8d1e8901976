import importlib.util
import json
import os
import shutil
from typing import ClassVar

import numpy as np
import pytest

from ragft.models.specs import minilm_path
from ragft.retrieval import embed
from ragft.retrieval.chunk import chunk_docs
from ragft.retrieval.embed import Embedder, EmbeddingCache, embed_texts, text_key
from ragft.retrieval.index import DenseSearcher, build_dense


class CountingEmbedder:
    """Stands in for an Embedder: a vector derived from the text, and a record of what it embedded."""

    key = "counting"
    identity: ClassVar[dict] = {"model": "counting"}

    def __init__(self):
        self.seen: list[str] = []

    def encode(self, texts, progress=False):
        self.seen += texts
        vecs = np.array([[len(t), sum(map(ord, t)) % 97, 1.0] for t in texts], dtype=np.float32).reshape(-1, 3)
        return vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-9)


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(minilm_path())


@pytest.fixture(scope="module")
def tiny_st(tmp_path_factory, tokenizer):
    """A randomly initialised two-layer BERT sentence-transformer (mean pooling), saved to a folder."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Pooling, Transformer
    from transformers import BertConfig, BertModel

    root = tmp_path_factory.mktemp("tiny_st")
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    torch.manual_seed(0)
    BertModel(config).save_pretrained(root / "hf", safe_serialization=True)
    tokenizer.save_pretrained(root / "hf")
    SentenceTransformer(modules=[Transformer(str(root / "hf"), max_seq_length=64), Pooling(32, "mean")]).save(str(root / "st"))
    return str(root / "st")


DOCS = [
    {"id": "a", "text": "Korvell is sown in March. It is harvested in July. Yields reach four tonnes."},
    {"id": "b", "text": "Ambertal needs light soil. Its main threat is rust. Spray copper in May."},
    {"id": "c", "text": "Drisko grows in the east. Its grain is red. Seed rate is low."},
]


def test_text_key_is_the_sha256_of_the_text():
    assert text_key("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_editing_one_doc_embeds_only_its_changed_chunks(tmp_path, tokenizer):
    model = CountingEmbedder()
    cache = EmbeddingCache(tmp_path, model)
    chunks = chunk_docs(DOCS, tokenizer, size=8, overlap=0)
    assert len(chunks) == 9  # one sentence per chunk
    first, stats = embed_texts(model, [c["text"] for c in chunks], cache)
    assert stats == {"texts": 9, "embedded": 9, "cached": 0, "repeated": 0}

    edited = [DOCS[0], {"id": "b", "text": DOCS[1]["text"].replace("copper", "sulphur")}, DOCS[2]]
    new_chunks = chunk_docs(edited, tokenizer, size=8, overlap=0)
    model.seen.clear()
    again, stats = embed_texts(model, [c["text"] for c in new_chunks], cache)
    assert stats == {"texts": 9, "embedded": 1, "cached": 8, "repeated": 0}
    assert model.seen == ["Spray sulphur in May."]
    changed = [i for i, (c, d) in enumerate(zip(chunks, new_chunks)) if c["text"] != d["text"]]
    assert changed == [5]
    keep = [i for i in range(9) if i != 5]
    assert np.array_equal(again[keep], first[keep])  # read back bit for bit
    assert len(cache.packs()) == 2


def test_repeated_texts_are_embedded_once_and_without_a_cache():
    model = CountingEmbedder()
    vecs, stats = embed_texts(model, ["x y", "z", "x y"])
    assert stats == {"texts": 3, "embedded": 2, "cached": 0, "repeated": 1}
    assert model.seen == ["x y", "z"] and np.array_equal(vecs[0], vecs[2])


def test_a_killed_write_leaves_no_entry(tmp_path, monkeypatch):
    model = CountingEmbedder()
    cache = EmbeddingCache(tmp_path, model)
    real_save = np.save

    def dies_on_keys(fh, arr):
        if arr.dtype.kind == "S":  # the keys are written last: die there
            raise KeyboardInterrupt
        real_save(fh, arr)

    monkeypatch.setattr(embed.np, "save", dies_on_keys)
    with pytest.raises(KeyboardInterrupt):
        embed_texts(model, ["alpha", "beta"], cache)
    monkeypatch.undo()
    assert cache.packs() == [] and cache.lookup([text_key("alpha")]) == {}
    # only the vectors file whose keys never came (ignored), and no half-written file
    assert sorted(p.name.split(".", 1)[1] for p in cache.dir.iterdir()) == ["json", "vecs.npy"]
    _, stats = embed_texts(model, ["alpha", "beta"], cache)
    assert stats["embedded"] == 2


def test_many_packs_are_merged(tmp_path, monkeypatch):
    monkeypatch.setattr(embed, "MAX_PACKS", 2)
    model = CountingEmbedder()
    cache = EmbeddingCache(tmp_path, model)
    for text in ("one", "two", "three"):
        embed_texts(model, [text], cache)
    assert len(cache.packs()) == 1
    assert sorted(cache.lookup([text_key(t) for t in ("one", "two", "three", "four")])) == \
        sorted(text_key(t) for t in ("one", "two", "three"))


def test_the_key_depends_on_backend_and_quantisation(tiny_st):
    keys = {(b, q): Embedder(tiny_st, b, q).key for b, q in [("torch", "none"), ("onnx", "none"), ("onnx", "int8")]}
    assert len(set(keys.values())) == 3 and all(len(k) == 24 for k in keys.values())
    assert Embedder(tiny_st).identity["sha256"] == Embedder(tiny_st).identity["sha256"]
    with pytest.raises(ValueError, match="int8 needs embed.backend onnx or openvino"):
        Embedder(tiny_st, "torch", "int8")
    with pytest.raises(ValueError, match="embed.backend 'tf' is not one of: torch, onnx, openvino"):
        Embedder(tiny_st, "tf")


def test_builtin_minilm_gives_normalised_float32_vectors():
    vecs = Embedder("builtin:minilm").encode(["Wheat is sown in March.", "Sowing of wheat is in March.", "A cat sat."])
    assert vecs.shape == (3, 384) and vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert vecs[0] @ vecs[1] > 0.8
    assert vecs[0] @ vecs[2] < 0.3


@pytest.mark.parametrize("backend", ["onnx", "openvino"])
@pytest.mark.parametrize("quantize", ["none", "int8"])
def test_fast_backends_agree_with_torch_and_export_once(tiny_st, tmp_path, backend, quantize):
    module = {"onnx": "onnxruntime", "openvino": "openvino"}[backend]
    if importlib.util.find_spec(module) is None:
        # `make test` installs both extras; only a hand-made environment may lack them, never CI
        (pytest.fail if os.environ.get("CI") else pytest.skip)(f"{module} is not installed (pip install -e '.[{backend}]')")
    texts = ["Sow wheat in March.", "Harvest in July after the rains.", "The cat sat on the mat."]
    ref = Embedder(tiny_st).encode(texts)
    fast = Embedder(tiny_st, backend, quantize, cache_dir=tmp_path)
    vecs = fast.encode(texts)
    assert vecs.shape == (3, 32) and vecs.dtype == np.float32
    assert np.all(np.sum(vecs * ref, axis=1) > (0.9999 if quantize == "none" else 0.999))
    exported = tmp_path / "models" / f"{backend}-{quantize}-{fast.key}"
    stamp = (exported / "ragft_export.json").stat().st_mtime_ns
    assert np.allclose(Embedder(tiny_st, backend, quantize, cache_dir=tmp_path).encode(texts), vecs, atol=1e-6)
    assert (exported / "ragft_export.json").stat().st_mtime_ns == stamp  # loaded, not exported again


# ---- query and passage prompts ----------------------------------------------------------------

TEXTS = ["Korvell is sown in March.", "Ambertal needs light soil and copper against rust.", "Drisko grain is red."]
QUERY = ["When is Korvell sown?", "What does Ambertal need?"]


@pytest.fixture(scope="module")
def prompted_minilm(tmp_path_factory):
    """builtin:minilm's folder (weights linked, not copied) whose sentence-transformers config
    declares E5-style prompts, as an E5 or BGE model's does."""
    src = minilm_path()
    out = tmp_path_factory.mktemp("prompted") / "minilm"
    shutil.copytree(src, out, ignore=shutil.ignore_patterns("model.safetensors"))
    (out / "model.safetensors").symlink_to(os.path.join(src, "model.safetensors"))
    config = json.loads((out / "config_sentence_transformers.json").read_text())
    config["prompts"] = {"query": "query: ", "passage": "passage: "}
    (out / "config_sentence_transformers.json").write_text(json.dumps(config))
    return str(out)


@pytest.fixture(scope="module")
def plain_st():
    """builtin:minilm as anyone loads it, to encode the texts with the prompt written in by hand."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(minilm_path(), device="cpu")
    return lambda texts: model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)


def test_passages_and_queries_get_the_model_s_own_prompts(prompted_minilm, plain_st):
    model = Embedder(prompted_minilm)
    assert model.prompts == {"query": "query: ", "passage": "passage: "}
    passages, queries = model.encode(TEXTS), model.encode(QUERY, kind="query")
    assert np.allclose(passages, plain_st(["passage: " + t for t in TEXTS]), atol=1e-5)
    assert np.allclose(queries, plain_st(["query: " + q for q in QUERY]), atol=1e-5)
    assert np.abs(passages - plain_st(TEXTS)).max() > 0.01  # the prompt changes the vectors
    assert model.identity["passage_prompt"] == "passage: "


def test_configured_prompts_override_and_an_empty_one_is_none(prompted_minilm, plain_st):
    model = Embedder(prompted_minilm, query_prompt="Represent this question: ", passage_prompt="")
    assert model.prompts == {"query": "Represent this question: ", "passage": ""}
    assert np.allclose(model.encode(TEXTS), plain_st(TEXTS), atol=1e-5)
    assert np.allclose(model.encode(QUERY, kind="query"), plain_st(["Represent this question: " + q for q in QUERY]),
                       atol=1e-5)
    # the passage prompt is part of the cache key, the query prompt is not (passages do not depend on it)
    assert "passage_prompt" not in model.identity
    assert model.key != Embedder(prompted_minilm).key == Embedder(prompted_minilm, query_prompt="").key
    assert Embedder("builtin:minilm").prompts == {"query": "", "passage": ""}  # a model without prompts


def test_a_changed_passage_prompt_reembeds(prompted_minilm, tmp_path):
    first = Embedder(prompted_minilm)
    embed_texts(first, TEXTS, EmbeddingCache(tmp_path, first))
    other = Embedder(prompted_minilm, passage_prompt="chunk: ")
    _, stats = embed_texts(other, TEXTS, EmbeddingCache(tmp_path, other))
    assert (stats["embedded"], stats["cached"]) == (3, 0)
    _, stats = embed_texts(Embedder(prompted_minilm), TEXTS, EmbeddingCache(tmp_path, first))
    assert (stats["embedded"], stats["cached"]) == (0, 3)


def test_the_index_records_both_prompts_and_search_uses_its_query_prompt(prompted_minilm, plain_st, tmp_path):
    model = Embedder(prompted_minilm)
    build_dense(model.encode(TEXTS), ["a#0", "b#0", "c#0"], tmp_path / "e5", model)
    meta = json.loads((tmp_path / "e5" / "meta.json").read_text())
    assert (meta["query_prompt"], meta["passage_prompt"], meta["backend"]) == ("query: ", "passage: ", "torch")
    hits = DenseSearcher(tmp_path / "e5").search(QUERY[:1], 3)[0]
    expected = plain_st(["passage: " + t for t in TEXTS]) @ plain_st(["query: " + QUERY[0]])[0]
    assert [c for c, _ in hits] == [["a#0", "b#0", "c#0"][i] for i in np.argsort(-expected)]
    assert np.allclose([s for _, s in hits], np.sort(expected)[::-1], atol=1e-5)
    # an index embedded with other prompts is searched with its own, whatever the model declares
    plain = Embedder(prompted_minilm, query_prompt="", passage_prompt="")
    build_dense(plain.encode(TEXTS), ["a#0", "b#0", "c#0"], tmp_path / "plain", plain)
    searcher = DenseSearcher(tmp_path / "plain")
    assert searcher.embedder.prompts == {"query": "", "passage": ""}
    assert np.allclose([s for _, s in searcher.search(QUERY[:1], 1)[0]],
                       [np.max(plain_st(TEXTS) @ plain_st(QUERY[:1])[0])], atol=1e-5)
