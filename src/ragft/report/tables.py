"""The report's tables: cells formatted here, written by pandas as Markdown, CSV, LaTeX and HTML."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence

import pandas as pd

from ragft.evaluate.metrics import (
    ANSWER_METRICS,
    paired_bootstrap_p,
    per_question,
    quality_stats,
)
from ragft.jsonl import write_text

P_INFIX = "_p_vs_"  # CSV column f"{metric}_p_vs_{reference}"
MISSING = "-"
COUNT_COLUMNS = ("n", "shots", "train_tokens", "truncated_prompts")  # shown as integers even when NaN made them float
COST_KEYS = ("train_tokens", "train_seconds", "device_hours", "train_device", "peak_memory_mb")
# The Markdown/LaTeX/HTML view's names for the columns it shows (the CSV keeps every column).
VIEW_NAMES = {"prompt_tokens": "prompt tokens/q", "latency_s": "s/q", "questions_per_s": "q/s",
              "truncated_prompts": "truncated", "train_tokens": "train tokens", "device_hours": "device-h"}
DECIMALS = {"prompt_tokens": 1, "prompt tokens/q": 1, "latency_s": 4, "s/q": 4, "questions_per_s": 1, "q/s": 1,
            "device_hours": 4, "device-h": 4}  # the rest: 3
_INTEGRAL = {*COUNT_COLUMNS, *(VIEW_NAMES[k] for k in COUNT_COLUMNS if k in VIEW_NAMES)}


def system_scores(predictions: list[dict], judge: list[dict] | None = None) -> dict[str, list[float]]:
    """Per-question scores of one system in id order: the answer metrics, plus the LLM judge's 0/1
    verdicts as `judge` when given."""
    scores = per_question(predictions)
    if judge is not None:
        verdict = {j["id"]: j["judge"] for j in judge}
        ids = sorted(p["id"] for p in predictions)
        missing = [i for i in ids if i not in verdict]
        if missing:
            raise ValueError(f"the judge has no verdict for {len(missing)} questions (first: {missing[0]})")
        scores["judge"] = [float(verdict[i]) for i in ids]
    return scores


def paired_p(scores: Mapping[str, Mapping[str, list[float]]], reference: str, n_boot: int = 1000,
             seed: int = 0) -> dict[str, dict[str, float]]:
    """Paired-bootstrap p of every other system against `reference` per metric both have
    (`scores[system][metric]` in one question order); {} without the reference."""
    if reference not in scores:
        return {}
    ref = scores[reference]
    return {
        system: {m: paired_bootstrap_p(mine[m], ref[m], n_boot, seed) for m in mine if m in ref}
        for system, mine in scores.items() if system != reference
    }


def add_missing_stats(stored: dict, scores: Mapping[str, Sequence[float]], n_boot: int = 1000,
                      seed: int = 0) -> dict:
    """A system's eval metrics.json plus the mean and interval of each scored metric it lacks (the
    judge's), bootstrapped as evaluate bootstrapped the rest: each interval is computed once."""
    n = len(next(iter(scores.values()), []))
    if stored.get("n") != n:  # the intervals kept must come from the predictions scored here
        raise ValueError(f"metrics.json counts {stored.get('n')} questions, the predictions {n}")
    return {**stored, **quality_stats({m: v for m, v in scores.items() if m not in stored}, n_boot, seed)}


