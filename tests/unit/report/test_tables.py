import math

import pandas as pd
import pytest

from ragft.evaluate.metrics import aggregate_answers
from ragft.report.stats import Scores, interval
from ragft.report.tables import (
    comparison_table,
    corpora_html,
    corpora_markdown,
    formatted,
    holm_adjusted,
    p_values,
    questions_label,
    review_label,
    stats_note,
    system_scores,
    system_stats,
    table_view,
    to_csv,
    to_html,
    to_latex,
    to_markdown,
    write_comparison,
)


def _ci(mean, lo, hi):
    return {"mean": mean, "lo": lo, "hi": hi}


METRICS = {
    "ft": {"n": 2, "exact_match": _ci(1.0, 1.0, 1.0), "f1": _ci(0.9, 0.8, 1.0),
           "accuracy": _ci(1.0, 1.0, 1.0), "gold_nll": _ci(0.5, 0.25, 0.75),
           "prompt_tokens": 12.0, "latency_s": 0.5, "questions_per_s": 2.0, "truncated": {"prompts": 0, "tokens": 0},
           "cost": {"train_tokens": 1000, "train_seconds": 12.5, "device_hours": 12.5 / 3600, "train_device": "cpu"}},
    "base": {"n": 2, "exact_match": _ci(0.5, 0.25, 0.75), "f1": _ci(0.6, 0.5, 0.7),
             "accuracy": _ci(0.5, 0.0, 1.0), "gold_nll": _ci(None, None, None),
             "prompt_tokens": 12.0, "latency_s": 0.25},
}
SPECS = {"base": {"retriever": "none", "adapter": "none"},
         "ft": {"retriever": "none", "adapter": "qlora"}}
PAIRED = {"base": {"ft": {"exact_match": 0.01, "f1": 0.02, "accuracy": 0.03, "gold_nll": 0.04}}}

QUALITY = ["exact_match", "exact_match_lo", "exact_match_hi", "f1", "f1_lo", "f1_hi",
           "accuracy", "accuracy_lo", "accuracy_hi", "gold_nll", "gold_nll_lo", "gold_nll_hi"]


def test_comparison_table_columns_and_rows():
    df = comparison_table(METRICS, SPECS, paired=PAIRED)
    assert list(df.columns) == [
        "system", "retriever", "adapter", "shots", "n", *QUALITY,
        "exact_match_p_vs_base", "f1_p_vs_base", "accuracy_p_vs_base", "gold_nll_p_vs_base",
        "exact_match_holm_vs_base", "f1_holm_vs_base", "accuracy_holm_vs_base", "gold_nll_holm_vs_base",
        "prompt_tokens", "latency_s", "questions_per_s", "truncated_prompts", "cut_answers", "cut_share",
        "train_tokens", "train_seconds", "device_hours", "train_device",
    ]
    assert df["system"].tolist() == ["ft", "base"]  # order given, not sorted
    assert df["adapter"].tolist() == ["qlora", "none"]
    ft, base = df.iloc[0], df.iloc[1]
    assert (ft["f1"], ft["f1_lo"], ft["f1_hi"]) == (0.9, 0.8, 1.0)
    assert ft["f1_p_vs_base"] == 0.02
    assert math.isnan(base["f1_p_vs_base"])  # no p for the baseline against itself
    assert math.isnan(base["gold_nll"]) and math.isnan(base["train_tokens"])
    assert ft["train_seconds"] == 12.5 and ft["train_device"] == "cpu" and ft["truncated_prompts"] == 0
    assert math.isnan(base["truncated_prompts"])  # not recorded: unknown, not zero


def test_comparison_table_without_paired_or_cost():
    metrics = {"base": {k: v for k, v in METRICS["base"].items()}}
    df = comparison_table(metrics, SPECS)
    assert list(df.columns) == ["system", "retriever", "adapter", "shots", "n", *QUALITY,
                                "prompt_tokens", "latency_s", "questions_per_s", "truncated_prompts", "cut_answers",
                                "cut_share"]


def test_comparison_table_against_two_references():
    paired = {"base": {"ft": {"f1": 0.02}}, "ft": {"base": {"f1": 0.02}}}
    df = comparison_table(METRICS, SPECS, paired, metrics=["f1"])
    assert [c for c in df.columns if "_p_vs_" in c] == ["f1_p_vs_base", "f1_p_vs_ft"]
    assert df["f1_p_vs_ft"].tolist()[1] == 0.02 and math.isnan(df["f1_p_vs_ft"].tolist()[0])


