"""The comparison table: one row per system, rendered as Markdown, CSV and LaTeX."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping

import pandas as pd

from ragft.evaluate.metrics import ANSWER_METRICS, paired_bootstrap_p, per_question
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
    """Per-question scores of one system in id order: the answer metrics, plus `judge` (the LLM
    judge's 0/1 verdicts) when given."""
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
    """Paired-bootstrap p of every other system against `reference`, per metric both have, on the
    same questions (`scores[system][metric]` in the same question order); {} without the reference."""
    if reference not in scores:
        return {}
    ref = scores[reference]
    return {
        system: {m: paired_bootstrap_p(mine[m], ref[m], n_boot, seed) for m in mine if m in ref}
        for system, mine in scores.items() if system != reference
    }


def comparison_table(
    system_metrics: Mapping[str, dict],
    system_specs: Mapping[str, dict],
    paired: Mapping[str, Mapping[str, Mapping[str, float]]] | None = None,
    metrics: list[str] | tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """One row per system (in the order given): spec, each metric's mean and interval, p-values,
    then cost per question and the fine-tuning cost of the adapter it uses.

    `system_metrics[system]` is an eval metrics.json (`{metric: {mean, lo, hi}}`, `n`, cost);
    `paired[reference][system][metric]` a paired-bootstrap p, written as `{metric}_p_vs_{reference}`
    (blank on the reference's own row); `metrics` the metrics shown (default: the answer metrics
    and `judge` where present)."""
    if metrics is None:
        metrics = [m for m in (*ANSWER_METRICS, "judge") if any(m in sm for sm in system_metrics.values())]
    cost_keys = [k for k in COST_KEYS if any(k in sm.get("cost", {}) for sm in system_metrics.values())]
    rows = []
    for system, m in system_metrics.items():
        spec = system_specs.get(system, {})
        row = {"system": system, "retriever": spec.get("retriever", "none"),
               "adapter": spec.get("adapter", "none"), "shots": spec.get("shots", 0), "n": m["n"]}
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
    """The columns a reader of the Markdown, LaTeX and HTML tables needs, under short names: spec,
    n, every metric with its interval, one compact p column per headline metric (`p(f1) vs base /
    rag`: its p against each reference, `-` on the reference's own row), cost per question, and
    training tokens and device-hours where a system fine-tunes. `truncated` appears only when a
    prompt was cut."""
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


def _cells(df: pd.DataFrame) -> tuple[list[str], list[list[str]], list[bool]]:
    """Header, formatted rows and is-numeric flags, a metric's interval folded into its cell."""
    cols = [c for c in df.columns
            if not (c.endswith(("_lo", "_hi")) and c[:-3] in df.columns)]
    header, numeric, body = list(cols), [], [[] for _ in range(len(df))]
    for c in cols:
        col = df[c].tolist()
        is_num = pd.api.types.is_numeric_dtype(df[c]) or c.startswith("p(")  # p cells: "0.002 / 0.010"
        integral = pd.api.types.is_integer_dtype(df[c]) or c in _INTEGRAL
        numeric.append(is_num)
        for i, v in enumerate(col):
            cell = _fmt(v, integral, DECIMALS.get(c, 3))
            if f"{c}_lo" in df.columns and f"{c}_hi" in df.columns:
                lo, hi = df[f"{c}_lo"].iat[i], df[f"{c}_hi"].iat[i]
                if not (_is_missing(v) or _is_missing(lo) or _is_missing(hi)):
                    cell = f"{v:.3f} [{lo:.3f}, {hi:.3f}]"
            body[i].append(cell)
    return header, body, numeric


def to_markdown(df: pd.DataFrame) -> str:
    """A GitHub Markdown table; metrics read `0.123 [0.100, 0.150]`, numbers to 3 decimals."""
    header, body, numeric = _cells(df)
    widths = [max(3, len(h), *(len(r[j]) for r in body)) for j, h in enumerate(header)]

    def line(cells):
        return "| " + " | ".join(
            c.rjust(w) if num else c.ljust(w) for c, w, num in zip(cells, widths, numeric)
        ) + " |\n"

    rule = "|" + "|".join(("-" * (w + 1) + ":") if num else ("-" * (w + 2))
                          for w, num in zip(widths, numeric)) + "|\n"
    return line(header) + rule + "".join(line(r) for r in body)


def to_csv(df: pd.DataFrame) -> str:
    """CSV with every column, floats as `%.6g` and `\\n` line ends, so reruns are byte-identical."""
    return df.to_csv(index=False, float_format="%.6g", lineterminator="\n")


_TEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\^{}"}


def _tex(s: str) -> str:
    return "".join(_TEX_ESCAPES.get(ch, ch) for ch in s)


def to_latex(df: pd.DataFrame) -> str:
    """A booktabs `tabular` (needs `\\usepackage{booktabs}`), cells as in the Markdown table."""
    header, body, numeric = _cells(df)
    spec = "".join("r" if num else "l" for num in numeric)
    rows = [" & ".join(_tex(c) for c in header) + r" \\"]
    rows += [" & ".join(_tex(c) for c in r) + r" \\" for r in body]
    return "\n".join([rf"\begin{{tabular}}{{{spec}}}", r"\toprule", rows[0], r"\midrule",
                      *rows[1:], r"\bottomrule", r"\end{tabular}"]) + "\n"


_HTML_STYLE = ("body{font-family:sans-serif;font-size:14px}table{border-collapse:collapse;margin-bottom:1em}"
               "th,td{padding:3px 8px;border-bottom:1px solid #ccc;white-space:nowrap}"
               "th{border-bottom:2px solid #333}.num{text-align:right}.txt{text-align:left}")


def html_table(df: pd.DataFrame) -> str:
    """An HTML <table> of the frame, cells as in the Markdown table."""
    from html import escape

    header, body, numeric = _cells(df)

    def row(cells, tag):
        return "<tr>" + "".join(f'<{tag} class="{"num" if num else "txt"}">{escape(c)}</{tag}>'
                                for c, num in zip(cells, numeric)) + "</tr>"

    return "\n".join(["<table>", "<thead>" + row(header, "th") + "</thead>", "<tbody>",
                      *(row(r, "td") for r in body), "</tbody>", "</table>"])


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
    """Write the comparison, each file atomically: the CSV with every column, the Markdown, LaTeX
    and HTML tables as `table_view` shows it (HTML with a title and a note)."""
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
    """One row per retriever of a retrieval/metrics.json: n, recall@k, answer_recall@k, MRR@10,
    nDCG@10 and queries/s, metric columns in the order they appear."""
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
    """For each metric some corpus has: systems (rows) by corpora (columns, `name (n=N)`), each cell
    the mean and 95% interval from that corpus's comparison.csv, `-` where a corpus lacks it."""
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
    for metric, df in corpora_tables(tables, metrics).items():
        parts += [f"<h3>{escape(metric)}</h3>", html_table(df)]
    return html_page("Systems across corpora", *parts)