def comparison_table(
    system_metrics: Mapping[str, dict],
    system_specs: Mapping[str, dict],
    paired: Mapping[str, Mapping[str, Mapping[str, float]]] | None = None,
    metrics: list[str] | tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """One row per system of its eval metrics.json (`system_metrics`): spec, metrics with intervals, p
    (`paired[reference][system][metric]`, blank on the reference's row), cost per question and training."""
    # metrics shown by default: the answer metrics, and `judge` where a system has it
    if metrics is None:
        metrics = [m for m in (*ANSWER_METRICS, "judge") if any(m in sm for sm in system_metrics.values())]
    cost_keys = [k for k in COST_KEYS if any(k in sm.get("cost", {}) for sm in system_metrics.values())]
    rows = []
    for system, m in system_metrics.items():
        spec = system_specs.get(system, {})
        adapter = spec.get("adapter", "none")
        if m.get("adapter_load"):  # how evaluation ran it: on the base it was trained on, or merged
            adapter = f"{adapter} ({m['adapter_load']})"
        row = {"system": system, "retriever": spec.get("retriever", "none"), "adapter": adapter,
               "shots": spec.get("shots", 0), "n": m["n"]}
        for metric in metrics:
            ci = m.get(metric) or {}
            for suffix, key in (("", "mean"), ("_lo", "lo"), ("_hi", "hi")):
                row[metric + suffix] = _num(ci.get(key))
        for reference, by_system in (paired or {}).items():
            for metric in metrics:
                p = None if system == reference else by_system.get(system, {}).get(metric)
                row[f"{metric}{P_INFIX}{reference}"] = _num(p)
        row["prompt_tokens"] = _num(m.get("prompt_tokens"))
        row["latency_s"] = _num(m.get("latency_s"))
        row["questions_per_s"] = _num(m.get("questions_per_s"))
        row["truncated_prompts"] = _num((m.get("truncated") or {}).get("prompts"))
        for k in cost_keys:
            v = m.get("cost", {}).get(k)
            row[k] = v if isinstance(v, str) else _num(v)
        rows.append(row)
    return pd.DataFrame(rows, columns=list(rows[0]) if rows else ["system"])


def table_view(df: pd.DataFrame, headline: list[str] | tuple[str, ...] = ("f1", "gold_nll")) -> pd.DataFrame:
    """The columns a reader needs, short names: spec, n, metrics with intervals, one `p(f1) vs base / rag`
    column per headline metric, cost per question, training cost; `truncated` only when a prompt was cut."""
    references = list(dict.fromkeys(c.split(P_INFIX, 1)[1] for c in df.columns if P_INFIX in c))
    metrics = [c for c in df.columns if f"{c}_lo" in df.columns]
    out = df[["system", "retriever", "adapter", "n"]].copy()
    for m in metrics:
        out[m], out[f"{m}_lo"], out[f"{m}_hi"] = df[m], df[f"{m}_lo"], df[f"{m}_hi"]
    for m in headline:
        cols = [f"{m}{P_INFIX}{r}" for r in references if f"{m}{P_INFIX}{r}" in df.columns]
        if cols:
            name = f"p({m}) vs {' / '.join(c.split(P_INFIX, 1)[1] for c in cols)}"
            out[name] = [" / ".join(_fmt(v) for v in vals) for vals in zip(*(df[c].tolist() for c in cols))]
    keep = ["prompt_tokens", "latency_s"]
    if "truncated_prompts" in df.columns and df["truncated_prompts"].fillna(0).gt(0).any():
        keep.append("truncated_prompts")
    keep += [c for c in ("train_tokens", "device_hours") if c in df.columns]
    for c in keep:
        out[VIEW_NAMES.get(c, c)] = df[c]
    return out


def _num(v) -> float:
    return math.nan if v is None else v


def _is_missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _fmt(v, integral: bool = False, decimals: int = 3) -> str:
    if _is_missing(v):
        return MISSING
    if isinstance(v, str):
        return v
    return str(round(v)) if integral else f"{float(v):.{decimals}f}"


def formatted(df: pd.DataFrame) -> tuple[pd.DataFrame, list[bool]]:
    """The frame as string cells (a metric's interval folded into its cell) and which columns are numeric."""
    cols = [c for c in df.columns if not (c.endswith(("_lo", "_hi")) and c[:-3] in df.columns)]
    cells, numeric = {}, []
    for c in cols:
        integral = pd.api.types.is_integer_dtype(df[c]) or c in _INTEGRAL
        text = [_fmt(v, integral, DECIMALS.get(c, 3)) for v in df[c].tolist()]
        if f"{c}_lo" in df.columns and f"{c}_hi" in df.columns:
            bounds = zip(df[c].tolist(), df[f"{c}_lo"].tolist(), df[f"{c}_hi"].tolist())
            text = [t if any(map(_is_missing, b)) else "{:.3f} [{:.3f}, {:.3f}]".format(*b)
                    for t, b in zip(text, bounds)]
        cells[c] = text
        numeric.append(pd.api.types.is_numeric_dtype(df[c]) or c.startswith("p("))  # p cells: "0.002 / 0.010"
    # object dtype: pandas 3 would infer its string dtype, and the writers should see plain text
    return pd.DataFrame(cells, columns=cols, dtype=object), numeric


def to_markdown(df: pd.DataFrame) -> str:
    """A GitHub (pipe) Markdown table, numeric columns right-aligned; needs `tabulate`."""
    cells, numeric = formatted(df)
    # numparse off: tabulate would re-format "0.2500" as 0.25 and "1000" with its own rules
    return cells.to_markdown(index=False, colalign=["right" if num else "left" for num in numeric],
                             disable_numparse=True) + "\n"


def to_csv(df: pd.DataFrame) -> str:
    """CSV with every column, floats as `%.6g` and `\\n` line ends, so reruns are byte-identical."""
    return df.to_csv(index=False, float_format="%.6g", lineterminator="\n")


def to_latex(df: pd.DataFrame) -> str:
    """A booktabs `tabular` (needs `\\usepackage{booktabs}`), special characters escaped; needs jinja2."""
    cells, numeric = formatted(df)
    return cells.to_latex(index=False, escape=True, column_format="".join("r" if num else "l" for num in numeric))


_HTML_STYLE = ("body{font-family:sans-serif;font-size:14px}table{border-collapse:collapse;margin-bottom:1em}"
               "th,td{padding:3px 8px;border-bottom:1px solid #ccc;white-space:nowrap}"
               "th{border-bottom:2px solid #333;text-align:left}")


def html_table(df: pd.DataFrame, uid: str = "table") -> str:
    """An HTML <table> (pandas' Styler, so jinja2), numeric columns right-aligned; `uid` scopes its CSS,
    so tables on one page need different ones."""
    from pandas.io.formats.style import Styler

    cells, numeric = formatted(df)
    right = {c: [{"selector": "", "props": "text-align: right"}] for c, num in zip(cells.columns, numeric) if num}
    # cell_ids off and a fixed uuid: the same table gives the same bytes on every rerun
    styler = Styler(cells, cell_ids=False).hide(axis="index").format(escape="html")
    return styler.format_index(escape="html", axis=1).set_table_styles(right).to_html(table_uuid=uid)


def html_page(title: str, *parts: str) -> str:
    """A self-contained HTML page (for Snakemake's report) of a title and HTML fragments."""
    from html import escape

    return "\n".join(["<!DOCTYPE html>", '<html><head><meta charset="utf-8">', f"<title>{escape(title)}</title>",
                      f"<style>{_HTML_STYLE}</style></head><body>", f"<h2>{escape(title)}</h2>" if title else "",
                      *parts, "</body></html>"]) + "\n"


def to_html(df: pd.DataFrame, title: str = "", note: str = "") -> str:
    """A self-contained HTML page of the table with an optional note under it."""
    from html import escape

    return html_page(title, html_table(df), f"<p>{escape(note)}</p>" if note else "")


def write_comparison(df: pd.DataFrame, out_md: str | os.PathLike, out_csv: str | os.PathLike,
                     out_tex: str | os.PathLike | None = None, out_html: str | os.PathLike | None = None,
                     headline: list[str] | tuple[str, ...] = ("f1", "gold_nll"), title: str = "",
                     note: str = "") -> None:
    """Write the comparison, each file atomically: the CSV with every column, the Markdown, LaTeX and
    HTML tables as `table_view` shows it (HTML with a title and a note)."""
    view = table_view(df, headline)
    write_text(out_md, to_markdown(view))
    write_text(out_csv, to_csv(df))
    if out_tex is not None:
        write_text(out_tex, to_latex(view))
    if out_html is not None:
        write_text(out_html, to_html(view, title, note))


def stats_note(n: int, n_boot: int, seed: int, references: list[str]) -> str:
    """The line that says how the table's intervals and p-values were computed."""
    refs = " and ".join(f"`{r}`" for r in references) or "none"
    return (f"n = {n} eval questions, the same for every system. Intervals: 95% percentile bootstrap over "
            f"questions ({n_boot} resamples, seed {seed}). p: two-sided paired bootstrap against {refs} on "
            f"the same questions. Cost: prompt tokens and seconds per question (batched generation); "
            f"train tokens and device-hours of the adapter a system uses.")


# ---- retrieval ------------------------------------------------------------------------


def retrieval_table(metrics: Mapping[str, dict]) -> pd.DataFrame:
    """One row per retriever of a retrieval/metrics.json: n, each metric (recall@k, MRR@10, ...) in the
    order they appear, and queries/s."""
    cols: list[str] = []
    for m in metrics.values():
        cols += [c for c in m if c not in cols and c not in ("n", "queries_per_s")]
    rows = [{"retriever": r, "n": m.get("n"), **{c: _num(m.get(c)) for c in cols},
             "queries_per_s": _num(m.get("queries_per_s"))} for r, m in metrics.items()]
    return pd.DataFrame(rows, columns=["retriever", "n", *cols, "queries_per_s"])


def hybrid_note(hybrid: Mapping | None) -> str:
    """One line on how the hybrid fusion was chosen ('' without hybrid weights)."""
    if not hybrid:
        return ""
    score = hybrid.get("score")
    return (f"hybrid: {hybrid['method']} fusion, dense weight {hybrid['weight']:g} (BM25 "
            f"{1 - hybrid['weight']:g}), chosen on {hybrid['n']} train questions by {hybrid['metric']}"
            + (f" ({score:.3f}; dense {hybrid['dense']:.3f}, bm25 {hybrid['bm25']:.3f})" if score is not None else "")
            + ".")


def retrieval_markdown(metrics: Mapping[str, dict], hybrid: Mapping | None = None) -> str:
    """The retrieval table in Markdown, with a line on how the hybrid fusion was chosen."""
    text = to_markdown(retrieval_table(metrics))
    return text + (f"\n{hybrid_note(hybrid)}\n" if hybrid else "")


# ---- several corpora --------------------------------------------------------------------


def corpora_tables(tables: Mapping[str, pd.DataFrame], metrics: list[str] | tuple[str, ...]) -> dict[str, pd.DataFrame]:
    """Per metric some corpus has: systems by corpora (`name (n=N)`), each cell the mean and interval from
    that corpus's comparison.csv, `-` where it lacks them."""
    systems = list(dict.fromkeys(s for t in tables.values() for s in t["system"]))
    out = {}
    for metric in metrics:
        if not any(metric in t.columns for t in tables.values()):
            continue
        cols: dict[str, list[str]] = {"system": systems}
        for corpus, t in tables.items():
            by_system = t.set_index("system")
            cells = []
            for s in systems:
                if metric not in t.columns or s not in by_system.index or _is_missing(by_system.at[s, metric]):
                    cells.append(MISSING)
                    continue
                v, lo, hi = (by_system.at[s, c] for c in (metric, f"{metric}_lo", f"{metric}_hi"))
                cells.append(f"{v:.3f}" if _is_missing(lo) or _is_missing(hi) else f"{v:.3f} [{lo:.3f}, {hi:.3f}]")
            cols[f"{corpus} (n={int(t['n'].max())})"] = cells
        out[metric] = pd.DataFrame(cols)
    return out


CORPORA_NOTE = ("Each cell: the system's mean over that corpus's eval questions with its 95% bootstrap interval "
                "(from results/{corpus}/report/comparison.csv); - where a corpus has no such system or metric.")


def corpora_markdown(tables: Mapping[str, pd.DataFrame], metrics: list[str] | tuple[str, ...]) -> str:
    """`results/report.md`: one systems-by-corpora table per metric."""
    lines = ["# Systems across corpora", "", CORPORA_NOTE, ""]
    for metric, df in corpora_tables(tables, metrics).items():
        lines += [f"## {metric}", "", to_markdown(df).rstrip("\n"), ""]
    return "\n".join(lines)


def corpora_html(tables: Mapping[str, pd.DataFrame], metrics: list[str] | tuple[str, ...]) -> str:
    """The same tables as `corpora_markdown`, as one HTML page for Snakemake's report."""
    from html import escape

    parts = [f"<p>{escape(CORPORA_NOTE)}</p>"]
    for i, (metric, df) in enumerate(corpora_tables(tables, metrics).items()):
        parts += [f"<h3>{escape(metric)}</h3>", html_table(df, f"corpora{i}")]
    return html_page("Systems across corpora", *parts)
