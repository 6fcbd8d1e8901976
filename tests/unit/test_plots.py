import matplotlib.image

from ragft import plots

METRICS = {
    "dense": {"recall@1": 0.5, "recall@3": 0.75, "recall@10": 1.0, "answer_recall@1": 0.25, "answer_recall@3": 0.5,
              "answer_recall@10": 0.75, "mrr@10": 0.6, "queries_per_s": 120.0, "n": 4},
    "bm25": {"recall@1": 0.75, "recall@3": 1.0, "recall@10": 1.0, "answer_recall@1": 0.5, "answer_recall@3": 0.75,
             "answer_recall@10": 1.0, "mrr@10": 0.8, "queries_per_s": 900.0, "n": 4},
}


def test_recall_at_k_plot_is_a_png_of_fixed_size_and_bytes(tmp_path):
    plots.recall_at_k(METRICS, tmp_path / "plots" / "recall_at_k.png", "Retrieval recall@k on demo")
    png = (tmp_path / "plots" / "recall_at_k.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert matplotlib.image.imread(tmp_path / "plots" / "recall_at_k.png").shape[:2] == (675, 1050)  # 7 x 4.5 in at 150 dpi
    plots.recall_at_k(METRICS, tmp_path / "again.png", "Retrieval recall@k on demo")
    assert (tmp_path / "again.png").read_bytes() == png  # no timestamp: reruns give the same file
    assert [p.name for p in tmp_path.rglob("*.tmp.png")] == []
