"""The report's tables: cells formatted here, written by pandas as Markdown, CSV, LaTeX and HTML."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ragft.evaluate.metrics import ANSWER_METRICS, per_question
from ragft.jsonl import write_text
from ragft.report.stats import Scores, format_p, holm, interval, paired_p

P_INFIX = "_p_vs_"  # CSV column f"{metric}_p_vs_{reference}"
HOLM_INFIX = "_holm_vs_"  # CSV column f"{metric}_holm_vs_{reference}": the same p, Holm-adjusted
SEED_KEYS = ("seed_min", "seed_max", "seed_sd")  # a metric's spread over training-seed replicates
MISSING = "-"
COUNT_COLUMNS = ("n", "shots", "replicates", "train_tokens", "truncated_prompts", "cut_answers")  # shown as integers even when NaN made them float
COST_KEYS = ("train_tokens", "train_seconds", "device_hours", "train_device", "peak_memory_mb")
# The Markdown/LaTeX/HTML view's names for the columns it shows (the CSV keeps every column).
VIEW_NAMES = {"prompt_tokens": "prompt tokens/q", "latency_s": "s/q", "questions_per_s": "q/s", "truncated_prompts": "truncated",
              "cut_answers": "cut answers", "train_tokens": "train tokens", "device_hours": "device-h"}
DECIMALS = {"prompt_tokens": 1, "prompt tokens/q": 1, "latency_s": 4, "s/q": 4, "questions_per_s": 1, "q/s": 1,
            "device_hours": 4, "device-h": 4}  # the rest: 3
_INTEGRAL = {*COUNT_COLUMNS, *(VIEW_NAMES[k] for k in COUNT_COLUMNS if k in VIEW_NAMES)}


def system_scores(predictions: list[dict], judge: list[dict] | None = None) -> dict[str, list]:
    """Per-question scores of one system in id order (the ids under `id`): the answer metrics, plus
    the LLM judge's 0/1 verdicts as `judge` when given."""
    scores = per_question(predictions)
    if judge is not None:
        verdict = {j["id"]: j["judge"] for j in judge}
        missing = [i for i in scores["id"] if i not in verdict]
        if missing:
            raise ValueError(f"the judge has no verdict for {len(missing)} questions (first: {missing[0]})")
        scores["judge"] = [float(verdict[i]) for i in scores["id"]]
    return scores


def p_values(scores: Mapping[str, Scores], reference: str, n_boot: int = 1000,
           seed: int = 0) -> dict[str, dict[str, float]]:
    """Paired-bootstrap p (stats.paired_p: questions matched by id, replicates two-level) of every
    other system against `reference`, per metric both have; {} without the reference."""
    if reference not in scores:
        return {}
    ref = scores[reference]
    return {
        system: {m: paired_p(mine, ref, m, n_boot, seed) for m in mine.values if m in ref.values}
        for system, mine in scores.items() if system != reference
    }


def holm_adjusted(p: Mapping[str, Mapping[str, Mapping[str, float]]]) -> dict[str, dict[str, dict[str, float]]]:
    """`p[reference][system][metric]` adjusted by Holm within each metric's family: the table's distinct
    comparisons of that metric (`rag` against `base` and `base` against `rag` are one)."""
    families: dict[str, dict[frozenset, float]] = {}
    for reference, by_system in p.items():
        for system, by_metric in by_system.items():
            for metric, value in by_metric.items():
                families.setdefault(metric, {}).setdefault(frozenset((reference, system)), value)
    adjusted = {metric: dict(zip(family, holm(list(family.values())))) for metric, family in families.items()}
    return {reference: {system: {m: adjusted[m][frozenset((reference, system))] for m in by_metric}
                        for system, by_metric in by_system.items()} for reference, by_system in p.items()}


def system_stats(runs: Sequence[dict], scores: Scores, n_boot: int = 1000, seed: int = 0) -> dict:
    """A system's row data from the metrics.json of each of its runs (one per replicate) and its scores:
    each scored metric's mean, interval and spread over replicates (stats.interval), the cost per question
    and the training cost per adapter, averaged over the runs; answers cut at max_new_tokens summed over them."""
    for run in runs:
        if run.get("n") != len(scores.ids):  # the predictions scored here must be those evaluate counted
            raise ValueError(f"metrics.json counts {run.get('n')} questions, the predictions {len(scores.ids)}")
    out = {k: v for k, v in runs[0].items() if k not in scores.values}
    out.update({m: interval(m, v, n_boot, seed) for m, v in scores.values.items()})
    out["replicates"] = len(runs)
    for key in ("prompt_tokens", "latency_s", "questions_per_s"):
        values = [r[key] for r in runs if r.get(key) is not None]
        out[key] = float(np.mean(values)) if values else None
    if all("cut" in r for r in runs):  # the runs' answers together: n per run
        cut = sum(r["cut"]["answers"] for r in runs)
        out["cut"] = {"answers": cut, "share": cut / max(1, sum(r["n"] for r in runs))}
    if "cost" in runs[0]:  # numbers averaged over the replicates' adapters (seeds order batches differently)
        out["cost"] = {k: float(np.mean([r["cost"][k] for r in runs])) if _numeric(v) else v
                       for k, v in runs[0]["cost"].items()}
    return out


