import math

import pandas as pd

from ragft.report import comparison_table, to_csv, to_latex, to_markdown, write_comparison


def _ci(mean, lo, hi):
    return {"mean": mean, "lo": lo, "hi": hi}


METRICS = {
    "ft": {"n": 2, "exact_match": _ci(1.0, 1.0, 1.0), "f1": _ci(0.9, 0.8, 1.0),
           "contains": _ci(1.0, 1.0, 1.0), "gold_nll": _ci(0.5, 0.25, 0.75),
           "prompt_tokens": 12.0, "latency_s": 0.5,
           "cost": {"train_tokens": 1000, "train_seconds": 12.5}},
    "base": {"n": 2, "exact_match": _ci(0.5, 0.25, 0.75), "f1": _ci(0.6, 0.5, 0.7),
             "contains": _ci(0.5, 0.0, 1.0), "gold_nll": _ci(None, None, None),
             "prompt_tokens": 12.0, "latency_s": 0.25},
}
SPECS = {"base": {"retriever": "none", "adapter": "none"},
         "ft": {"retriever": "none", "adapter": "qlora"}}
PAIRED = {"ft": {"exact_match": 0.01, "f1": 0.02, "contains": 0.03, "gold_nll": 0.04}}

QUALITY = ["exact_match", "exact_match_lo", "exact_match_hi", "f1", "f1_lo", "f1_hi",
           "contains", "contains_lo", "contains_hi", "gold_nll", "gold_nll_lo", "gold_nll_hi"]


def test_comparison_table_columns_and_rows():
    df = comparison_table(METRICS, SPECS, paired=PAIRED)
    assert list(df.columns) == [
        "system", "retriever", "adapter", "n", *QUALITY,
        "exact_match_p_vs_base", "f1_p_vs_base", "contains_p_vs_base", "gold_nll_p_vs_base",
        "prompt_tokens", "latency_s", "train_tokens", "train_seconds",
    ]
    assert df["system"].tolist() == ["ft", "base"]  # order given, not sorted
    assert df["adapter"].tolist() == ["qlora", "none"]
    ft, base = df.iloc[0], df.iloc[1]
    assert (ft["f1"], ft["f1_lo"], ft["f1_hi"]) == (0.9, 0.8, 1.0)
    assert ft["f1_p_vs_base"] == 0.02
    assert math.isnan(base["f1_p_vs_base"])  # no p for the baseline against itself
    assert math.isnan(base["gold_nll"]) and math.isnan(base["train_tokens"])
    assert ft["train_seconds"] == 12.5


def test_comparison_table_without_paired_or_cost():
    metrics = {"base": {k: v for k, v in METRICS["base"].items()}}
    df = comparison_table(metrics, SPECS)
    assert list(df.columns) == ["system", "retriever", "adapter", "n", *QUALITY,
                                "prompt_tokens", "latency_s"]


SMALL = pd.DataFrame({
    "system": ["base", "ft"],
    "n": [2, 2],
    "f1": [0.5, 0.75], "f1_lo": [0.25, 0.5], "f1_hi": [0.75, 1.0],
    "f1_p_vs_base": [math.nan, 0.0123],
    "latency_s": [0.25, 1 / 3],
})


def test_to_markdown_byte_exact():
    assert to_markdown(SMALL) == (
        "| system |   n |                   f1 | f1_p_vs_base | latency_s |\n"
        "|--------|----:|---------------------:|-------------:|----------:|\n"
        "| base   |   2 | 0.500 [0.250, 0.750] |            - |     0.250 |\n"
        "| ft     |   2 | 0.750 [0.500, 1.000] |        0.012 |     0.333 |\n"
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
        "base & 2 & 0.500 [0.250, 0.750] & - & 0.250 \\\\\n"
        "ft & 2 & 0.750 [0.500, 1.000] & 0.012 & 0.333 \\\\\n"
        "\\bottomrule\n"
        "\\end{tabular}\n"
    )


def test_markdown_of_full_table_shows_integer_cost_and_missing():
    md = to_markdown(comparison_table(METRICS, SPECS, paired=PAIRED))
    ft_row, base_row = md.splitlines()[2:]
    assert " 1000 |" in ft_row and " 12.000 |" in ft_row and "1.000 [1.000, 1.000]" in ft_row
    assert base_row.split("|")[-3].strip() == "-"  # base has no train_tokens


def test_write_comparison(tmp_path):
    out = [tmp_path / "report" / f"comparison.{ext}" for ext in ("md", "csv", "tex")]
    write_comparison(SMALL, *out)
    assert [p.read_text(encoding="utf-8") for p in out] == [
        to_markdown(SMALL), to_csv(SMALL), to_latex(SMALL)]


def test_retrieval_table_one_row_per_retriever():
    from ragft.report import retrieval_markdown, retrieval_table

    metrics = {"dense": {"recall@1": 0.5, "mrr@10": 0.625, "queries_per_s": 150.0, "n": 4},
               "hybrid": {"recall@1": 0.75, "mrr@10": 0.8125, "queries_per_s": 90.5, "n": 4}}
    df = retrieval_table(metrics)
    assert list(df.columns) == ["retriever", "n", "recall@1", "mrr@10", "queries_per_s"]
    hybrid = {"method": "score", "weight": 0.4, "n": 30, "metric": "mrr@10", "score": 0.9, "dense": 0.8, "bm25": 0.85}
    assert retrieval_markdown(metrics, hybrid) == (
        "| retriever |   n | recall@1 | mrr@10 | queries_per_s |\n"
        "|-----------|----:|---------:|-------:|--------------:|\n"
        "| dense     |   4 |    0.500 |  0.625 |       150.000 |\n"
        "| hybrid    |   4 |    0.750 |  0.812 |        90.500 |\n"
        "\nhybrid: score fusion, dense weight 0.4 (BM25 0.6), chosen on 30 train questions by mrr@10 "
        "(0.900; dense 0.800, bm25 0.850).\n"
    )