def test_table_view_is_compact_and_byte_exact():
    df = comparison_table(METRICS, SPECS, {**PAIRED, "ft": {"base": {"f1": 0.02, "gold_nll": 0.04}}})
    view = table_view(df, headline=["f1", "gold_nll"])
    # tabulate's pipe table: headers padded by two, text columns marked `:---`, numbers `---:`
    assert to_markdown(view) == (
        "| system   | retriever   | adapter   |   n |          exact_match |                   f1 |             accuracy |"
        "             gold_nll |   p(f1) vs base / ft |   Holm p(f1) |   p(gold_nll) vs base / ft |   Holm p(gold_nll) |"
        "   prompt tokens/q |    s/q |   train tokens |   device-h |\n"
        "|:---------|:------------|:----------|----:|---------------------:|---------------------:|---------------------:|"
        "---------------------:|---------------------:|-------------:|---------------------------:|-------------------:|"
        "------------------:|-------:|---------------:|-----------:|\n"
        "| ft       | none        | qlora     |   2 | 1.000 [1.000, 1.000] | 0.900 [0.800, 1.000] | 1.000 [1.000, 1.000] |"
        " 0.500 [0.250, 0.750] |            0.020 / - |    0.020 / - |                  0.040 / - |          0.040 / - |"
        "              12.0 | 0.5000 |           1000 |     0.0035 |\n"
        "| base     | none        | none      |   2 | 0.500 [0.250, 0.750] | 0.600 [0.500, 0.700] | 0.500 [0.000, 1.000] |"
        "                    - |            - / 0.020 |    - / 0.020 |                  - / 0.040 |          - / 0.040 |"
        "              12.0 | 0.2500 |              - |          - |\n"
    )
    # at the floor of the resamples p reads "< 0.002", and Holm's adjustment of the two comparisons is beside it
    floor = comparison_table(METRICS, SPECS, {"base": {"ft": {"f1": 2 / 1001}}, "ft": {"base": {"f1": 2 / 1001}}},
                             metrics=["f1"])
    assert table_view(floor, ["f1"], n_boot=1000)["p(f1) vs base / ft"].tolist() == ["< 0.002 / -", "- / < 0.002"]


def test_table_view_shows_truncation_only_when_a_prompt_was_cut():
    metrics = {s: {**m, "truncated": {"prompts": 3 if s == "ft" else 0, "tokens": 90}} for s, m in METRICS.items()}
    view = table_view(comparison_table(metrics, SPECS))
    assert view["truncated"].tolist() == [3, 0]
    assert "truncated" not in table_view(comparison_table(METRICS, SPECS)).columns


def test_table_view_shows_cut_answers_zero_included():
    metrics = {s: {**m, "cut": {"answers": 2 if s == "base" else 0, "share": 1.0 if s == "base" else 0.0}}
               for s, m in METRICS.items()}
    df = comparison_table(metrics, SPECS)
    assert df["cut_answers"].tolist() == [0, 2] and df["cut_share"].tolist() == [0.0, 1.0]
    view = table_view(df)
    assert view["cut answers"].tolist() == [0, 2] and "truncated" not in view.columns
    rows = to_markdown(view).splitlines()
    assert rows[0].split("|")[-4].strip() == "cut answers"
    assert [r.split("|")[-4].strip() for r in rows[2:]] == ["0", "2"]  # a count: 0 shows as 0
    assert "cut answers" not in table_view(comparison_table(METRICS, SPECS)).columns  # not counted: not shown
    one = {"base": {**metrics["base"], "cut": {"answers": 0, "share": 0.0}}}
    assert table_view(comparison_table(one, SPECS))["cut answers"].tolist() == [0]


def test_system_stats_sums_cut_answers_over_replicate_runs():
    preds = [{"id": f"q{i}", "answers": ["x"], "prediction": "x"} for i in range(4)]
    scores = Scores.from_runs([system_scores(preds), system_scores(preds)])
    runs = [{**aggregate_answers(preds), "cut": {"answers": a, "share": a / 4}} for a in (1, 2)]
    assert system_stats(runs, scores, n_boot=100)["cut"] == {"answers": 3, "share": 3 / 8}
    assert "cut" not in system_stats([aggregate_answers(preds)] * 2, scores, n_boot=100)


