"""The report's plots: one small function per plot, each writing one PNG (matplotlib, no display)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

DPI = 150


def _save(fig, path: str | os.PathLike) -> None:
    """Write the figure as PNG without a timestamp, so reruns give the same bytes."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(path).with_name(f".{Path(path).name}.tmp.png")
    fig.savefig(tmp, dpi=DPI, metadata={"Software": None})
    plt.close(fig)
    os.replace(tmp, path)


def recall_at_k(metrics: Mapping[str, dict], path: str | os.PathLike, title: str = "Retrieval recall@k") -> None:
    """recall@k (gold doc, solid) and answer_recall@k (answer string in a chunk, dashed) against
    k for every retriever of a retrieval/metrics.json."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ks_seen: set[int] = set()
    last = len(metrics) - 1
    for i, (retriever, m) in enumerate(metrics.items()):
        color = f"C{i}"
        # earlier retrievers are drawn wider underneath, so a curve equal to a later one still shows
        width, size = 1.2 + 1.3 * (last - i), 3.5 + 2.0 * (last - i)
        for prefix, style, label in (("recall", "-o", "gold doc"), ("answer_recall", "--s", "answer string")):
            pts = sorted((int(mt.group(1)), v) for key, v in m.items()
                         if (mt := re.fullmatch(rf"{prefix}@(\d+)", key)) and v is not None)
            if pts:
                ks_seen.update(k for k, _ in pts)
                ax.plot([k for k, _ in pts], [v for _, v in pts], style, color=color, markersize=size, linewidth=width,
                        alpha=0.75, label=f"{retriever}: {label}")
    ax.set_xscale("log")
    ticks = sorted(ks_seen)
    ax.set_xticks(ticks, [str(k) for k in ticks])
    ax.minorticks_off()
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("k (chunks retrieved per question)")
    ax.set_ylabel("recall@k (share of eval questions)")
    n = next((m.get("n") for m in metrics.values() if m.get("n")), None)
    ax.set_title(f"{title} ({n} questions)" if n else title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    _save(fig, path)


def loss_curve(rows: list[dict], path: str | os.PathLike, title: str = "Fine-tuning") -> None:
    """The training loss of one fine-tuning run (train_log.jsonl rows) against its optimiser steps,
    with the learning rate on a second axis."""
    from matplotlib.ticker import FuncFormatter

    fig, ax = plt.subplots(figsize=(7, 4.5))
    if rows:
        steps = [r["step"] for r in rows]
        ax.plot(steps, [r["loss"] for r in rows], "-o", color="C0", markersize=3, label="training loss")
        lr = ax.twinx()
        lr.plot(steps, [r["learning_rate"] for r in rows], "--", color="C7", linewidth=1, label="learning rate")
        lr.set_ylabel("learning rate")
        lr.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.legend(handles=ax.get_lines() + lr.get_lines(), fontsize=8, loc="upper right")
    else:
        ax.text(0.5, 0.5, "no loss logged (the run was shorter than log_every)", ha="center", va="center",
                transform=ax.transAxes)
    ax.set_xlabel("optimiser step")
    ax.set_ylabel("training loss (nats per scored token)")
    ax.set_title(f"{title}: training loss")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    _save(fig, path)


# What each answer metric measures, as an axis label with its unit and direction.
METRIC_LABELS = {
    "exact_match": "exact match (share of questions, higher is better)",
    "f1": "token F1, SQuAD (0-1, higher is better)",
    "rouge_l": "ROUGE-L F1 (0-1, higher is better)",
    "accuracy": "gold answer contained (share, higher is better)",
    "gold_nll": "gold-answer NLL (nats per token, lower is better)",
    "judge": "LLM judge: correct (share, higher is better)",
}


def _label(metric: str) -> str:
    return METRIC_LABELS.get(metric, metric)


def metric_bars(stats: Mapping[str, Mapping], metric: str, path: str | os.PathLike, title: str = "",
                n: int | None = None) -> None:
    """One bar per system (in the order given) at its mean of `metric`, with its 95%
    interval as a whisker and the value written on the bar; `stats[system]` is `{mean, lo, hi}`."""
    systems = [s for s, st in stats.items() if st.get("mean") is not None]
    fig, ax = plt.subplots(figsize=(max(5.5, 1.1 * len(systems) + 2), 4.5))
    means = [stats[s]["mean"] for s in systems]
    lo = [stats[s]["mean"] - stats[s]["lo"] for s in systems]
    hi = [stats[s]["hi"] - stats[s]["mean"] for s in systems]
    x = range(len(systems))
    ax.bar(x, means, color=[f"C{i}" for i in x], alpha=0.85, yerr=[lo, hi], capsize=5,
           error_kw={"elinewidth": 1.2, "ecolor": "black"})
    top = max([stats[s]["hi"] for s in systems] + [0.0])
    top = top if top > 1e-9 else 1.0  # every system at zero: a 0-1 axis still reads
    for i, s in enumerate(systems):
        ax.text(i, stats[s]["hi"] + 0.02 * top, f"{means[i]:.3f}", ha="center", va="bottom", fontsize=9)
    ax.set_xticks(list(x), systems, rotation=20 if len(systems) > 5 else 0, ha="right" if len(systems) > 5 else "center")
    ax.set_ylim(0, top * 1.15)
    ax.set_ylabel(_label(metric))
    ax.set_xlabel("system")
    what = f"{title}: {metric}" if title else metric
    ax.set_title(f"{what} (mean, 95% interval; n = {n})" if n else f"{what} (mean, 95% interval)",
                 fontsize=11)
    ax.grid(True, axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    fig.tight_layout()
    _save(fig, path)


def quality_vs_cost(points: Mapping[str, Mapping], metric: str, path: str | os.PathLike, title: str = "") -> None:
    """Each system's `metric` (`points[system][metric]` is `{mean, lo, hi}`) against its prompt tokens
    (left) and seconds (right) per question; fine-tuned systems are squares."""
    # bar-plot colours (system order) and a legend beside the panels, not labels at the points:
    # systems of the same cost would cover each other's labels
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
    shown = {s: pt for s, pt in points.items() if (pt.get(metric) or {}).get("mean") is not None}
    ys = [v for pt in shown.values() for v in (pt[metric]["lo"], pt[metric]["hi"])] or [0.0, 1.0]
    for ax, cost, xlabel in ((axes[0], "prompt_tokens", "prompt tokens per question"),
                             (axes[1], "latency_s", "seconds per question (batched generation)")):
        for i, (system, pt) in enumerate(points.items()):
            if system not in shown or pt.get(cost) is None:
                continue
            q, x = pt[metric], pt[cost]
            marker = "s" if pt.get("adapter", "none") != "none" else "o"
            ax.errorbar([x], [q["mean"]], yerr=[[q["mean"] - q["lo"]], [q["hi"] - q["mean"]]], fmt=marker,
                        color=f"C{i}", capsize=4, markersize=7, alpha=0.85, label=system)
        ax.set_xlabel(xlabel)
        ax.grid(True, alpha=0.3)
        ax.margins(x=0.1, y=0.1)
    if metric not in ("gold_nll",):  # shares and F-scores live in [0, 1]
        top = max(ys) * 1.2 if max(ys) > 0 else 1.0
        axes[0].set_ylim(-0.03 * top, top)
    axes[0].set_ylabel(_label(metric))
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="center right", fontsize=9, title="system", title_fontsize=9, frameon=False)
    what = f"{title}: {metric} against cost per question" if title else f"{metric} against cost per question"
    fig.suptitle(f"{what}\n(circle: prompt only, square: fine-tuned; whiskers: 95% interval)", fontsize=10)
    fig.tight_layout(rect=(0, 0, 0.86, 1))
    _save(fig, path)