def comparison_table(
    system_metrics: Mapping[str, dict],
    system_specs: Mapping[str, dict],
    paired: Mapping[str, Mapping[str, Mapping[str, float]]] | None = None,
    metrics: list[str] | tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """One row per system of its `system_stats` (`system_metrics`): spec, metrics with intervals (and,
    where a system has training-seed replicates, their count and each metric's spread over them), p
    (`paired[reference][system][metric]`, blank on the reference's row) and its Holm adjustment, cost
    per question (and answers cut at max_new_tokens: `cut_answers`, `cut_share`) and training."""
    # metrics shown by default: the answer metrics, and `judge` where a system has it
    if metrics is None:
        metrics = [m for m in (*ANSWER_METRICS, "judge") if any(m in sm for sm in system_metrics.values())]
    cost_keys = [k for k in COST_KEYS if any(k in sm.get("cost", {}) for sm in system_metrics.values())]
    replicated = any(sm.get("replicates", 1) > 1 for sm in system_metrics.values())
    adjusted = holm_adjusted(paired or {})
    rows = []
    for system, m in system_metrics.items():
        spec = system_specs.get(system, {})
        adapter = spec.get("adapter", "none")
        if m.get("adapter_load"):  # how evaluation ran it: on the base it was trained on, or merged
            adapter = f"{adapter} ({m['adapter_load']})"
        row = {"system": system, "retriever": spec.get("retriever", "none"), "adapter": adapter,
               "shots": spec.get("shots", 0), "n": m["n"]}
        if replicated:
            row["replicates"] = m.get("replicates", 1)
        for metric in metrics:
            ci = m.get(metric) or {}
            for suffix, key in (("", "mean"), ("_lo", "lo"), ("_hi", "hi"), *((f"_{k}", k) for k in SEED_KEYS)):
                if replicated or key in ("mean", "lo", "hi"):
                    row[metric + suffix] = _num(ci.get(key))
        for infix, table in ((P_INFIX, paired or {}), (HOLM_INFIX, adjusted)):
            for reference, by_system in table.items():
                for metric in metrics:
                    p = None if system == reference else by_system.get(system, {}).get(metric)
                    row[f"{metric}{infix}{reference}"] = _num(p)
        row["prompt_tokens"] = _num(m.get("prompt_tokens"))
        row["latency_s"] = _num(m.get("latency_s"))
        row["questions_per_s"] = _num(m.get("questions_per_s"))
        row["truncated_prompts"] = _num((m.get("truncated") or {}).get("prompts"))
        row["cut_answers"], row["cut_share"] = (_num((m.get("cut") or {}).get(k)) for k in ("answers", "share"))
        for k in cost_keys:
            v = m.get("cost", {}).get(k)
            row[k] = v if isinstance(v, str) else _num(v)
        rows.append(row)
    return pd.DataFrame(rows, columns=list(rows[0]) if rows else ["system"])


def _p_cells(df: pd.DataFrame, metric: str, infix: str, n_boot: int) -> tuple[list[str], list[str]]:
    """(references, cells `p vs ref1 / p vs ref2` per row) of one metric's p columns."""
    cols = [c for c in df.columns if c.startswith(metric + infix)]
    refs = [c[len(metric + infix):] for c in cols]
    cells = [" / ".join(MISSING if _is_missing(v) else format_p(v, n_boot) for v in vals)
             for vals in zip(*(df[c].tolist() for c in cols))]
    return refs, cells


def table_view(df: pd.DataFrame, headline: list[str] | tuple[str, ...] = ("f1", "gold_nll"),
               n_boot: int = 1000) -> pd.DataFrame:
    """The columns a reader needs, short names: spec, n (and replicates), metrics with intervals, per headline
    metric its `p(f1) vs base / rag` and `Holm` columns (p at the floor of `n_boot` resamples as `< 0.002`)
    and, with replicates, its range over seeds; cost per question, training cost; `truncated` only when a
    prompt was cut; `cut answers` (0 included) wherever evaluation counted them."""
    metrics = [c for c in df.columns if f"{c}_lo" in df.columns]
    out = df[["system", "retriever", "adapter", "n", *(["replicates"] if "replicates" in df.columns else [])]].copy()
    for m in metrics:
        out[m], out[f"{m}_lo"], out[f"{m}_hi"] = df[m], df[f"{m}_lo"], df[f"{m}_hi"]
    for m in headline:
        refs, cells = _p_cells(df, m, P_INFIX, n_boot)
        if refs:
            out[f"p({m}) vs {' / '.join(refs)}"] = cells
            out[f"Holm p({m})"] = _p_cells(df, m, HOLM_INFIX, n_boot)[1]
        if f"{m}_seed_min" in df.columns:
            out[f"{m} over seeds"] = [MISSING if _is_missing(lo) or r == 1 else f"{lo:.3f}-{hi:.3f}"
                                      for lo, hi, r in zip(df[f"{m}_seed_min"], df[f"{m}_seed_max"], df["replicates"])]
    keep = ["prompt_tokens", "latency_s"]
    if "truncated_prompts" in df.columns and df["truncated_prompts"].fillna(0).gt(0).any():
        keep.append("truncated_prompts")
    keep += ["cut_answers"] if "cut_answers" in df.columns and df["cut_answers"].notna().any() else []  # 0 shows
    keep += [c for c in ("train_tokens", "device_hours") if c in df.columns]
    for c in keep:
        out[VIEW_NAMES.get(c, c)] = df[c]
    return out


def _numeric(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


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
        numeric.append(pd.api.types.is_numeric_dtype(df[c]) or c.startswith(("p(", "Holm p(")) or c.endswith(" over seeds"))
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


def to_html(df: pd.DataFrame, title: str = "", note: str = "", warnings: Sequence[str] = ()) -> str:
    """A self-contained HTML page of the table with an optional note under it and `warnings` above it."""
    from html import escape

    alerts = "".join(f"<li><strong>Warning:</strong> {escape(w)}</li>" for w in warnings)
    return html_page(title, *([f"<ul>{alerts}</ul>"] if alerts else []), html_table(df), f"<p>{escape(note)}</p>" if note else "")


def write_comparison(df: pd.DataFrame, out_md: str | os.PathLike, out_csv: str | os.PathLike,
                     out_tex: str | os.PathLike | None = None, out_html: str | os.PathLike | None = None,
                     headline: list[str] | tuple[str, ...] = ("f1", "gold_nll"), title: str = "",
                     note: str = "", n_boot: int = 1000, md_title: str = "", warnings: Sequence[str] = ()) -> None:
    """Write the comparison, each file atomically: the CSV with every column, the Markdown, LaTeX and HTML
    tables as `table_view` shows it (HTML with a title, `warnings` and a note; Markdown under `md_title` and them)."""
    view = table_view(df, headline, n_boot)
    alerts = "".join(f"- **Warning:** {w}\n" for w in warnings) + ("\n" if warnings else "")
    write_text(out_md, (f"**{md_title}**\n\n" if md_title else "") + alerts + to_markdown(view))
    write_text(out_csv, to_csv(df))
    if out_tex is not None:
        write_text(out_tex, to_latex(view))
    if out_html is not None:
        write_text(out_html, to_html(view, title, note, warnings))


def questions_label(split_manifest: Mapping) -> str:
    """What the title says of questions generated from the corpus (split_manifest.json's `generator`):
    "generated questions: 120 kept of 1000 generated; model builtin:smollm2" (method llm), "generated
    questions: 500 kept of 1017 candidates; cloze" (no model); "" for gold questions."""
    gen = split_manifest.get("generator")
    if split_manifest.get("source") != "generated" or not gen:
        return ""
    if gen.get("model"):
        return f"generated questions: {gen['kept']} kept of {gen['generated']} generated; model {gen['model']}"
    return f"generated questions: {gen['kept']} kept of {gen['candidates']} candidates; {gen['method']}"


def review_label(split_manifest: Mapping) -> str:
    """What people's review of the questions (split_manifest.json's `review`, qa.review) did: "people reviewed
    80 of the generated questions and accepted 72 (90%); the 8 marked bad were dropped"; "" without one."""
    review, generated = split_manifest.get("review") or {}, split_manifest.get("source") == "generated"
    if not review.get("marked"):
        return ""
    return (f"people reviewed {review['marked']} of the {'generated ' if generated else ''}questions and accepted "
            f"{review['accepted']} ({review['accepted_share']:.0%}); the {review['rejected']} marked bad were dropped")


def stats_note(n: int, n_boot: int, seed: int, references: list[str], replicates: int = 1, questions: str = "",
               review: str = "") -> str:
    """The lines that say how the table's intervals and p-values were computed, after what the
    questions are when they were generated (`questions`, a `questions_label`) and what people's
    review of them did (`review`, a `review_label`)."""
    source = f"The questions were generated from the corpus, not written by people ({questions}). " if questions else ""
    source += f"{review[:1].upper()}{review[1:]}. " if review else ""
    refs = " and ".join(f"`{r}`" for r in references) or "none"
    seeds = (f" Fine-tuned systems: the mean over {replicates} adapters trained with different seeds; their "
             f"interval is a two-level bootstrap (questions, then seeds), and `over seeds` gives the lowest and "
             f"highest replicate's mean." if replicates > 1 else "")
    return (f"{source}n = {n} eval questions, the same for every system. Intervals (95%): Wilson's score interval for "
            f"the rates accuracy, exact_match and judge; a percentile bootstrap over questions ({n_boot} resamples, "
            f"seed {seed}) for the rest, Wilson's where every question scored the same 0 or 1.{seeds} p: two-sided "
            f"paired bootstrap against {refs}, questions matched by id; `< {format_p(0, n_boot)[2:]}` means no "
            f"resample fell on the other side of zero. Holm: the p adjusted for the table's distinct comparisons "
            f"of that metric. Cost: prompt tokens and seconds per question (batched generation); train tokens "
            f"and device-hours of the adapter a system uses.")


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