def test_system_scores_and_p_values():
    preds = [{"id": f"q{i}", "answers": ["x"], "prediction": "x" if i < 30 else "y", "gold_nll": 1.0}
             for i in range(40)]
    worse = [dict(p, prediction="y") for p in preds]
    judge = [{"id": p["id"], "judge": 1, "p_yes": 0.9} for p in preds]
    runs = {"base": system_scores(worse), "rag": system_scores(preds, judge)}
    assert runs["rag"]["judge"] == [1.0] * 40 and "judge" not in runs["base"]
    assert sum(runs["rag"]["exact_match"]) == 30 and runs["rag"]["id"][:3] == ["q0", "q1", "q10"]
    scores = {s: Scores.from_runs([r]) for s, r in runs.items()}
    p = p_values(scores, "base", n_boot=200, seed=1)
    assert set(p) == {"rag"} and set(p["rag"]) == {"exact_match", "f1", "rouge_l", "accuracy", "gold_nll"}
    assert p["rag"]["exact_match"] == pytest.approx(2 / 201)  # every resample favours rag
    assert p["rag"]["gold_nll"] == 1.0  # identical NLL
    assert p_values(scores, "missing") == {}
    with pytest.raises(ValueError, match="no verdict for 1 questions"):
        system_scores(preds, judge[1:])


def test_p_values_pair_questions_by_id_not_by_position():
    preds = [{"id": f"q{i}", "answers": ["x"], "prediction": "x" if i % 2 else "y"} for i in range(20)]
    shuffled = preds[::-1]  # the same answers in another order: scored in id order, so equal
    scores = {"a": Scores.from_runs([system_scores(preds)]), "b": Scores.from_runs([system_scores(shuffled)])}
    assert p_values(scores, "a")["b"]["accuracy"] == 1.0
    other = [dict(p, id=p["id"].replace("q1", "x1")) for p in preds]  # q1, q10..q19 are other questions
    scores["c"] = Scores.from_runs([system_scores(other)])
    with pytest.raises(ValueError, match="not scored on the same questions .11 ids only in one, 11 only"):
        p_values(scores, "a")


def test_holm_adjusts_each_metrics_distinct_comparisons():
    p = {"base": {"rag": {"f1": 0.01, "accuracy": 0.2}, "ft": {"f1": 0.04}},
         "rag": {"base": {"f1": 0.01, "accuracy": 0.2}, "ft": {"f1": 0.03}}}
    # f1's family: rag-base 0.01, ft-base 0.04, ft-rag 0.03 (rag-base once): 0.03, 0.06, 0.06
    assert holm_adjusted(p) == {"base": {"rag": {"f1": 0.03, "accuracy": 0.2}, "ft": {"f1": pytest.approx(0.06)}},
                                "rag": {"base": {"f1": 0.03, "accuracy": 0.2}, "ft": {"f1": pytest.approx(0.06)}}}


SMALL = pd.DataFrame({
    "system": ["base", "ft"],
    "n": [2, 2],
    "f1": [0.5, 0.75], "f1_lo": [0.25, 0.5], "f1_hi": [0.75, 1.0],
    "f1_p_vs_base": [math.nan, 0.0123],
    "latency_s": [0.25, 1 / 3],
})


def test_to_markdown_byte_exact():
    assert to_markdown(SMALL) == (
        "| system   |   n |                   f1 |   f1_p_vs_base |   latency_s |\n"
        "|:---------|----:|---------------------:|---------------:|------------:|\n"
        "| base     |   2 | 0.500 [0.250, 0.750] |              - |      0.2500 |\n"
        "| ft       |   2 | 0.750 [0.500, 1.000] |          0.012 |      0.3333 |\n"
    )


def test_to_csv_byte_exact():
    assert to_csv(SMALL) == (
        "system,n,f1,f1_lo,f1_hi,f1_p_vs_base,latency_s\n"
        "base,2,0.5,0.25,0.75,,0.25\n"
        "ft,2,0.75,0.5,1,0.0123,0.333333\n"
    )


def test_to_latex_booktabs():
    assert to_latex(SMALL) == (
        "\\begin{tabular}{lrrrr}\n"
        "\\toprule\n"
        "system & n & f1 & f1\\_p\\_vs\\_base & latency\\_s \\\\\n"
        "\\midrule\n"
        "base & 2 & 0.500 [0.250, 0.750] & - & 0.2500 \\\\\n"
        "ft & 2 & 0.750 [0.500, 1.000] & 0.012 & 0.3333 \\\\\n"
        "\\bottomrule\n"
        "\\end{tabular}\n"
    )


