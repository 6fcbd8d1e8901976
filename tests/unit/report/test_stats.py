"""The table's statistics against the libraries and direct reimplementations that do the same:
Wilson intervals (statsmodels), Holm (statsmodels), the two-level bootstrap (a plain loop)."""

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from ragft.report.stats import (
    Scores,
    format_p,
    holm,
    interval,
    p_floor,
    paired_p,
    wilson,
)


def scores(ids, **metrics):
    return Scores(tuple(ids), {m: np.atleast_2d(np.asarray(v, dtype=float)) for m, v in metrics.items()})


@pytest.mark.parametrize("k,n", [(0, 150), (150, 150), (1, 80), (37, 80), (68, 80)])
def test_wilson_equals_statsmodels(k, n):
    assert wilson(k, n) == pytest.approx(proportion_confint(k, n, alpha=0.05, method="wilson"), abs=1e-12)


def test_a_rate_of_zero_gets_an_interval_that_is_not_a_point():
    out = interval("accuracy", np.zeros((1, 150)))
    assert out["mean"] == 0.0 and out["lo"] == pytest.approx(0.0, abs=1e-15)
    assert out["hi"] == pytest.approx(3.8415 / (150 + 3.8415), abs=1e-4)  # z^2/(n+z^2) = 0.02497
    # a rate of one run is Wilson's, not a bootstrap's, also away from 0 and 1
    assert interval("exact_match", np.array([[1] * 30 + [0] * 50]))["lo"] == pytest.approx(
        proportion_confint(30, 80, method="wilson")[0], abs=1e-12)
    # F1 that is 1 on every question of three replicates: Wilson's of 80 of 80, not [1, 1]
    f1 = interval("f1", np.ones((3, 80)))
    assert (f1["mean"], f1["hi"]) == (1.0, pytest.approx(1.0))
    assert f1["lo"] == pytest.approx(proportion_confint(80, 80, method="wilson")[0], abs=1e-12)
    # an unbounded metric keeps the bootstrap (a constant NLL is a point)
    nll = interval("gold_nll", np.full((1, 5), 2.0))
    assert (nll["mean"], nll["lo"], nll["hi"]) == (2.0, 2.0, 2.0)


def test_one_run_is_the_percentile_bootstrap_over_questions():
    values = [0.1, 0.4, 0.35, 0.8, 0.05, 0.9, 0.6, 0.2]
    # exact figures: numpy's default_rng streams are stable, so a seed pins every interval
    out = interval("f1", np.array([values]), n_boot=200, seed=3)
    assert out == {"mean": 0.425, "lo": pytest.approx(0.23109375), "hi": pytest.approx(0.6503125), "n": 8,
                   "replicates": 1, "seed_min": None, "seed_max": None, "seed_sd": None}
    idx = np.random.default_rng(3).integers(0, 8, size=(200, 8))
    assert [out["lo"], out["hi"]] == pytest.approx(np.quantile(np.asarray(values)[idx].mean(axis=1), [0.025, 0.975]))
    # a question without a score is left out (n counts the rest)
    missing = interval("gold_nll", np.array([[1.0, np.nan, 3.0]]))
    assert (missing["mean"], missing["n"]) == (2.0, 2)
    assert interval("gold_nll", np.full((1, 3), np.nan))["mean"] is None


def test_replicates_are_a_two_level_bootstrap():
    rng = np.random.default_rng(0)
    values = rng.random((3, 40))
    out = interval("f1", values, n_boot=300, seed=5)
    # the same statistic by a plain loop: questions drawn first (seed), then replicates ((seed, 3))
    q = np.random.default_rng(5).integers(0, 40, size=(300, 40))
    r = np.random.default_rng((5, 3)).integers(0, 3, size=(300, 3))
    boot = [np.mean([values[j, q[b]].mean() for j in r[b]]) for b in range(300)]
    assert [out["lo"], out["hi"]] == pytest.approx(np.quantile(boot, [0.025, 0.975]), abs=1e-12)
    means = values.mean(axis=1)
    assert out["mean"] == pytest.approx(means.mean())
    assert (out["seed_min"], out["seed_max"], out["seed_sd"]) == pytest.approx((means.min(), means.max(), means.std(ddof=1)))
    # seeds that disagree widen the interval: one replicate's values shifted by 0.3
    spread = values + np.array([[0.0], [0.3], [0.0]])
    wide = interval("gold_nll", spread, n_boot=300, seed=5)
    assert wide["hi"] - wide["lo"] > 1.5 * (out["hi"] - out["lo"])  # 0.293 against 0.185


