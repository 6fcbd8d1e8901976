import matplotlib.image

from ragft.report import plots

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


STATS = {"base": {"mean": 0.0, "lo": 0.0, "hi": 0.0}, "rag": {"mean": 0.35, "lo": 0.25, "hi": 0.45},
         "ft": {"mean": 0.2, "lo": 0.125, "hi": 0.3}, "judge_only": {"mean": None, "lo": None, "hi": None}}


def test_metric_bars_png(tmp_path):
    plots.metric_bars(STATS, "f1", tmp_path / "f1.png", "demo", n=150)
    png = (tmp_path / "f1.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    # three systems with a mean (one without is left out): the minimum width, 5.5 x 4.5 in at 150 dpi
    assert matplotlib.image.imread(tmp_path / "f1.png").shape[:2] == (675, 825)
    plots.metric_bars(STATS, "f1", tmp_path / "again.png", "demo", n=150)
    assert (tmp_path / "again.png").read_bytes() == png
    many = {f"system_{i}": {"mean": 0.1 * i, "lo": 0.05 * i, "hi": 0.15 * i} for i in range(7)}
    plots.metric_bars(many, "gold_nll", tmp_path / "nll.png")
    assert matplotlib.image.imread(tmp_path / "nll.png").shape[:2] == (675, int(150 * (1.1 * 7 + 2)))
    assert plots.METRIC_LABELS["gold_nll"] == "gold-answer NLL (nats per token, lower is better)"


def test_quality_vs_cost_png(tmp_path):
    points = {s: {"f1": st, "prompt_tokens": 26.4 + 100 * i, "latency_s": 0.01 * (i + 1),
                  "adapter": "qlora" if s == "ft" else "none"} for i, (s, st) in enumerate(STATS.items())}
    plots.quality_vs_cost(points, "f1", tmp_path / "cost.png", "demo")
    assert matplotlib.image.imread(tmp_path / "cost.png").shape[:2] == (675, 1650)  # 11 x 4.5 in
    plots.quality_vs_cost(points, "f1", tmp_path / "again.png", "demo")
    assert (tmp_path / "again.png").read_bytes() == (tmp_path / "cost.png").read_bytes()


def test_loss_curve_png(tmp_path):
    rows = [{"step": s, "loss": 5.0 - 0.1 * s, "learning_rate": 0.002, "tokens": 100 * s} for s in range(10, 110, 10)]
    plots.loss_curve(rows, tmp_path / "loss.png", title="qlora")
    assert (tmp_path / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert matplotlib.image.imread(tmp_path / "loss.png").shape[:2] == (675, 1050)  # 7 x 4.5 in at 150 dpi
    plots.loss_curve([], tmp_path / "empty.png", title="qlora")  # a run too short to log still gets a figure
    assert (tmp_path / "empty.png").stat().st_size > 0
