"""How many new tokens builtin:smollm2's answers take, to set `model.max_new_tokens` from a measurement.

    env -u PYTHONDONTWRITEBYTECODE .venv/bin/python benchmarks/answer_length.py [--budget 128] [--questions 80]

The demo's eval questions, in the prompt sets the demo's systems see (`eval_throughput.prompt_sets`:
closed book for `base` and `ft`, few-shot with 3 train examples for `fewshot`, RAG with one chunk for
`rag` and `rag_ft`; rendered as evaluation renders them, chat template included), answered as the
`evaluate` rule answers them (`ragft.models.generate.generations`: greedy, batches of
`model.batch_size`, stopping at `model.stop` "\\n" or the end of turn) but with a generous budget
(`--budget`, 128 new tokens). An answer's length is the new tokens it took up to and with the
token that ended it, so it fits a budget of that many tokens; an answer still going at `--budget`
is counted as longer (a runaway: it had not ended at `--budget`). Prints the distribution per prompt set and
pooled (each set once, and weighted by the demo's systems that use it), how many answers each budget
would cut, and the smallest budget that ≥ 99% of the answers fit, of all and of those that ended.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import torch
from eval_throughput import CONFIG, ROOT, SYSTEMS_PER_SET, cpu, demo_split, load_model, prompt_sets

from ragft.evaluate.answer import generate_kwargs, generation_settings
from ragft.models.generate import generations

BUDGETS = (16, 20, 24, 32, 40, 48, 64, 96)


def percentile(lengths: list[int], q: float) -> int:
    """The nearest-rank q-th percentile (the smallest length that q% of the answers do not exceed)."""
    ordered = sorted(lengths)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def row(name: str, lengths: list[int], budget: int) -> str:
    """One table row: n, median, p90, p95, p99, max (`> budget` when one ran out), runaways and the longest
    answer that ended, cut at each of BUDGETS."""
    show = lambda v: f"> {budget}" if v > budget else str(v)  # noqa: E731
    ended = [n for n in lengths if n <= budget]
    stats = [show(percentile(lengths, q)) for q in (50, 90, 95, 99, 100)]
    stats += [str(len(lengths) - len(ended)), str(max(ended, default=0))]
    cuts = [sum(n > b for n in lengths) for b in BUDGETS]
    return f"| {name} | {len(lengths)} | " + " | ".join(stats + [str(c) for c in cuts]) + " |"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=str(ROOT / "resources" / "models" / "smollm2"))
    ap.add_argument("--questions", type=int, default=80, help="eval questions (the demo has 80)")
    ap.add_argument("--budget", type=int, default=128, help="max_new_tokens of the measurement")
    ap.add_argument("--threads", type=int, default=2, help="torch threads")
    args = ap.parse_args()
    model, tok = load_model(args.model, args.threads)
    g = generation_settings(CONFIG["model"], max_new_tokens=args.budget)
    with tempfile.TemporaryDirectory() as tmp:
        questions, train, chunks = demo_split(Path(tmp))
    questions = questions[: args.questions]
    print(f"model: {args.model}; {cpu()}; torch {torch.__version__}")
    print(f"greedy, {args.budget} new tokens at most, stop {g['stop']}, batch {g['batch_size']}, "
          f"{len(questions)} eval questions\n")
    lengths, longest = {}, {}
    for name, texts in prompt_sets(model, tok, questions, train, chunks, g).items():
        start = time.perf_counter()
        answers = generations(model, tok, texts, **generate_kwargs(g))
        lengths[name] = [a.tokens + a.cut for a in answers]  # a cut answer needs more than the budget
        longest[name] = max(answers, key=lambda a: a.tokens + a.cut).text
        print(f"{name}: {len(texts)} answers in {time.perf_counter() - start:.1f} s")
    pooled = [n for v in lengths.values() for n in v]
    weighted = [n for name, v in lengths.items() for n in v
                * next(w for k, w in SYSTEMS_PER_SET.items() if name.startswith(k))]
    print("\n| prompts | answers | median | p90 | p95 | p99 | max | runaways | longest that ended | "
          + " | ".join(f"cut at {b}" for b in BUDGETS) + " |")
    print("|---|" + "---:|" * (8 + len(BUDGETS)))
    for name, v in lengths.items():
        print(row(name, v, args.budget))
    print(row("all three sets", pooled, args.budget))
    print(row("the demo's 5 systems (sets weighted by systems)", weighted, args.budget))
    print(f"\nsmallest budget that >= 99% of the answers fit: {percentile(pooled, 99)} (all sets), "
          f"{percentile(weighted, 99)} (weighted by systems); of the answers that ended within {args.budget}: "
          f"{percentile([n for n in pooled if n <= args.budget], 99)}, "
          f"{percentile([n for n in weighted if n <= args.budget], 99)}")
    for name, text in longest.items():
        print(f"- longest answer, {name}: {text[:160]!r}")


if __name__ == "__main__":
    main()
