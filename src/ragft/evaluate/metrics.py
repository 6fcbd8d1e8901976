"""Answer-quality metrics: pure functions over strings and floats.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache

import numpy as np

from ragft.answers import holds_answer, normalize_answer, token_f1  # noqa: F401 (token_f1 is a metric of this module)

ANSWER_METRICS = ("exact_match", "f1", "rouge_l", "accuracy", "gold_nll")  # the order of a table by default (report.metrics sets it)


LOWER_IS_BETTER = frozenset({"gold_nll"})


def exact_match(prediction: str, answers: Sequence[str]) -> float:
    """1.0 if the normalised prediction equals any normalised gold answer."""
    pred = normalize_answer(prediction)
    return max((float(pred == normalize_answer(a)) for a in answers), default=0.0)


def answer_accuracy(prediction: str, answers: Sequence[str]) -> float:
    """1.0 if a normalised gold answer occurs, as whole tokens, in the normalised prediction."""
    if holds_answer(prediction, answers):
        return 1.0
    # a gold answer that normalises to nothing matches only a prediction that does too
    return float(not normalize_answer(prediction) and any(not normalize_answer(a) for a in answers))


@cache
def _rouge_l_scorer():
    # imported on first use: rouge_score imports all of nltk (for the stemmer left off here), seconds
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)


def rouge_l(prediction: str, answers: Sequence[str]) -> float:
    """Google rouge-score's ROUGE-L F-measure (its tokens: lower-case ASCII letter and digit runs,
    no stemming), best over gold answers; 0.0 where either side has no token."""
    scorer = _rouge_l_scorer()
    return max((scorer.score(a, prediction)["rougeL"].fmeasure for a in answers), default=0.0)


def per_question(predictions: Sequence[dict]) -> dict[str, list[float]]:
    """Per-question accuracy, exact_match, f1, rouge_l and gold_nll (NaN where missing), in id order,
    with the ids under `id`."""
    preds = sorted(predictions, key=lambda p: p["id"])
    nll = [p.get("gold_nll") for p in preds]
    return {
        "id": [p["id"] for p in preds],
        "accuracy": [answer_accuracy(p["prediction"], p["answers"]) for p in preds],
        "exact_match": [exact_match(p["prediction"], p["answers"]) for p in preds],
        "f1": [token_f1(p["prediction"], p["answers"]) for p in preds],
        "rouge_l": [rouge_l(p["prediction"], p["answers"]) for p in preds],
        "gold_nll": [math.nan if v is None else float(v) for v in nll],
    }


def quality_means(scores: dict[str, Sequence[float]]) -> dict:
    """Each metric's mean over the questions it has a score for (NaN skipped; None with none). The
    intervals are the report's (ragft.report.stats), so that a statistics setting reruns only it."""
    out = {}
    for name, values in scores.items():
        x = np.asarray(values, dtype=float)
        x = x[~np.isnan(x)]
        out[name] = {"mean": float(x.mean()) if len(x) else None}
    return out


def aggregate_answers(predictions: Sequence[dict]) -> dict:
    """System metrics: each quality metric's mean, mean cost per question (prompt tokens, seconds,
    and the questions/s they make), how many prompts were truncated and how many answers were cut at
    max_new_tokens (`cut`: count and share)."""
    scores = per_question(predictions)
    del scores["id"]
    out: dict = {"n": len(predictions), **quality_means(scores)}
    for cost in ("prompt_tokens", "latency_s"):
        vals = [p[cost] for p in predictions if p.get(cost) is not None]
        out[cost] = float(np.mean(vals)) if vals else None
    out["questions_per_s"] = 1 / out["latency_s"] if out["latency_s"] else None
    if any("truncated_tokens" in p for p in predictions):
        cut = [p.get("truncated_tokens") or 0 for p in predictions]
        out["truncated"] = {"prompts": sum(c > 0 for c in cut), "tokens": sum(cut)}
    if any("cut" in p for p in predictions):
        n = sum(bool(p.get("cut")) for p in predictions)
        out["cut"] = {"answers": n, "share": n / len(predictions)}
    return out
