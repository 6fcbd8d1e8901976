"""Do generated questions rank systems and retrievers as gold questions do? The same systems and
retrievers run on one corpus twice, with its gold questions and with questions generated from it
(`qa: generate`); these functions put the two results side by side, measure the agreement of their
rankings with Kendall's tau-b (scipy.stats.kendalltau) and list the pairs the generated questions
order the other way round. `ragft validate GOLD_DIR GENERATED_DIR` writes them as Markdown."""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd
from scipy.stats import kendalltau

from ragft.evaluate.metrics import ANSWER_METRICS, LOWER_IS_BETTER
from ragft.report.tables import to_csv, to_markdown

SYSTEM_METRICS = (*ANSWER_METRICS, "judge")  # comparison.csv's metric columns, where present
NOT_RETRIEVAL_METRICS = ("n", "queries_per_s")  # retrieval/metrics.json keys that measure no ranking quality
KINDS = ("system", "retriever")
Scores = Mapping[str, Mapping[str, float]]  # metric -> name (system or retriever) -> value


def _value(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _present(values: Mapping[str, float]) -> dict[str, float]:
    return {k: v for k, v in values.items() if not math.isnan(v)}


def system_scores(table: pd.DataFrame, metrics: tuple[str, ...] = SYSTEM_METRICS) -> dict[str, dict[str, float]]:
    """metric -> system -> value from a comparison.csv table, for each metric column it has that is
    not all NaN."""
    out = {}
    for m in metrics:
        if m in table.columns:
            values = _present({str(s): _value(v) for s, v in zip(table["system"], table[m])})
            if values:
                out[m] = values
    return out


def retriever_scores(metrics: Mapping[str, Mapping]) -> dict[str, dict[str, float]]:
    """metric -> retriever -> value from a retrieval/metrics.json, every metric but n and queries/s, in
    the order they appear."""
    out: dict[str, dict[str, float]] = {}
    for retriever, values in metrics.items():
        for m, v in values.items():
            if m not in NOT_RETRIEVAL_METRICS and not math.isnan(_value(v)):
                out.setdefault(m, {})[retriever] = _value(v)
    return out


def shared(gold: Scores, generated: Scores) -> list[str]:
    """The metrics both results have, in gold's order."""
    return [m for m in gold if m in generated]


def side_by_side(gold: Scores, generated: Scores, kind: str = "system") -> pd.DataFrame:
    """One row per metric both have and per system (or retriever) either has: its gold value, its
    generated value (NaN where one lacks it) and generated - gold."""
    rows = []
    for m in shared(gold, generated):
        for name in dict.fromkeys([*gold[m], *generated[m]]):
            g, h = gold[m].get(name, math.nan), generated[m].get(name, math.nan)
            rows.append({"kind": kind, "metric": m, kind: name, "gold": g, "generated": h, "generated - gold": h - g})
    return pd.DataFrame(rows, columns=["kind", "metric", kind, "gold", "generated", "generated - gold"])


def _paired(gold: Mapping[str, float], generated: Mapping[str, float]) -> list[str]:
    return [name for name in gold if name in generated]


def agreement(gold: Mapping[str, float], generated: Mapping[str, float], metric: str = "") -> dict:
    """Kendall's tau-b between the gold and the generated values of the names both have, its p-value
    (scipy's: exact for small n without ties) and n; tau and p NaN with a note saying why when
    undefined (fewer than 2 names, or one side's values all equal). A lower-is-better metric
    (gold_nll) ranks the other way on both sides, which leaves tau unchanged; the note says so."""
    names = _paired(gold, generated)
    g, h = [gold[n] for n in names], [generated[n] for n in names]
    note = "lower is better (the direction leaves tau unchanged)" if metric in LOWER_IS_BETTER else ""
    why = ("fewer than 2 in both" if len(names) < 2 else "all gold values equal" if len(set(g)) < 2
           else "all generated values equal" if len(set(h)) < 2 else "")
    if why:
        return {"n": len(names), "tau": math.nan, "p": math.nan, "note": "; ".join(filter(None, [f"undefined: {why}", note]))}
    result = kendalltau(g, h, variant="b")
    return {"n": len(names), "tau": float(result.statistic), "p": float(result.pvalue), "note": note}


def agreement_table(gold: Scores, generated: Scores, kind: str = "system") -> pd.DataFrame:
    """`agreement` per metric both have: kind, metric, n, tau, p, note."""
    rows = [{"kind": kind, "metric": m, **agreement(gold[m], generated[m], m)} for m in shared(gold, generated)]
    return pd.DataFrame(rows, columns=["kind", "metric", "n", "tau", "p", "note"])


def disagreements(gold: Mapping[str, float], generated: Mapping[str, float],
                  metric: str = "") -> tuple[list[dict], list[dict]]:
    """The pairs the generated questions mislead on. Discordant: gold orders them one way, generated the
    other; each as `better on gold`, `better on generated` (by the metric's direction) and both
    differences, each `better on gold` minus `better on generated`. Ties: pairs one side ties and the
    other does not, as `a`, `b` (gold's order) and both differences a - b. Pairs in gold's order."""
    names = _paired(gold, generated)
    sign = -1 if metric in LOWER_IS_BETTER else 1
    discordant, ties = [], []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            dg, dh = gold[a] - gold[b], generated[a] - generated[b]
            if dg * dh < 0:
                first, second = (a, b) if sign * dg > 0 else (b, a)
                flip = 1 if first == a else -1
                discordant.append({"metric": metric, "better on gold": first, "better on generated": second,
                                   "gold difference": flip * dg, "generated difference": flip * dh})
            elif (dg == 0) != (dh == 0):
                ties.append({"metric": metric, "a": a, "b": b, "gold a - b": dg, "generated a - b": dh})
    return discordant, ties


DISCORDANT_COLUMNS = ["kind", "metric", "better on gold", "better on generated", "gold difference", "generated difference"]
TIE_COLUMNS = ["kind", "metric", "a", "b", "gold a - b", "generated a - b"]


def disagreement_tables(gold: Scores, generated: Scores, kind: str = "system") -> tuple[pd.DataFrame, pd.DataFrame]:
    """`disagreements` of every metric both have, as two tables (discordant pairs, ties)."""
    discordant, ties = [], []
    for m in shared(gold, generated):
        d, t = disagreements(gold[m], generated[m], m)
        discordant += [{"kind": kind, **row} for row in d]
        ties += [{"kind": kind, **row} for row in t]
    return pd.DataFrame(discordant, columns=DISCORDANT_COLUMNS), pd.DataFrame(ties, columns=TIE_COLUMNS)


def validate(gold_table: pd.DataFrame, generated_table: pd.DataFrame, gold_retrieval: Mapping | None = None,
             generated_retrieval: Mapping | None = None) -> dict[str, pd.DataFrame]:
    """Everything the validation report shows, from the two comparison.csv tables and the two
    retrieval/metrics.json: `systems` and `retrievers` side by side, `agreement` (tau per kind and
    metric), `discordant` and `ties`."""
    scores = {"system": (system_scores(gold_table), system_scores(generated_table)),
              "retriever": (retriever_scores(gold_retrieval or {}), retriever_scores(generated_retrieval or {}))}
    pairs = {kind: disagreement_tables(*scores[kind], kind) for kind in KINDS}

    def both(tables) -> pd.DataFrame:  # an empty table's object columns would make the numbers objects
        return pd.concat(tables, ignore_index=True).infer_objects()

    return {
        "systems": side_by_side(*scores["system"], "system"),
        "retrievers": side_by_side(*scores["retriever"], "retriever"),
        "agreement": both([agreement_table(*scores[kind], kind) for kind in KINDS]),
        "discordant": both([pairs[kind][0] for kind in KINDS]),
        "ties": both([pairs[kind][1] for kind in KINDS]),
    }


NOTE = ("Kendall's tau-b (scipy.stats.kendalltau) between the gold and the generated values of the systems (or "
        "retrievers) both runs have, per metric: 1 when the generated questions rank them exactly as the gold "
        "ones, -1 when reversed; p tests tau = 0 (scipy's exact test for small n without ties, else its normal "
        "approximation) and cannot be small with few systems (tau = 1 gives p = 0.017 at n = 5, 0.33 at n = 3). "
        "Undefined (-) with fewer than 2, or when one side's values are all equal. For gold_nll lower is better; "
        "the direction leaves tau unchanged.")


DISCORDANT_NOTE = ("Pairs that gold and the generated questions order differently: `better on gold` is the one gold "
                   "ranks higher (by the metric's direction), `better on generated` the one the generated questions "
                   "rank higher; both differences are `better on gold` minus `better on generated`.")


def _cell(v: float) -> str:
    return "-" if math.isnan(v) else f"{v:.3f}"


def wide(df: pd.DataFrame, kind: str = "system") -> pd.DataFrame:
    """A `side_by_side` table as the report shows it: a row per metric, a column per system (or
    retriever), each cell `gold / generated`."""
    names = list(dict.fromkeys(df[kind]))
    rows = []
    for metric in dict.fromkeys(df["metric"]):
        part = df[df["metric"] == metric]
        cells = {n: f"{_cell(g)} / {_cell(h)}" for n, g, h in zip(part[kind], part["gold"], part["generated"])}
        rows.append({"metric": metric, **{n: cells.get(n, "-") for n in names}})
    return pd.DataFrame(rows, columns=["metric", *names], dtype=object)


def _section(title: str, df: pd.DataFrame, empty: str, note: str = "") -> list[str]:
    body = to_markdown(df).rstrip("\n") if len(df) else empty
    return [f"## {title}", "", *([note, ""] if note and len(df) else []), body, ""]


def validation_markdown(result: Mapping[str, pd.DataFrame], gold: str = "gold", generated: str = "generated") -> str:
    """The validation report: systems and retrievers side by side, the rank agreement, then where the
    generated questions mislead (discordant pairs; ties apart)."""
    lines = ["# Generated questions against gold", "", f"gold: {gold}", "", f"generated: {generated}", ""]
    cells = "Each cell: the value on gold questions / on generated ones."
    lines += _section("Systems: gold vs generated", wide(result["systems"], "system"),
                      "No metric that both comparison tables have.", cells)
    lines += _section("Retrievers: gold vs generated", wide(result["retrievers"], "retriever"),
                      "No retrieval metric that both runs have.", cells)
    lines += _section("Rank agreement (Kendall's tau-b)", result["agreement"], "Nothing to rank.", NOTE)
    lines += _section("Where the generated questions mislead: discordant pairs", result["discordant"],
                      "None: no pair that gold and the generated questions order differently.", DISCORDANT_NOTE)
    lines += _section("Ties on one side only", result["ties"], "None.",
                      "Pairs that one set of questions ties and the other does not; differences a - b.")
    return "\n".join(lines)


def validation_csv(result: Mapping[str, pd.DataFrame]) -> dict[str, str]:
    """The report's tables as CSV texts, by file name."""
    return {f"{name}.csv": to_csv(df) for name, df in result.items()}
