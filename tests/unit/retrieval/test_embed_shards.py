"""Sharded and resumable embedding: every text is encoded in the batch `batch_plan` gives it, so N
shards, or a run killed half-way and resumed from the cache, give the vectors of one whole run bit
for bit; shard files are written whole or not at all, byte for byte the same for the same content."""

import hashlib

import numpy as np
import pytest

from ragft.retrieval import embed
from ragft.retrieval.embed import (
    Embedder,
    EmbeddingCache,
    batch_plan,
    embed_shard,
    embed_texts,
    gather_shards,
    read_shard,
    text_key,
    write_shard,
)

SENTENCE = "the sowing window of each variety opens after the last frost when soil warms above eight degrees"
WORDS = SENTENCE.split()
TEXTS = [" ".join(WORDS[: 3 + (i * 7) % 14]) + f" case {i}" for i in range(45)]


class BatchSensitive:
    """A fake embedder whose vectors, like a real model's last bits, depend on the whole batch."""

    key, identity, batch_size = "batch-sensitive", {"model": "batch-sensitive"}, 8

    def __init__(self, fail_after: int | None = None):
        self.batches, self.fail_after = [], fail_after

    def encode(self, texts, progress=False):
        if self.fail_after is not None and len(self.batches) == self.fail_after:
            raise KeyboardInterrupt  # killed
        self.batches.append(list(texts))
        salt = int(hashlib.sha256("|".join(texts).encode()).hexdigest()[:6], 16) * 1e-9
        return np.array([[len(t), sum(map(ord, t)) % 89, 1.0 + salt] for t in texts], dtype=np.float32)


def shard_meta(stats, shard, shards):
    return {"model": "m", "backend": "torch", "quantize": "none", "query_prompt": "q: ", "passage_prompt": "p: ",
            "shard": shard, "shards": shards, **stats}


def test_the_batch_plan_depends_on_the_set_of_texts_only():
    plan = batch_plan(TEXTS, 8)
    assert plan == batch_plan(list(reversed(TEXTS)) + TEXTS[:5], 8)
    assert [len(b) for b in plan] == [8, 8, 8, 8, 8, 5]
    flat = [t for b in plan for t in b]
    assert sorted(flat) == sorted(TEXTS) and [len(t) for t in flat] == sorted((len(t) for t in flat), reverse=True)


def test_shards_give_the_vectors_of_one_run(tmp_path):
    whole, _ = embed_texts(BatchSensitive(), TEXTS)
    paths = []
    for shard in range(3):
        keys, vecs, stats = embed_shard(BatchSensitive(), TEXTS, shard, 3)
        assert stats == {"texts": len(keys), "embedded": len(keys), "cached": 0}
        paths.append(tmp_path / f"{shard + 1}-of-3.npz")
        write_shard(paths[-1], keys, vecs, shard_meta(stats, shard + 1, 3))
    vectors, meta = gather_shards(paths, TEXTS + TEXTS[:2])
    assert np.array_equal(vectors[: len(TEXTS)], whole) and np.array_equal(vectors[-2:], whole[:2])
    assert meta == {"texts": 47, "embedded": 45, "cached": 0, "repeated": 2,
                    "embedder": {"model": "m", "backend": "torch", "quantize": "none", "query_prompt": "q: ",
                                 "passage_prompt": "p: "}}


def test_builtin_minilm_shards_are_bit_for_bit_one_run():
    model = Embedder("builtin:minilm", batch_size=8)
    whole, _ = embed_texts(model, TEXTS)
    parts = [embed_shard(model, TEXTS, s, 2) for s in range(2)]
    table = {k: v for keys, vecs, _ in parts for k, v in zip(keys, vecs)}
    assert np.array_equal(np.stack([table[text_key(t)] for t in TEXTS]), whole)


def test_a_killed_run_resumes_from_the_cache_to_the_same_vectors(tmp_path, monkeypatch):
    monkeypatch.setattr(embed, "PACK_TEXTS", 8)
    reference, _ = embed_texts(BatchSensitive(), TEXTS)
    killed = BatchSensitive(fail_after=3)
    cache = EmbeddingCache(tmp_path, killed)
    with pytest.raises(KeyboardInterrupt):
        embed_texts(killed, TEXTS, cache)
    assert len(cache.packs()) == 3  # one pack per finished batch here
    again = BatchSensitive()
    vectors, stats = embed_texts(again, TEXTS, cache)
    assert stats == {"texts": 45, "embedded": 21, "cached": 24, "repeated": 0}
    assert again.batches == batch_plan(TEXTS, 8)[3:]  # the remaining batches, as a whole run makes them
    assert np.array_equal(vectors, reference)


def test_gathering_stops_on_a_missing_text_or_another_embedder(tmp_path):
    keys, vecs, stats = embed_shard(BatchSensitive(), TEXTS, 0, 2)
    write_shard(tmp_path / "1-of-2.npz", keys, vecs, shard_meta(stats, 1, 2))
    with pytest.raises(ValueError, match=r"1-of-2\.npz: no vector for \d+ chunk texts .*; rerun embed"):
        gather_shards([tmp_path / "1-of-2.npz"], TEXTS)
    keys, vecs, stats = embed_shard(BatchSensitive(), TEXTS, 1, 2)
    write_shard(tmp_path / "2-of-2.npz", keys, vecs, {**shard_meta(stats, 2, 2), "model": "other"})
    with pytest.raises(ValueError, match=r"2-of-2\.npz: embedded by .*'other'.*; rerun embed"):
        gather_shards([tmp_path / "1-of-2.npz", tmp_path / "2-of-2.npz"], TEXTS)
    # vectors of another passage prompt never mix with these
    write_shard(tmp_path / "2-of-2.npz", keys, vecs, {**shard_meta(stats, 2, 2), "passage_prompt": "passage: "})
    with pytest.raises(ValueError, match=r"2-of-2\.npz: embedded by .*'passage_prompt': 'passage: '.*; rerun embed"):
        gather_shards([tmp_path / "1-of-2.npz", tmp_path / "2-of-2.npz"], TEXTS)


def test_gathering_passes_on_how_auto_chose_the_backend(tmp_path):
    choice = {"backend": "onnx", "rates": {"torch": 40.0, "onnx": 55.5}}
    paths = []
    for shard in range(2):
        keys, vecs, stats = embed_shard(BatchSensitive(), TEXTS, shard, 2)
        paths.append(tmp_path / f"{shard + 1}-of-2.npz")
        write_shard(paths[-1], keys, vecs, {**shard_meta(stats, shard + 1, 2), "backend": "onnx", "backend_choice": choice})
    _, meta = gather_shards(paths, TEXTS)
    assert meta["backend_choice"] == choice and meta["embedder"]["backend"] == "onnx"


def test_shard_files_are_deterministic_and_atomic(tmp_path, monkeypatch):
    keys, vecs, stats = embed_shard(BatchSensitive(), TEXTS, 0, 1)
    write_shard(tmp_path / "a.npz", keys, vecs, shard_meta(stats, 1, 1))
    write_shard(tmp_path / "b.npz", keys, vecs, shard_meta(stats, 1, 1))
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    back_keys, back_vecs, meta = read_shard(tmp_path / "a.npz")
    assert back_keys == keys and np.array_equal(back_vecs, vecs) and meta["shard"] == 1
    monkeypatch.setattr(np.lib.format, "write_array", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        write_shard(tmp_path / "c.npz", keys, vecs, shard_meta(stats, 1, 1))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz", "b.npz"]
