"""Generated questions against gold: side-by-side values, Kendall's tau-b (checked against scipy's) and the
pairs the generated questions order the other way round."""

import math

import pandas as pd
import pytest
from scipy.stats import kendalltau

from ragft.report.validation import (
    agreement,
    disagreements,
    retriever_scores,
    system_scores,
    validate,
    validation_markdown,
    wide,
)

SYSTEMS = ["base", "fewshot", "rag", "ft", "rag_ft"]
GOLD = pd.DataFrame({"system": SYSTEMS, "n": [80] * 5, "accuracy": [0.1, 0.2, 0.3, 0.4, 0.5],
                     "gold_nll": [5.0, 4.0, 3.0, 2.0, 1.0], "rouge_l": [math.nan] * 5, "f1": [0.2] * 5})
# fewshot and rag swapped on accuracy and on gold_nll; rouge_l all NaN; f1 in gold only varies here
GENERATED = pd.DataFrame({"system": SYSTEMS, "n": [100] * 5, "accuracy": [0.1, 0.3, 0.2, 0.4, 0.5],
                          "gold_nll": [5.0, 3.0, 4.0, 2.0, 1.0], "rouge_l": [math.nan] * 5,
                          "f1": [0.1, 0.2, 0.3, 0.4, 0.5]})


def test_one_swapped_pair_of_five_is_tau_0_8_as_scipy_has_it():
    gold = dict(zip(SYSTEMS, GOLD["accuracy"]))
    generated = dict(zip(SYSTEMS, GENERATED["accuracy"]))
    a = agreement(gold, generated, "accuracy")
    reference = kendalltau(GOLD["accuracy"], GENERATED["accuracy"])
    assert a["n"] == 5 and a["tau"] == pytest.approx(0.8) and a["tau"] == pytest.approx(reference.statistic)
    assert a["p"] == pytest.approx(1 / 12) and a["p"] == pytest.approx(reference.pvalue)  # exact: 10 of 120 orders
    assert a["note"] == ""
    discordant, ties = disagreements(gold, generated, "accuracy")
    assert ties == []
    assert len(discordant) == 1
    d = discordant[0]
    assert (d["metric"], d["better on gold"], d["better on generated"]) == ("accuracy", "rag", "fewshot")
    assert d["gold difference"] == pytest.approx(0.1) and d["generated difference"] == pytest.approx(-0.1)


def test_lower_is_better_keeps_tau_and_turns_who_is_better():
    gold = dict(zip(SYSTEMS, GOLD["gold_nll"]))
    generated = dict(zip(SYSTEMS, GENERATED["gold_nll"]))
    a = agreement(gold, generated, "gold_nll")
    assert a["tau"] == pytest.approx(0.8) and a["note"] == "lower is better (the direction leaves tau unchanged)"
    (d,), _ = disagreements(gold, generated, "gold_nll")
    # gold: rag 3.0 beats fewshot 4.0; generated: fewshot 3.0 beats rag 4.0
    assert (d["better on gold"], d["better on generated"], d["gold difference"], d["generated difference"]) == (
        "rag", "fewshot", -1.0, 1.0)


def test_ties_are_tau_b_and_listed_apart():
    names = [f"s{i}" for i in range(6)]
    g, h = [1, 2, 2, 3, 4, 5], [2, 1, 3, 3, 5, 4]
    a = agreement(dict(zip(names, g)), dict(zip(names, h)))
    # 11 concordant, 2 discordant, one pair tied in each: (11 - 2) / sqrt(14 * 14)
    assert a["tau"] == pytest.approx(9 / 14) and a["tau"] == pytest.approx(kendalltau(g, h, variant="b").statistic)
    assert a["p"] == pytest.approx(kendalltau(g, h).pvalue)
    discordant, ties = disagreements(dict(zip(names, g)), dict(zip(names, h)))
    assert [(d["better on gold"], d["better on generated"]) for d in discordant] == [("s1", "s0"), ("s5", "s4")]
    assert ties == [{"metric": "", "a": "s1", "b": "s2", "gold a - b": 0, "generated a - b": -2},
                    {"metric": "", "a": "s2", "b": "s3", "gold a - b": -1, "generated a - b": 0}]


