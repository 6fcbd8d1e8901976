"""The report's plots show the numbers they are given: bar heights, whiskers, points and curves are
read back from the matplotlib figures each plot function saves, and the PNGs repeat byte for byte."""

import matplotlib.colors
import matplotlib.image
import pytest

from ragft.report import plots

METRICS = {  # dense's keys out of k order: the curves still run 1, 3, 10
    "dense": {"recall@10": 1.0, "recall@1": 0.5, "recall@3": 0.75, "answer_recall@3": 0.5, "answer_recall@10": 0.75,
              "answer_recall@1": 0.25, "mrr@10": 0.6, "queries_per_s": 120.0, "n": 4},
    "bm25": {"recall@1": 0.75, "recall@3": 1.0, "recall@10": 1.0, "answer_recall@1": 0.5, "answer_recall@3": 0.75,
             "answer_recall@10": 1.0, "mrr@10": 0.8, "queries_per_s": 900.0, "n": 4},
}
# ft's interval is lopsided (0.075 below, 0.1 above), so whiskers drawn the wrong way round show
STATS = {"base": {"mean": 0.0, "lo": 0.0, "hi": 0.0}, "rag": {"mean": 0.35, "lo": 0.25, "hi": 0.45},
         "ft": {"mean": 0.2, "lo": 0.125, "hi": 0.3}, "judge_only": {"mean": None, "lo": None, "hi": None}}


@pytest.fixture
def drawn(monkeypatch):
    """Every figure the plot functions save, kept to be read after its PNG is written."""
    figures, save = [], plots._save

    def keep(fig, path):
        figures.append(fig)
        save(fig, path)

    monkeypatch.setattr(plots, "_save", keep)
    return figures


def _whiskers(container) -> list[tuple[float, float, float]]:
    """(x, lower end, upper end) of each whisker of an errorbar container."""
    return [(seg[0][0], seg[0][1], seg[1][1]) for seg in container.lines[2][0].get_segments()]


