import json
from typing import ClassVar

import numpy as np
import pytest

from ragft.retrieval.index import (
    BM25Searcher,
    DenseSearcher,
    build_bm25,
    build_dense,
    choose_factory,
    open_searcher,
    recall_at_k,
    tune_search,
)


class AxisEmbedder:
    """Maps a query to a fixed unit vector, like a sentence-transformer would (any kwargs)."""

    VECS: ClassVar[dict] = {"north": [1, 0, 0], "east": [0, 1, 0], "up": [0, 0, 1], "north-east": [0.6, 0.8, 0]}

    def encode(self, texts, **kwargs):
        return np.array([self.VECS[t] for t in texts], dtype=np.float32)


VECTORS = np.array([[1, 0, 0], [0.8, 0.6, 0], [0, 1, 0], [0, 0, 1]], dtype=np.float32)
IDS = ["n#0", "ne#0", "e#0", "u#0"]


def clustered(n, d=16, clusters=40, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, d))
    x = (centres[rng.integers(0, clusters, n)] + 0.3 * rng.standard_normal((n, d))).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(autouse=True)
def one_thread():
    import faiss

    faiss.omp_set_num_threads(1)  # k-means and search results independent of thread timing


@pytest.mark.parametrize("n, factory", [
    (979, "Flat"), (49_999, "Flat"), (50_000, "IVF1024,Flat"), (250_000, "IVF2048,Flat"),
    (999_999, "IVF4096,Flat"), (1_000_000, "IVF4096_HNSW32,Flat"), (10_000_000, "IVF16384_HNSW32,SQ8"),
])
def test_auto_chooses_by_size(n, factory):
    assert choose_factory(n) == factory


def test_flat_index_searches_exactly_and_records_meta(tmp_path):
    meta = build_dense(VECTORS, IDS, tmp_path, "builtin:minilm", "auto", embedding={"embedded": 4, "cached": 0})
    assert {k: v for k, v in meta.items() if k != "build_seconds"} == {
        "embedder": "builtin:minilm", "backend": "torch", "quantize": "none", "query_prompt": "", "passage_prompt": "",
        "dims": 3, "count": 4,
        "factory": "Flat", "factory_config": "auto", "search_params": "", "tuned_recall@10": None,
        "embedding": {"embedded": 4, "cached": 0},
    }
    assert json.loads((tmp_path / "meta.json").read_text())["factory"] == "Flat"
    hits = DenseSearcher(tmp_path, AxisEmbedder()).search(["north", "north-east"], 2)
    assert [[c for c, _ in h] for h in hits] == [["n#0", "ne#0"], ["ne#0", "e#0"]]
    assert [round(s, 4) for _, s in hits[1]] == [0.96, 0.8]  # inner products of unit vectors


def test_recall_against_exact():
    truth = np.array([[5, 1, 2, 3], [6, 4, 7, 8]])
    found = np.array([[5, 1, 3, 9], [6, 7, 4, -1]])
    assert recall_at_k(found, truth, k=2) == 0.75  # {5,1}:{5,1} and {6,4}:{6,7}
    assert recall_at_k(found, truth, k=4) == 0.75  # {5,1,2,3}:{5,1,3,9} and {6,4,7,8}:{6,7,4}


def test_approximate_indexes_get_the_cheapest_setting_that_reaches_the_target(tmp_path):
    x = clustered(4000)
    ids = [str(i) for i in range(4000)]
    meta = build_dense(x, ids, tmp_path, "m", "IVF64,Flat", target_recall=0.95)
    assert (meta["factory"], meta["search_params"], meta["tuned_recall@10"]) == ("IVF64,Flat", "nprobe=2", 0.9755)
    # the 200 held-out tuning queries were added last: ids.json maps each row to its chunk
    rows = json.loads((tmp_path / "ids.json").read_text())
    assert sorted(rows) == sorted(ids) and rows[:3] == ["0", "1", "2"] and rows != ids
    import faiss

    index = faiss.read_index(str(tmp_path / "index.faiss"))
    assert tune_search(index, x[[int(r) for r in rows]], x[:300], target=0.99) == ("nprobe=4", 0.999)
    assert tune_search(index, x[[int(r) for r in rows]], x[:300], target=0.9995) == ("nprobe=8", 1.0)
    hnsw = faiss.index_factory(16, "HNSW8", faiss.METRIC_INNER_PRODUCT)
    hnsw.add(x[:3000])
    assert tune_search(hnsw, x[:3000], x[3000:3300], target=0.95) == ("efSearch=16", 0.9937)
    assert tune_search(faiss.index_factory(16, "Flat", faiss.METRIC_INNER_PRODUCT), x, x[:5]) == ("", None)


def test_configured_search_params_are_kept_and_bad_factories_named(tmp_path):
    x = clustered(4000)
    meta = build_dense(x, [str(i) for i in range(4000)], tmp_path, "m", "IVF64,Flat", search_params="nprobe=2")
    assert (meta["search_params"], meta["tuned_recall@10"]) == ("nprobe=2", None)
    with pytest.raises(ValueError, match=r"index.factory 'IVF256,Flat' cannot be trained on 100 vectors"):
        build_dense(x[:100], [str(i) for i in range(100)], tmp_path / "bad", "m", "IVF256,Flat")


def test_bm25_and_hybrid_through_open_searcher(tmp_path):
    texts = ["north wind blows", "north east coast", "east market", "up the hill"]
    build_bm25(texts, IDS, tmp_path / "bm25")
    build_dense(VECTORS, IDS, tmp_path / "dense", "m")
    assert [c for c, _ in BM25Searcher(tmp_path / "bm25").search(["east"], 2)[0]] == ["e#0", "ne#0"]
    (tmp_path / "hybrid.json").write_text(json.dumps({"weight": 1.0, "method": "score", "rrf_k": 60, "depth": 4}))
    opened = {"dense": DenseSearcher(tmp_path / "dense", AxisEmbedder())}
    paths = {"dense": tmp_path / "dense", "bm25": tmp_path / "bm25", "hybrid": tmp_path / "hybrid.json"}
    hybrid = open_searcher("hybrid", paths, opened=opened)
    dense = [c for c, _ in opened["dense"].search(["north"], 4)[0]]
    assert dense[:2] == ["n#0", "ne#0"]
    assert sorted(dense[2:]) == ["e#0", "u#0"]  # both at cosine 0: tied, in whatever order FAISS gives
    assert [c for c, _ in hybrid.search(["north"], 4)[0]] == ["n#0", "ne#0", "e#0", "u#0"]  # weight 1: dense, ties by id
    assert open_searcher("none", paths) is None
    with pytest.raises(ValueError, match="retriever 'sparse' is not one of"):
        open_searcher("sparse", paths)