def test_markdown_of_full_table_shows_integer_cost_and_missing():
    md = to_markdown(comparison_table(METRICS, SPECS, paired=PAIRED))
    ft_row, base_row = md.splitlines()[2:]
    assert " 1000 |" in ft_row and " 12.500 |" in ft_row and "1.000 [1.000, 1.000]" in ft_row
    assert base_row.split("|")[-5].strip() == "-"  # base has no train_tokens


def test_write_comparison(tmp_path):
    df = comparison_table(METRICS, SPECS, paired=PAIRED)
    out = [tmp_path / "report" / f"comparison.{ext}" for ext in ("md", "csv", "tex", "html")]
    write_comparison(df, *out, headline=["f1"], title="Systems", note="n = 2")
    view = table_view(df, ["f1"])
    assert [p.read_text(encoding="utf-8") for p in out] == [
        to_markdown(view), to_csv(df), to_latex(view), to_html(view, "Systems", "n = 2")]
    html = out[3].read_text()
    assert "<h2>Systems</h2>" in html and '<td class="data row0 col5" >0.900 [0.800, 1.000]</td>' in html
    assert '<th class="col_heading level0 col5" >f1</th>' in html and '<td class="data row1 col7" >-</td>' in html
    # numeric columns (n from col 3 on) right-aligned by the table's own CSS, text columns not
    assert "#T_table .col3 {\n  text-align: right;\n}" in html and "#T_table .col12 {" in html
    assert ".col2 {" not in html and "th{border-bottom:2px solid #333;text-align:left}" in html
    assert html.count("<tr>") == 3 and "<p>n = 2</p>" in html
    write_comparison(df, *out, headline=["f1"], md_title="Systems compared on docs (generated questions: 5 kept of 9)")
    assert out[0].read_text() == "**Systems compared on docs (generated questions: 5 kept of 9)**\n\n" + to_markdown(view)
    # warnings: one line each right under the title, in the Markdown and the HTML alike
    write_comparison(df, *out, headline=["f1"], title="Systems", md_title="Systems", warnings=["a < b", "c"], note="n = 2")
    assert out[0].read_text() == "**Systems**\n\n- **Warning:** a < b\n- **Warning:** c\n\n" + to_markdown(view)
    html = out[3].read_text()
    assert "<h2>Systems</h2>\n<ul><li><strong>Warning:</strong> a &lt; b</li><li><strong>Warning:</strong> c</li></ul>\n" \
        "<style type=" in html


def test_corpora_markdown_puts_corpora_side_by_side():
    a = pd.DataFrame({"system": ["base", "rag"], "n": [10, 10], "f1": [0.1, 0.5], "f1_lo": [0.0, 0.4], "f1_hi": [0.2, 0.6]})
    b = pd.DataFrame({"system": ["base"], "n": [7], "f1": [0.25], "f1_lo": [0.125], "f1_hi": [0.375]})
    assert corpora_markdown({"a": a, "b": b}, ["f1", "gold_nll"]).split("## f1\n\n")[1] == (
        "| system   | a (n=10)             | b (n=7)              |\n"
        "|:---------|:---------------------|:---------------------|\n"
        "| base     | 0.100 [0.000, 0.200] | 0.250 [0.125, 0.375] |\n"
        "| rag      | 0.500 [0.400, 0.600] | -                    |\n"
    )


def test_retrieval_table_one_row_per_retriever():
    from ragft.report.tables import retrieval_markdown, retrieval_table

    metrics = {"dense": {"recall@1": 0.5, "mrr@10": 0.625, "queries_per_s": 150.0, "n": 4},
               "hybrid": {"recall@1": 0.75, "mrr@10": 0.8125, "queries_per_s": 90.5, "n": 4}}
    df = retrieval_table(metrics)
    assert list(df.columns) == ["retriever", "n", "recall@1", "mrr@10", "queries_per_s"]
    hybrid = {"method": "score", "weight": 0.4, "n": 30, "metric": "mrr@10", "score": 0.9, "dense": 0.8, "bm25": 0.85}
    assert retrieval_markdown(metrics, hybrid) == (
        "| retriever   |   n |   recall@1 |   mrr@10 |   queries_per_s |\n"
        "|:------------|----:|-----------:|---------:|----------------:|\n"
        "| dense       |   4 |      0.500 |    0.625 |         150.000 |\n"
        "| hybrid      |   4 |      0.750 |    0.812 |          90.500 |\n"
        "\nhybrid: score fusion, dense weight 0.4 (BM25 0.6), chosen on 30 train questions by mrr@10 "
        "(0.900; dense 0.800, bm25 0.850).\n"
    )