def test_undefined_tau_says_why():
    one = agreement({"a": 1.0}, {"a": 2.0, "b": 3.0})
    assert (one["n"], math.isnan(one["tau"]), one["note"]) == (1, True, "undefined: fewer than 2 in both")
    flat = agreement({"a": 0.2, "b": 0.2, "c": 0.2}, {"a": 0.1, "b": 0.2, "c": 0.3}, "gold_nll")
    assert (flat["n"], math.isnan(flat["tau"]), math.isnan(flat["p"])) == (3, True, True)
    assert flat["note"] == "undefined: all gold values equal; lower is better (the direction leaves tau unchanged)"
    assert agreement({"a": 1, "b": 2}, {"a": 5, "b": 5})["note"] == "undefined: all generated values equal"


def test_scores_skip_absent_and_all_nan_columns():
    assert list(system_scores(GOLD)) == ["f1", "accuracy", "gold_nll"]  # ANSWER_METRICS' order; rouge_l all NaN
    metrics = {"dense": {"recall@1": 0.5, "mrr@10": 0.6, "n": 80, "queries_per_s": 99.0},
               "bm25": {"recall@1": 0.7, "mrr@10": 0.8, "n": 80, "queries_per_s": 6000.0}}
    assert retriever_scores(metrics) == {"recall@1": {"dense": 0.5, "bm25": 0.7}, "mrr@10": {"dense": 0.6, "bm25": 0.8}}


def test_validate_puts_systems_and_retrievers_side_by_side():
    gold_r = {"dense": {"recall@1": 0.5, "mrr@10": 0.6}, "bm25": {"recall@1": 0.7, "mrr@10": 0.8},
              "hybrid": {"recall@1": 0.9, "mrr@10": 0.9}}
    gen_r = {"dense": {"recall@1": 0.8, "mrr@10": 0.6}, "bm25": {"recall@1": 0.7, "mrr@10": 0.8},
             "hybrid": {"recall@1": 0.9, "mrr@10": 0.95}, "rerank": {"recall@1": 1.0, "mrr@10": 1.0}}
    out = validate(GOLD, GENERATED, gold_r, gen_r)
    acc = out["systems"][out["systems"]["metric"] == "accuracy"]
    assert acc[["system", "gold", "generated"]].values.tolist() == [
        ["base", 0.1, 0.1], ["fewshot", 0.2, 0.3], ["rag", 0.3, 0.2], ["ft", 0.4, 0.4], ["rag_ft", 0.5, 0.5]]
    agree = out["agreement"].set_index(["kind", "metric"])
    assert agree.loc[("system", "accuracy"), "tau"] == pytest.approx(0.8)
    assert agree.loc[("system", "f1"), "note"] == "undefined: all gold values equal"
    assert ("system", "rouge_l") not in agree.index
    # rerank only in the generated run: shown, not ranked; dense and bm25 swap on recall@1
    assert agree.loc[("retriever", "recall@1"), "n"] == 3
    assert agree.loc[("retriever", "recall@1"), "tau"] == pytest.approx(1 / 3)
    assert agree.loc[("retriever", "mrr@10"), "tau"] == pytest.approx(1.0)
    rerank = out["retrievers"][out["retrievers"]["retriever"] == "rerank"]
    assert rerank["gold"].isna().all() and rerank["generated"].tolist() == [1.0, 1.0]
    d = out["discordant"]
    assert d[["kind", "metric", "better on gold", "better on generated"]].values.tolist() == [
        ["system", "accuracy", "rag", "fewshot"], ["system", "gold_nll", "rag", "fewshot"],
        ["retriever", "recall@1", "bm25", "dense"]]
    assert wide(out["retrievers"], "retriever").values.tolist() == [
        ["recall@1", "0.500 / 0.800", "0.700 / 0.700", "0.900 / 0.900", "- / 1.000"],
        ["mrr@10", "0.600 / 0.600", "0.800 / 0.800", "0.900 / 0.950", "- / 1.000"]]
    text = validation_markdown(out, "results/demo", "results/demo_generated")
    assert "| accuracy | 0.100 / 0.100 | 0.200 / 0.300 | 0.300 / 0.200 | 0.400 / 0.400 | 0.500 / 0.500 |" in " ".join(
        text.split())
    assert "| retriever | recall@1 | bm25 | dense | 0.200 | -0.100 |" in " ".join(text.split())
    # f1: gold ties every pair, generated none: all 10 pairs are ties on one side only
    ties = out["ties"]
    assert ties["metric"].tolist() == ["f1"] * 10 and ties.iloc[0][["a", "b"]].tolist() == ["base", "fewshot"]
    assert ties.iloc[0]["gold a - b"] == 0 and ties.iloc[0]["generated a - b"] == pytest.approx(-0.1)
    assert "## Ties on one side only" in text and "| system | f1 | base | fewshot | 0.000 | -0.100 |" in " ".join(text.split())
