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
    for i, (retriever, m) in enumerate(metrics.items()):
        color = f"C{i}"
        for prefix, style, label in (("recall", "-o", "gold doc"), ("answer_recall", "--s", "answer string")):
            pts = sorted((int(mt.group(1)), v) for key, v in m.items()
                         if (mt := re.fullmatch(rf"{prefix}@(\d+)", key)) and v is not None)
            if pts:
                ks_seen.update(k for k, _ in pts)
                ax.plot([k for k, _ in pts], [v for _, v in pts], style, color=color, markersize=4,
                        label=f"{retriever}: {label}")
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