def _parse_markdown(md: str) -> tuple[list[str], list[str], list[list[str]]]:
    """Header, alignment row and body cells of a pipe table, each cell stripped."""
    rows = [[c.strip() for c in line.split("|")[1:-1]] for line in md.splitlines()]
    return rows[0], rows[1], rows[2:]


def test_markdown_parses_back_to_the_formatted_cells():
    view = table_view(comparison_table(METRICS, SPECS, {**PAIRED, "ft": {"base": {"f1": 0.02}}}), ["f1"])
    cells, numeric = formatted(view)
    header, rule, body = _parse_markdown(to_markdown(view))
    assert header == list(cells.columns) == ["system", "retriever", "adapter", "n", "exact_match", "f1", "accuracy",
                                             "gold_nll", "p(f1) vs base / ft", "Holm p(f1)", "prompt tokens/q", "s/q",
                                             "train tokens", "device-h"]
    assert body == cells.values.tolist()
    assert body[0][:6] == ["ft", "none", "qlora", "2", "1.000 [1.000, 1.000]", "0.900 [0.800, 1.000]"]
    assert body[1][7:] == ["-", "- / 0.020", "- / 0.020", "12.0", "0.2500", "-", "-"]
    assert [r.endswith(":") and not r.startswith(":") for r in rule] == numeric
    assert [r.startswith(":") and not r.endswith(":") for r in rule] == [not n for n in numeric]


def test_latex_escapes_special_characters():
    df = pd.DataFrame({"system": ["rag_ft", "a&b"], "share_%": [0.5, 0.25], "note": ["100%", "x_y & z"]})
    tex = to_latex(df)
    assert tex.splitlines() == [
        "\\begin{tabular}{lrl}",
        "\\toprule",
        "system & share\\_\\% & note \\\\",
        "\\midrule",
        "rag\\_ft & 0.500 & 100\\% \\\\",
        "a\\&b & 0.250 & x\\_y \\& z \\\\",
        "\\bottomrule",
        "\\end{tabular}",
    ]


def test_html_escapes_cells_and_headers_and_scopes_each_table():
    html = to_html(pd.DataFrame({"<b>system</b>": ["a&b", "<i>"], "n": [1, 2]}), "T & U", "p < 0.05")
    assert "<title>T &amp; U</title>" in html and "<p>p &lt; 0.05</p>" in html
    assert '<th class="col_heading level0 col0" >&lt;b&gt;system&lt;/b&gt;</th>' in html
    assert '<td class="data row0 col0" >a&amp;b</td>' in html and '<td class="data row1 col0" >&lt;i&gt;</td>' in html
    assert '<td class="data row1 col1" >2</td>' in html and "#T_table .col1 {" in html
    a = pd.DataFrame({"system": ["base"], "n": [3], "f1": [0.5], "f1_lo": [0.25], "f1_hi": [0.75],
                      "gold_nll": [2.0], "gold_nll_lo": [1.5], "gold_nll_hi": [2.5]})
    page = corpora_html({"a": a}, ["f1", "gold_nll"])
    assert '<table id="T_corpora0">' in page and '<table id="T_corpora1">' in page


def test_system_stats_of_one_run_and_of_replicates():
    preds = [{"id": f"q{i:02d}", "answers": ["x y"], "prediction": "x y" if i % 3 else "x z",
              "gold_nll": 0.1 * i if i % 5 else None, "prompt_tokens": 10, "latency_s": 0.5} for i in range(30)]
    judge = [{"id": p["id"], "judge": int(i % 4 == 0)} for i, p in enumerate(preds)]
    stored = {"system": "rag", "retriever": "dense", **aggregate_answers(preds)}
    scores = Scores.from_runs([system_scores(preds, judge)])
    one = system_stats([stored], scores, n_boot=200, seed=3)
    assert one["judge"] == interval("judge", scores.values["judge"], 200, 3) and one["judge"]["mean"] == pytest.approx(8 / 30)
    assert one["accuracy"]["mean"] == pytest.approx(20 / 30) and one["gold_nll"]["n"] == 24  # six without an NLL
    assert (one["replicates"], one["system"], one["latency_s"]) == (1, "rag", 0.5)
    with pytest.raises(ValueError, match="metrics.json counts 30 questions, the predictions 29"):
        system_stats([stored], Scores.from_runs([system_scores(preds[1:])]), 200, 3)
    # three replicates: each metric the mean over them, costs averaged
    runs = [[dict(p, prediction="x y" if (i + k) % 3 else "q") for i, p in enumerate(preds)] for k in range(3)]
    cost = [{"train_tokens": 900 + s, "train_seconds": s, "device_hours": s / 3600, "train_device": "cpu"} for s in (10, 20, 60)]
    stored3 = [{**aggregate_answers(r), "cost": c, "latency_s": 0.5 + k} for k, (r, c) in enumerate(zip(runs, cost))]
    three = system_stats(stored3, Scores.from_runs([system_scores(r) for r in runs]), 200, 3)
    assert three["replicates"] == 3 and three["accuracy"]["mean"] == pytest.approx(20 / 30)
    assert three["cost"] == {"train_tokens": 930.0, "train_seconds": 30.0, "device_hours": pytest.approx(30 / 3600),
                             "train_device": "cpu"}
    assert three["latency_s"] == 1.5 and three["accuracy"]["seed_min"] == three["accuracy"]["seed_max"]
    with pytest.raises(ValueError, match="replicates were scored on different questions"):
        Scores.from_runs([system_scores(runs[0]), system_scores(runs[1][1:])])


