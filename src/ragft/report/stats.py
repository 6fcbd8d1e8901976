"""The comparison's statistics: intervals that stay honest at 0 and 1, paired p-values on questions
matched by id, training-seed replicates (a two-level bootstrap) and Holm's adjustment.

A system's scores are one (replicates x questions) array per metric, questions in id order: one row
for a system without an adapter, one per trained adapter (`finetune.replicates`) for a fine-tuned one.
Every bootstrap draws the questions first, with the generator seeded by `seed`, then (for systems
with replicates) the replicates, with a second generator seeded by `(seed, replicates)`; so a system
without replicates gets exactly the one-level bootstrap, and systems with the same number of
replicates are resampled by the same replicate draws (the replicates of one recipe stay paired).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import binomtest

RATES = frozenset({"accuracy", "exact_match", "judge"})  # 0 or 1 per question
BOUNDED = frozenset({"f1", "rouge_l"})  # in [0, 1] per question
ALPHA = 0.05
TIE = 1e-12  # bootstrap differences closer to 0 than this are ties (float noise of equal means)


@dataclass(frozen=True)
class Scores:
    """One system's per-question scores: `values[metric]` is (replicates, questions), NaN where a
    metric is missing; `ids` the questions' ids in that column order."""

    ids: tuple[str, ...]
    values: Mapping[str, np.ndarray]

    @property
    def replicates(self) -> int:
        return next(iter(self.values.values())).shape[0] if self.values else 1

    @classmethod
    def from_runs(cls, runs: Sequence[Mapping[str, Sequence]]) -> Scores:
        """The scores of a system's runs (one per replicate), each `{"id": [...], metric: [...]}` as
        `report.tables.system_scores` gives; every run must have scored the same questions."""
        ids = tuple(runs[0]["id"])
        for run in runs[1:]:
            if tuple(run["id"]) != ids:
                raise ValueError(f"the replicates were scored on different questions ({_differ(ids, run['id'])})")
        metrics = [m for m in runs[0] if m != "id" and all(m in r for r in runs)]
        return cls(ids, {m: np.asarray([r[m] for r in runs], dtype=float) for m in metrics})


def _differ(a: Sequence[str], b: Sequence[str]) -> str:
    only_a, only_b = sorted(set(a) - set(b)), sorted(set(b) - set(a))
    first = (only_a or only_b or ["(same ids, another order)"])[0]
    return f"{len(only_a)} ids only in one, {len(only_b)} only in the other; first: {first}"


def _question_draws(n_questions: int, n_boot: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n_questions, size=(n_boot, n_questions))


def _replicate_draws(n_replicates: int, n_boot: int, seed: int) -> np.ndarray | None:
    if n_replicates == 1:
        return None
    return np.random.default_rng((seed, n_replicates)).integers(0, n_replicates, size=(n_boot, n_replicates))


def _boot_means(values: np.ndarray, q: np.ndarray, r: np.ndarray | None) -> np.ndarray:
    """Per draw b: the mean over draw b's replicates of each one's mean over draw b's questions."""
    per_replicate = values[:, q].mean(axis=2)  # (replicates, n_boot)
    if r is None:
        return per_replicate[0]
    return np.take_along_axis(per_replicate.T, r, axis=1).mean(axis=1)


def _complete(values: np.ndarray) -> np.ndarray:
    """The question columns without a missing value in any replicate."""
    return values[:, ~np.isnan(values).any(axis=0)]


def wilson(successes: int, n: int, alpha: float = ALPHA) -> tuple[float, float]:
    """Wilson's score interval for a rate (scipy's), which is not [0, 0] at 0 of n."""
    ci = binomtest(int(successes), int(n)).proportion_ci(confidence_level=1 - alpha, method="wilson")
    return float(ci.low), float(ci.high)


