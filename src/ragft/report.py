"""The comparison table: one row per system, rendered as Markdown, CSV and LaTeX."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping

import pandas as pd

from ragft.jsonl import write_text
from ragft.metrics import ANSWER_METRICS

P_SUFFIX = "_p_vs_base"
MISSING = "-"
COUNT_COLUMNS = ("n", "train_tokens")  # shown as integers even when NaN made them float


def comparison_table(
    system_metrics: Mapping[str, dict],
    system_specs: Mapping[str, dict],
    baseline: str = "base",
    paired: Mapping[str, Mapping[str, float]] | None = None,
) -> pd.DataFrame:
    """One row per system (in the order given): spec, metrics with intervals, p vs `baseline`, cost.

    `paired[system][metric]` is the paired-bootstrap p against the baseline (blank on its own
    row); each key of a system's optional `cost` (train_tokens, train_seconds, ...) is a column."""
    cost_keys: list[str] = []
    for m in system_metrics.values():
        cost_keys += [k for k in m.get("cost", {}) if k not in cost_keys]
    rows = []
    for system, m in system_metrics.items():
        spec = system_specs.get(system, {})
        row = {"system": system, "retriever": spec.get("retriever", "none"),
               "adapter": spec.get("adapter", "none"), "n": m["n"]}
        for metric in ANSWER_METRICS:
            ci = m.get(metric) or {}
            for suffix, key in (("", "mean"), ("_lo", "lo"), ("_hi", "hi")):
                row[metric + suffix] = _num(ci.get(key))
        if paired is not None:
            for metric in ANSWER_METRICS:
                p = None if system == baseline else paired.get(system, {}).get(metric)
                row[metric + P_SUFFIX] = _num(p)
        row["prompt_tokens"] = _num(m.get("prompt_tokens"))
        row["latency_s"] = _num(m.get("latency_s"))
        for k in cost_keys:
            row[k] = _num(m.get("cost", {}).get(k))
        rows.append(row)
    return pd.DataFrame(rows, columns=list(rows[0]) if rows else ["system"])


def _num(v) -> float:
    return math.nan if v is None else v


def _is_missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _fmt(v, integral: bool = False) -> str:
    if _is_missing(v):
        return MISSING
    if isinstance(v, str):
        return v
    return str(round(v)) if integral else f"{float(v):.3f}"


def _cells(df: pd.DataFrame) -> tuple[list[str], list[list[str]], list[bool]]:
    """Header, formatted rows and is-numeric flags, a metric's interval folded into its cell."""
    cols = [c for c in df.columns
            if not (c.endswith(("_lo", "_hi")) and c[:-3] in df.columns)]
    header, numeric, body = list(cols), [], [[] for _ in range(len(df))]
    for c in cols:
        col = df[c].tolist()
        is_num = pd.api.types.is_numeric_dtype(df[c])
        integral = pd.api.types.is_integer_dtype(df[c]) or c in COUNT_COLUMNS
        numeric.append(is_num)
        for i, v in enumerate(col):
            cell = _fmt(v, integral)
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


def write_comparison(df: pd.DataFrame, out_md: str | os.PathLike, out_csv: str | os.PathLike,
                     out_tex: str | os.PathLike | None = None) -> None:
    """Write the table as Markdown, CSV and (optionally) LaTeX, each atomically."""
    write_text(out_md, to_markdown(df))
    write_text(out_csv, to_csv(df))
    if out_tex is not None:
        write_text(out_tex, to_latex(df))


def paired_vs(predictions: Mapping[str, list[dict]], baseline: str = "base", n_boot: int = 1000, seed: int = 0) -> dict:
    """Paired-bootstrap p of each system against `baseline` for every answer metric, on the same questions."""
    from ragft.metrics import paired_bootstrap_p, per_question

    if baseline not in predictions:
        return {}
    base = per_question(predictions[baseline])
    out = {}
    for system, preds in predictions.items():
        if system == baseline:
            continue
        mine = per_question(preds)
        out[system] = {m: paired_bootstrap_p(mine[m], base[m], n_boot, seed) for m in ANSWER_METRICS
                       if not any(math.isnan(v) for v in mine[m] + base[m])}
    return out


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


def retrieval_markdown(metrics: Mapping[str, dict], hybrid: Mapping | None = None) -> str:
    """The retrieval table in Markdown, with a line on how the hybrid fusion was chosen."""
    text = to_markdown(retrieval_table(metrics))
    if hybrid:
        score = hybrid.get("score")
        text += (f"\nhybrid: {hybrid['method']} fusion, dense weight {hybrid['weight']:g} (BM25 "
                 f"{1 - hybrid['weight']:g}), chosen on {hybrid['n']} train questions by {hybrid['metric']}"
                 + (f" ({score:.3f}; dense {hybrid['dense']:.3f}, bm25 {hybrid['bm25']:.3f})" if score is not None else "")
                 + ".\n")
    return text