def test_a_table_with_replicates_shows_their_count_and_spread():
    ids = [f"q{i:02d}" for i in range(20)]
    base = [{"id": i, "answers": ["x"], "prediction": "y"} for i in ids]
    ft_runs = [[dict(p, prediction="x" if j < 8 + 4 * k else "y") for j, p in enumerate(base)] for k in range(3)]
    scores = {"base": Scores.from_runs([system_scores(base)]),
              "ft": Scores.from_runs([system_scores(r) for r in ft_runs])}
    stats = {"base": system_stats([aggregate_answers(base)], scores["base"], 200, 0),
             "ft": system_stats([aggregate_answers(r) for r in ft_runs], scores["ft"], 200, 0)}
    df = comparison_table(stats, SPECS, {"base": p_values(scores, "base", 200, 0)}, ["accuracy"])
    assert df["replicates"].tolist() == [1, 3]
    assert df.loc[1, ["accuracy", "accuracy_seed_min", "accuracy_seed_max"]].tolist() == pytest.approx([0.6, 0.4, 0.8])
    assert df.loc[0, "accuracy_hi"] == pytest.approx(0.16113, abs=1e-5)  # Wilson's 0 of 20, not [0, 0]
    view = table_view(df, ["accuracy"], n_boot=200)
    assert list(view.columns[:5]) == ["system", "retriever", "adapter", "n", "replicates"]
    assert view["accuracy over seeds"].tolist() == ["-", "0.400-0.800"]
    assert view["p(accuracy) vs base"].tolist() == ["-", "< 0.01"]  # 2/201 = 0.00995, rounded up


def test_generated_questions_are_named_in_the_title_and_note():
    split = {"source": "generated", "generator": {"method": "cloze", "kept": 500, "candidates": 1017,
                                                  "dropped": {"fragment": 393}}}
    label = questions_label(split)
    assert label == "generated questions: 500 kept of 1017 candidates; cloze"
    assert questions_label({"source": "gold"}) == "" and questions_label({}) == ""
    llm = {"source": "generated", "generator": {"method": "llm", "model": "builtin:smollm2", "kept": 120,
                                                "generated": 1000, "candidates": 1400}}
    assert questions_label(llm) == "generated questions: 120 kept of 1000 generated; model builtin:smollm2"
    note = stats_note(100, 1000, 7, ["base"], questions=label)
    assert note.startswith("The questions were generated from the corpus, not written by people (generated "
                           "questions: 500 kept of 1017 candidates; cloze). n = 100 eval questions")
    assert stats_note(100, 1000, 7, ["base"]).startswith("n = 100 eval questions")


def test_a_review_is_said_in_the_note_for_gold_and_generated_questions():
    review = {"files": ["r.csv"], "marked": 80, "accepted": 72, "rejected": 8, "unmarked": 0, "unknown": 1,
              "accepted_share": 0.9, "dropped_eval": 8, "dropped_train": 0}
    gold = review_label({"source": "gold", "review": review})
    assert gold == "people reviewed 80 of the questions and accepted 72 (90%); the 8 marked bad were dropped"
    assert review_label({"source": "generated", "review": review}).startswith("people reviewed 80 of the generated questions")
    assert review_label({"source": "gold"}) == "" and review_label({"review": {**review, "marked": 0}}) == ""
    assert stats_note(72, 1000, 7, ["base"], review=gold).startswith(
        "People reviewed 80 of the questions and accepted 72 (90%); the 8 marked bad were dropped. n = 72 eval questions")