def interval(metric: str, values: np.ndarray, n_boot: int = 1000, seed: int = 0, alpha: float = ALPHA) -> dict:
    """A metric's mean over replicates (of its mean over questions) with a (1 - alpha) interval:

    - a rate (accuracy, exact_match, judge) of one run: Wilson's score interval over the questions;
    - with replicates: the percentile two-level bootstrap (questions, then replicates);
    - one run of another metric: the percentile bootstrap over questions;
    - a [0, 1] metric on which every question of every run scored the same 0 or 1: Wilson's interval
      of 0 (or n) of n, where a bootstrap would claim the certainty [0, 0].
    Questions a metric is missing for are left out (`n` counts the rest); with none left all is None.
    Replicates: `seed_min`, `seed_max` and `seed_sd` of the replicates' means (None for one run)."""
    x = _complete(np.atleast_2d(np.asarray(values, dtype=float)))
    n_rep, n = x.shape
    out = {"mean": None, "lo": None, "hi": None, "n": n, "replicates": n_rep,
           "seed_min": None, "seed_max": None, "seed_sd": None}
    if n == 0:
        return out
    means = x.mean(axis=1)
    out["mean"] = float(means.mean())
    if n_rep > 1:
        out.update(seed_min=float(means.min()), seed_max=float(means.max()), seed_sd=float(means.std(ddof=1)))
    constant = metric in RATES | BOUNDED and np.all(x == x.flat[0]) and x.flat[0] in (0.0, 1.0)
    if constant or (metric in RATES and n_rep == 1):
        lo, hi = wilson(round(out["mean"] * n), n, alpha)
    else:
        boot = _boot_means(x, _question_draws(n, n_boot, seed), _replicate_draws(n_rep, n_boot, seed))
        lo, hi = np.quantile(boot, [alpha / 2, 1 - alpha / 2])
    out["lo"], out["hi"] = float(lo), float(hi)
    return out


def paired_p(a: Scores, b: Scores, metric: str, n_boot: int = 1000, seed: int = 0) -> float:
    """Two-sided p for equal means of `metric` in a and b on the same questions, matched by id: the
    bootstrap (two-level where either has replicates) of the difference of the means; p =
    2(k+1)/(n_boot+1) for k draws at or past zero opposite the observed difference, at most 1.
    Raises when a and b were not scored on the same questions."""
    if a.ids != b.ids:
        raise ValueError(f"two systems were not scored on the same questions ({_differ(a.ids, b.ids)})")
    x, y = np.atleast_2d(a.values[metric]), np.atleast_2d(b.values[metric])
    keep = ~(np.isnan(x).any(axis=0) | np.isnan(y).any(axis=0))
    x, y = x[:, keep], y[:, keep]
    if x.shape[1] == 0:
        return 1.0
    observed = x.mean(axis=1).mean() - y.mean(axis=1).mean()
    if abs(observed) < TIE:
        return 1.0
    q = _question_draws(x.shape[1], n_boot, seed)
    if x.shape[0] == y.shape[0]:  # same replicate draws: mean(x[r]) - mean(y[r]) = mean((x - y)[r])
        boot = _boot_means(x - y, q, _replicate_draws(x.shape[0], n_boot, seed))
    else:
        boot = (_boot_means(x, q, _replicate_draws(x.shape[0], n_boot, seed))
                - _boot_means(y, q, _replicate_draws(y.shape[0], n_boot, seed)))
    boot = np.where(np.abs(boot) < TIE, 0.0, boot)
    opposite = int(np.sum(boot <= 0) if observed > 0 else np.sum(boot >= 0))
    return min(1.0, 2 * (opposite + 1) / (n_boot + 1))


def p_floor(n_boot: int) -> float:
    """The smallest p `paired_p` gives: no draw on the other side of zero."""
    return 2 / (n_boot + 1)


def format_p(p: float, n_boot: int) -> str:
    """A p-value with three decimals, or `< x` at the bootstrap's floor (x: the floor rounded up to
    two significant digits), which means the resamples could not tell how small it is."""
    floor = p_floor(n_boot)
    if p <= floor * (1 + 1e-9):
        digits = 1 - math.floor(math.log10(floor))  # two significant digits
        bound = math.ceil(floor * 10**digits - 1e-9) / 10**digits
        return "< " + f"{bound:.{digits}f}".rstrip("0")
    return f"{p:.3f}"


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment of one family of p-values (statsmodels' `multipletests(method=
    "holm")` gives the same): the i-th smallest times (m - i), made monotone, at most 1."""
    order = np.argsort(pvalues, kind="stable")
    m, running, out = len(pvalues), 0.0, [0.0] * len(pvalues)
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        out[i] = running
    return out
