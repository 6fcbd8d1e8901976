import pytest

from ragft.retrieval.hybrid import (
    HybridSearcher,
    choose_weight,
    fuse,
    read_weights,
    write_weights,
)

DENSE = [("a", 0.9), ("b", 0.5), ("c", 0.1)]
BM25 = [("c", 12.0), ("d", 6.0), ("a", 3.0)]


def rounded(hits):
    return [(c, round(s, 6)) for c, s in hits]


def test_score_fusion_of_min_max_normalised_scores():
    # dense parts a 1, b 0.5, c 0; BM25 parts c 1, d 1/3, a 0; a chunk missing from a list gets 0
    assert rounded(fuse(DENSE, BM25, 0.5)) == [("a", 0.5), ("c", 0.5), ("b", 0.25), ("d", 0.166667)]
    assert rounded(fuse(DENSE, BM25, 0.3)) == [("c", 0.7), ("a", 0.3), ("d", 0.233333), ("b", 0.15)]


def test_the_end_weights_keep_each_part_order():
    assert [c for c, _ in fuse(DENSE, BM25, 1.0)] == ["a", "b", "c", "d"]  # dense, then BM25-only
    assert [c for c, _ in fuse(DENSE, BM25, 0.0)] == ["c", "d", "a", "b"]  # BM25, then dense-only


def test_weighted_reciprocal_rank_fusion():
    fused = rounded(fuse(DENSE, BM25, 0.5, method="rrf", rrf_k=60))
    # a: 0.5/61 + 0.5/63, c: 0.5/63 + 0.5/61 (tie: better dense rank first), b and d: 0.5/62
    assert fused == [("a", 0.016133), ("c", 0.016133), ("b", 0.008065), ("d", 0.008065)]
    with pytest.raises(ValueError, match="retrieval.hybrid.method 'max' is not one of: score, rrf"):
        fuse(DENSE, BM25, 0.5, method="max")


# Two train questions that each part gets right only once (MRR@10 0.75 each); fused, both are right.
CHUNK_DOC = {"a1": "A", "b1": "B", "c1": "C"}
CHUNK_TEXT = {"a1": "alpha", "b1": "beta", "c1": "gamma"}
QUESTIONS = [{"id": "q1", "question": "?", "answers": ["x"], "doc_ids": ["A"]},
             {"id": "q2", "question": "?", "answers": ["x"], "doc_ids": ["B"]}]
DENSE_RUNS = [[("a1", 0.9), ("b1", 0.3), ("c1", 0.1)], [("a1", 0.9), ("b1", 0.85), ("c1", 0.1)]]
BM25_RUNS = [[("b1", 10.0), ("a1", 9.5), ("c1", 1.0)], [("b1", 10.0), ("c1", 2.0), ("a1", 1.0)]]


def test_the_weight_is_chosen_on_the_given_questions():
    choice = choose_weight(DENSE_RUNS, BM25_RUNS, QUESTIONS, CHUNK_DOC, CHUNK_TEXT, metric="mrr@10", grid=21)
    # q1 needs weight > 0.069, q2 weight < 0.941: 0.1 ... 0.9 all score 1.0; ties go to the one nearest 0.5
    assert (choice["weight"], choice["score"], choice["dense"], choice["bm25"], choice["n"]) == (0.5, 1.0, 0.75, 0.75, 2)
    assert choice["by_weight"]["0.05"] == 0.75 and choice["by_weight"]["0.1"] == 1.0
    assert choice["by_weight"]["0.9"] == 1.0 and choice["by_weight"]["0.95"] == 0.75
    assert choice["score"] >= max(choice["dense"], choice["bm25"])


def test_without_train_questions_the_weight_is_even():
    choice = choose_weight([], [], [], CHUNK_DOC, CHUNK_TEXT)
    assert (choice["weight"], choice["score"], choice["by_weight"]) == (0.5, None, {})
    with pytest.raises(ValueError, match="retrieval.hybrid.metric 'map@10'"):
        choose_weight(DENSE_RUNS, BM25_RUNS, QUESTIONS, CHUNK_DOC, CHUNK_TEXT, metric="map@10")


def test_hybrid_searcher_fuses_each_parts_top_depth(tmp_path):
    class Fixed:
        def __init__(self, runs):
            self.runs, self.asked = runs, []

        def search(self, queries, k):
            self.asked.append(k)
            return [r[:k] for r in self.runs[: len(queries)]]

    dense, bm25 = Fixed(DENSE_RUNS), Fixed(BM25_RUNS)
    choice = choose_weight(DENSE_RUNS, BM25_RUNS, QUESTIONS, CHUNK_DOC, CHUNK_TEXT)
    write_weights(tmp_path / "hybrid.json", choice, depth=3)
    searcher = HybridSearcher(dense, bm25, **read_weights(tmp_path / "hybrid.json"))
    hits = searcher.search(["q1", "q2"], 1)
    assert [h[0][0] for h in hits] == ["a1", "b1"]
    assert dense.asked == bm25.asked == [3]