def test_paired_p_of_one_run_each_is_the_paired_bootstrap():
    a, b = [1, 1, 0, 1, 0, 1, 1, 0], [0, 1, 0, 0, 0, 1, 0, 0]
    ids = [f"q{i}" for i in range(8)]
    assert paired_p(scores(ids, m=a), scores(ids, m=b), "m", n_boot=500, seed=11) == pytest.approx(22 / 501)
    assert paired_p(scores(ids, m=a), scores(ids, m=b), "m", n_boot=500, seed=12) == pytest.approx(24 / 501)
    d = np.subtract(a, b)
    idx = np.random.default_rng(11).integers(0, 8, size=(500, 8))
    assert 2 * (np.sum(d[idx].mean(axis=1) <= 0) + 1) / 501 == pytest.approx(22 / 501)
    same = scores(ids, m=[0.1] * 8)
    assert paired_p(same, same, "m") == 1.0
    all_better = scores(range(50), m=[1] * 50)
    assert paired_p(all_better, scores(range(50), m=[0] * 50), "m") == pytest.approx(p_floor(1000))


def test_paired_p_needs_the_same_question_ids():
    a = scores(["q1", "q2", "q3"], m=[1, 0, 1])
    with pytest.raises(ValueError, match="1 ids only in one, 1 only in the other; first: q3"):
        paired_p(a, scores(["q1", "q2", "q4"], m=[1, 0, 1]), "m")


def test_paired_p_with_replicates():
    rng = np.random.default_rng(1)
    base = rng.integers(0, 2, size=(1, 60)).astype(float)
    ft = np.clip(base + rng.integers(0, 2, size=(3, 60)), 0, 1)  # three adapters, each at least as good
    ids = [f"q{i}" for i in range(60)]
    p = paired_p(scores(ids, m=ft), scores(ids, m=base), "m", n_boot=400, seed=2)
    q = np.random.default_rng(2).integers(0, 60, size=(400, 60))
    r = np.random.default_rng((2, 3)).integers(0, 3, size=(400, 3))
    boot = [np.mean([ft[j, q[b]].mean() for j in r[b]]) - base[0, q[b]].mean() for b in range(400)]
    assert p == pytest.approx(2 * (np.sum(np.asarray(boot) <= 1e-12) + 1) / 401)
    # two systems of the same recipe's replicates: replicate j against replicate j
    other = np.clip(ft - rng.integers(0, 2, size=(3, 60)), 0, 1)
    p2 = paired_p(scores(ids, m=ft), scores(ids, m=other), "m", n_boot=400, seed=2)
    boot2 = [np.mean([(ft[j] - other[j])[q[b]].mean() for j in r[b]]) for b in range(400)]
    assert p2 == pytest.approx(2 * (np.sum(np.asarray(boot2) <= 1e-12) + 1) / 401)


def test_format_p_at_the_floor():
    assert format_p(p_floor(1000), 1000) == "< 0.002"
    assert format_p(p_floor(10000), 10000) == "< 0.0002"
    assert format_p(p_floor(300), 300) == "< 0.0067"  # 2/301 = 0.006645: the bound is rounded up
    assert format_p(0.0123, 1000) == "0.012" and format_p(1.0, 200) == "1.000"
    assert format_p(3 / 1001, 1000) == "0.003"


@pytest.mark.parametrize("pvalues", [[0.01, 0.04, 0.03, 0.005], [0.5, 0.002, 0.002, 0.9, 0.04], [1.0], [0.2, 0.2]])
def test_holm_equals_statsmodels(pvalues):
    assert holm(pvalues) == pytest.approx(list(multipletests(pvalues, method="holm")[1]), abs=1e-15)
