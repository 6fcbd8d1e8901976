"""LLM-as-judge (optional, off by default): a local causal LM reads a question, its gold answers and
a system's answer and says whether the answer is right. The verdict is read, teacher forced, from
the judge's likelihood of continuing the prompt with yes against no (each spelt with and without a
capital): no sampling, nothing to parse, the same verdicts on every run, and any tokenizer works.
Only local models are used, never a hosted API."""

from __future__ import annotations

import math

from ragft.models import generate

DEFAULT_TEMPLATE = (
    "Grade an answer to a question against the gold answers.\n"
    "Question: {question}\n"
    "Gold answers: {answers}\n"
    "Proposed answer: {prediction}\n"
    "Does the proposed answer mean the same as a gold answer? Answer yes or no.\n"
    "Verdict:"
)
YES, NO = ("yes", "Yes"), ("no", "No")


def judge_prompts(predictions: list[dict], template: str | None = None) -> list[str]:
    """One grading prompt per prediction record, from `template` ({question}, {answers}, {prediction})."""
    t = template or DEFAULT_TEMPLATE
    return [t.format(question=p["question"], answers=" | ".join(p["answers"]), prediction=p["prediction"])
            for p in predictions]


def judge(model, tokenizer, predictions: list[dict], template: str | None = None, batch_size: int = 16,
          render=None) -> list[dict]:
    """`{"id", "judge", "p_yes"}` per prediction: p_yes = P(yes) / (P(yes) + P(no)), each the
    judge's probability of continuing the prompt with that word (" yes"/" Yes", or without the
    space after a chat template's `render`); judge = 1 when p_yes > 0.5. An empty prediction is
    judged 0 without asking."""
    sep = "" if render else " "
    words = [sep + w for w in (*YES, *NO)]
    prompts = [render(p) if render else p for p in judge_prompts(predictions, template)]
    asked = [i for i, p in enumerate(predictions) if p["prediction"].strip()]
    lengths = {w: len(tokenizer(w, add_special_tokens=False)["input_ids"]) for w in words}
    nll = generate.answer_nll(model, tokenizer, [prompts[i] for i in asked for _ in words], words * len(asked),
                              batch_size=batch_size, answer=lambda a: a)
    p_yes = [0.0] * len(predictions)
    for j, i in enumerate(asked):
        logp = [-nll[j * len(words) + k] * lengths[w] for k, w in enumerate(words)]  # log P(word | prompt)
        top = max(logp)
        yes = sum(math.exp(v - top) for v in logp[: len(YES)])
        no = sum(math.exp(v - top) for v in logp[len(YES) :])
        p_yes[i] = yes / (yes + no)
    return [{"id": p["id"], "judge": int(py > 0.5), "p_yes": round(py, 6)} for p, py in zip(predictions, p_yes)]
