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


# A question of stop words only ("what is the of it?"): BM25 matches nothing, yet bm25s fills its top k
# with score-0 chunks in arbitrary order; they are no evidence, so the dense order must win.
STOP_DENSE = [("a", 0.62), ("b", 0.55), ("c", 0.41)]
STOP_BM25 = [("x", 0.0), ("y", 0.0), ("a", 0.0)]


@pytest.mark.parametrize("method", ["score", "rrf"])
@pytest.mark.parametrize("weight", [0.1, 0.3, 0.5, 0.9])
def test_a_question_bm25_matches_nothing_keeps_the_dense_order(method, weight):
    assert [c for c, _ in fuse(STOP_DENSE, STOP_BM25, weight, method)] == ["a", "b", "c"]


def test_bm25s_zero_score_tail_gets_no_rrf_credit():
    fused = dict(fuse([("a", 0.9), ("b", 0.8)], [("c", 4.0), ("b", 0.0), ("d", 0.0)], 0.5, method="rrf", rrf_k=60))
    # b is dense rank 2 only (0.5/62), not also BM25 rank 2; d, a zero-score BM25 hit alone, is no hit at all
    assert {c: round(s, 6) for c, s in fused.items()} == {"a": round(0.5 / 61, 6), "c": round(0.5 / 61, 6),
                                                         "b": round(0.5 / 62, 6)}


def test_equal_scores_share_a_rank_and_only_then_the_chunk_id_decides():
    dense = [("b", 0.7), ("a", 0.7), ("c", 0.2)]  # b listed first, but a and b are tied
    bm25 = [("d", 3.0), ("c", 3.0), ("e", 1.0)]
    fused = rounded(fuse(dense, bm25, 0.5, method="rrf", rrf_k=60))
    # a, b: dense rank 1 (0.5/61); c: dense rank 3 and BM25 rank 1 (0.5/63 + 0.5/61); d: BM25 rank 1; e: rank 3
    assert fused == [("c", 0.016133), ("a", 0.008197), ("b", 0.008197), ("d", 0.008197), ("e", 0.007937)]
    assert [c for c, _ in fuse(dense, bm25, 1.0)] == ["a", "b", "c", "d", "e"]  # dense ties: by id, not list order
    assert [c for c, _ in fuse(dense, bm25, 0.0, method="rrf")] == ["c", "d", "e", "a", "b"]


def test_a_list_of_equal_scores_prefers_none_of_its_chunks():
    # min-max of a constant list is 0 for every hit, as for a missing chunk: BM25 alone orders them
    assert rounded(fuse([("a", 0.5), ("b", 0.5)], [("b", 2.0), ("c", 1.0), ("d", 0.5)], 0.9)) == [
        ("b", 0.1), ("c", 0.033333), ("a", 0.0), ("d", 0.0)]


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