def test_recall_at_k_draws_each_retrievers_curves(tmp_path, drawn):
    plots.recall_at_k(METRICS, tmp_path / "plots" / "recall_at_k.png", "Retrieval recall@k on demo")
    [fig] = drawn
    ax = fig.axes[0]
    curves = [(line.get_label(), list(line.get_xdata()), list(line.get_ydata()), line.get_linestyle())
              for line in ax.get_lines()]
    assert curves == [("dense: gold doc", [1, 3, 10], [0.5, 0.75, 1.0], "-"),
                      ("dense: answer string", [1, 3, 10], [0.25, 0.5, 0.75], "--"),
                      ("bm25: gold doc", [1, 3, 10], [0.75, 1.0, 1.0], "-"),
                      ("bm25: answer string", [1, 3, 10], [0.5, 0.75, 1.0], "--")]
    assert [line.get_color() for line in ax.get_lines()] == ["C0", "C0", "C1", "C1"]
    assert ax.get_xscale() == "log" and list(ax.get_xticks()) == [1, 3, 10] and ax.get_ylim() == (0, 1.02)
    assert ax.get_title() == "Retrieval recall@k on demo (4 questions)"
    assert ax.get_xlabel() == "k (chunks retrieved per question)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [line.get_label() for line in ax.get_lines()]

    png = (tmp_path / "plots" / "recall_at_k.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert matplotlib.image.imread(tmp_path / "plots" / "recall_at_k.png").shape[:2] == (675, 1050)  # 7 x 4.5 in, 150 dpi
    plots.recall_at_k(METRICS, tmp_path / "again.png", "Retrieval recall@k on demo")
    assert (tmp_path / "again.png").read_bytes() == png  # no timestamp: reruns give the same file
    assert [p.name for p in tmp_path.rglob("*.tmp.png")] == []


def test_metric_bars_show_means_and_intervals(tmp_path, drawn):
    plots.metric_bars(STATS, "f1", tmp_path / "f1.png", "demo", n=150)
    ax = drawn[0].axes[0]
    bars = ax.patches  # judge_only, without a mean, is left out
    assert [(b.get_x() + b.get_width() / 2, b.get_height()) for b in bars] == [(0, 0.0), (1, 0.35), (2, 0.2)]
    assert [b.get_facecolor()[:3] for b in bars] == [matplotlib.colors.to_rgb(f"C{i}") for i in range(3)]
    [whiskers] = [c for c in ax.containers if type(c).__name__ == "ErrorbarContainer"]
    assert _whiskers(whiskers) == [(0, 0.0, 0.0), (1, 0.25, 0.45), (2, 0.125, 0.3)]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["base", "rag", "ft"]
    assert [t.get_text() for t in ax.texts] == ["0.000", "0.350", "0.200"]
    # each value just above its whisker: hi + 2% of the highest hi (0.45)
    assert [t.get_position() for t in ax.texts] == [(0, pytest.approx(0.009)), (1, 0.459), (2, pytest.approx(0.309))]
    assert ax.get_ylim() == (0, 0.45 * 1.15)
    assert ax.get_ylabel() == "token F1, SQuAD (0-1, higher is better)" and ax.get_xlabel() == "system"
    assert ax.get_title() == "demo: f1 (mean, 95% interval; n = 150)"
    assert tuple(drawn[0].get_size_inches()) == (5.5, 4.5)  # three bars: the minimum width
    png = (tmp_path / "f1.png").read_bytes()
    assert matplotlib.image.imread(tmp_path / "f1.png").shape[:2] == (675, 825)  # 5.5 x 4.5 in at 150 dpi
    plots.metric_bars(STATS, "f1", tmp_path / "again.png", "demo", n=150)
    assert (tmp_path / "again.png").read_bytes() == png


def test_metric_bars_of_many_systems_widen_and_slant_their_names(tmp_path, drawn):
    many = {f"system_{i}": {"mean": 0.1 * i, "lo": 0.05 * i, "hi": 0.15 * i} for i in range(7)}
    plots.metric_bars(many, "gold_nll", tmp_path / "nll.png")
    ax = drawn[0].axes[0]
    assert [b.get_height() for b in ax.patches] == [0.1 * i for i in range(7)]
    assert [t.get_text() for t in ax.get_xticklabels()] == list(many)
    assert {t.get_rotation() for t in ax.get_xticklabels()} == {20}
    assert ax.get_ylabel() == "gold-answer NLL (nats per token, lower is better)"
    assert ax.get_title() == "gold_nll (mean, 95% interval)"
    assert tuple(drawn[0].get_size_inches()) == pytest.approx((1.1 * 7 + 2, 4.5))
    assert matplotlib.image.imread(tmp_path / "nll.png").shape[:2] == (675, int(150 * (1.1 * 7 + 2)))


def test_quality_vs_cost_places_each_system_at_its_cost(tmp_path, drawn):
    points = {s: {"f1": st, "prompt_tokens": 26.4 + 100 * i, "latency_s": 0.01 * (i + 1),
                  "adapter": "qlora" if s == "ft" else "none"} for i, (s, st) in enumerate(STATS.items())}
    plots.quality_vs_cost(points, "f1", tmp_path / "cost.png", "demo")
    fig = drawn[0]
    tokens, seconds = fig.axes
    for ax, xs in ((tokens, [26.4, 126.4, 226.4]), (seconds, [0.01, 0.02, 0.03])):
        shown = [(c.get_label(), *c.lines[0].get_xydata()[0], c.lines[0].get_marker(), c.lines[0].get_color())
                 for c in ax.containers]
        # judge_only has no mean and is left out; the fine-tuned system is a square; colours as the bars'
        assert shown == [("base", xs[0], 0.0, "o", "C0"), ("rag", xs[1], 0.35, "o", "C1"), ("ft", xs[2], 0.2, "s", "C2")]
        assert [_whiskers(c) for c in ax.containers] == [
            [(xs[0], 0.0, 0.0)], [(xs[1], 0.25, 0.45)], [(xs[2], 0.125, 0.3)]]
        assert ax.get_ylim() == pytest.approx((-0.03 * 0.54, 0.54))  # up to 1.2 x the highest interval end
    assert tokens.get_xlabel() == "prompt tokens per question"
    assert seconds.get_xlabel() == "seconds per question (batched generation)"
    assert tokens.get_ylabel() == "token F1, SQuAD (0-1, higher is better)"
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["base", "rag", "ft"]
    assert fig.get_suptitle().startswith("demo: f1 against cost per question\n")
    assert matplotlib.image.imread(tmp_path / "cost.png").shape[:2] == (675, 1650)  # 11 x 4.5 in
    plots.quality_vs_cost(points, "f1", tmp_path / "again.png", "demo")
    assert (tmp_path / "again.png").read_bytes() == (tmp_path / "cost.png").read_bytes()


def test_loss_curve_draws_loss_and_learning_rate_by_step(tmp_path, drawn):
    rows = [{"step": s, "loss": 5.0 - 0.01 * s, "learning_rate": 0.002 * (1 - s / 200), "tokens": 100 * s}
            for s in range(10, 110, 10)]
    plots.loss_curve(rows, tmp_path / "loss.png", title="qlora")
    loss_ax, lr_ax = drawn[0].axes
    [loss] = loss_ax.get_lines()
    [lr] = lr_ax.get_lines()
    assert list(loss.get_xdata()) == list(range(10, 110, 10)) == list(lr.get_xdata())
    assert list(loss.get_ydata()) == [r["loss"] for r in rows]
    assert list(lr.get_ydata()) == [r["learning_rate"] for r in rows]
    assert (loss_ax.get_ylabel(), lr_ax.get_ylabel()) == ("training loss (nats per scored token)", "learning rate")
    assert loss_ax.get_xlabel() == "optimiser step" and loss_ax.get_title() == "qlora: training loss"
    assert [t.get_text() for t in loss_ax.get_legend().get_texts()] == ["training loss", "learning rate"]
    assert matplotlib.image.imread(tmp_path / "loss.png").shape[:2] == (675, 1050)  # 7 x 4.5 in at 150 dpi

    plots.loss_curve([], tmp_path / "empty.png", title="qlora")  # a run too short to log still gets a figure
    [empty] = drawn[1].axes
    assert empty.get_lines() == [] and [t.get_text() for t in empty.texts] == [
        "no loss logged (the run was shorter than log_every)"]
    assert matplotlib.image.imread(tmp_path / "empty.png").shape[:2] == (675, 1050)
