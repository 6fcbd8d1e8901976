"""What a training run will see, before it runs: token statistics per builder, format errors, the
estimated steps, tokens and time, and the word n-gram contamination of the eval questions (overlap
with the corpus text of the `chunks` builder is knowledge injection, reported apart).
"""

from __future__ import annotations

import json
import math
import re
import time
from pathlib import Path

import torch

from ragft.config import recipe_defaults
from ragft.finetune.collate import Collator
from ragft.models.batches import pack_lengths
from ragft.qa.groups import gold_keys


def words(text: str) -> list[str]:
    """Lower-cased word tokens, the unit of the contamination n-grams."""
    return re.findall(r"\w+", text.lower())


# Builders whose examples are the corpus text itself (continued pretraining): an eval question found in
# them is the knowledge being injected (a generated question is a corpus sentence), not contamination.
KNOWLEDGE_BUILDERS = frozenset({"chunks"})


def builder_of(example: dict) -> str:
    """The builder that made a training example: its `builder`, else its id's prefix before ':'."""
    return example.get("builder") or example["id"].split(":", 1)[0]


def _wanted_ngrams(eval_questions: list[dict], n: int) -> dict[int, dict[tuple, set]]:
    """n-gram length -> n-gram -> {(eval id, field)}: each question's word n-grams (the whole question
    when shorter), and those of each answer of n words or more."""
    wanted: dict[int, dict[tuple, set]] = {}
    for q in eval_questions:
        for field, texts in (("question", [q["question"]]), ("answer", q.get("answers", []))):
            for text in texts:
                w = words(text)
                if len(w) < n and (field == "answer" or not w):
                    continue
                size = min(n, len(w))
                for i in range(len(w) - size + 1):
                    wanted.setdefault(size, {}).setdefault(tuple(w[i : i + size]), set()).add((q["id"], field))
    return wanted


def contamination(eval_questions: list[dict], data: list[dict], n: int = 13, train_questions: list[dict] | None = None) -> dict:
    """Word n-gram overlap between each eval question (and each answer) and the training examples,
    per builder, and the near-paraphrases among them.

    An eval question overlaps a training example when one of its word n-grams, or the whole question
    when it is shorter than n words, occurs in the example's prompt or completion; answers of n words
    or more count the same way (shorter answers are skipped: knowledge injection puts them in the
    training text on purpose). `by_builder`: eval questions overlapped by each builder's examples.
    It is contamination only through a builder other than KNOWLEDGE_BUILDERS (`chunks`, the corpus
    text, which holds a generated question's sentence on purpose): `contaminated`, the contaminated
    eval ids, `by_field`, up to 5 matching example ids each (`matches`) and `train_ids` (every
    matching example, the ones `decontamination.drop` removes) count those builders only. An eval
    question overlapped only by `chunks` is counted in `knowledge_injection` (and its ids listed).

    `paraphrases`: training examples built from a train question (id `{builder}:{question id}`)
    that shares a gold doc and a normalised answer with an eval question (ragft.qa.groups) — a
    paraphrase no n-gram sees. Counted and listed (eval id -> up to 5 example ids), never dropped."""
    wanted = _wanted_ngrams(eval_questions, n)
    hits: dict[str, dict[str, set]] = {}  # eval id -> builder -> example ids
    fields: dict[str, set] = {}  # field -> contaminated eval ids
    for e in data:
        w, builder = words(e["prompt"] + "\n" + e["completion"]), builder_of(e)
        for size, grams in wanted.items():
            for i in range(len(w) - size + 1):
                for qid, field in grams.get(tuple(w[i : i + size]), ()):
                    hits.setdefault(qid, {}).setdefault(builder, set()).add(e["id"])
                    if builder not in KNOWLEDGE_BUILDERS:
                        fields.setdefault(field, set()).add(qid)
    leaked = {qid: set().union(*(ids for b, ids in by.items() if b not in KNOWLEDGE_BUILDERS)) for qid, by in hits.items()}
    ids = sorted(qid for qid, examples in leaked.items() if examples)
    injected = sorted(qid for qid in hits if not leaked[qid])
    builders = sorted({b for by in hits.values() for b in by})
    return {
        "ngram": n,
        "eval_questions": len(eval_questions),
        "contaminated": len(ids),
        "contaminated_ids": ids,
        "by_field": {f: len(fields.get(f, ())) for f in ("question", "answer")},
        "by_builder": {b: sum(b in by for by in hits.values()) for b in builders},
        "knowledge_injection": len(injected),
        "knowledge_injection_ids": injected,
        "matches": {qid: sorted(leaked[qid])[:5] for qid in ids},
        "train_ids": sorted(set().union(*(leaked[qid] for qid in ids))),
        "paraphrases": _paraphrases(eval_questions, data, train_questions or []),
    }


def decontaminate(data: list[dict], overlap: dict) -> tuple[list[dict], list[str]]:
    """`decontamination.drop`: the training examples without those that contaminate an eval question
    (`overlap["train_ids"]`, never the corpus text of KNOWLEDGE_BUILDERS), and the dropped ids."""
    dropped = set(overlap["train_ids"])
    return [e for e in data if e["id"] not in dropped], sorted(dropped)


def _paraphrases(eval_questions: list[dict], data: list[dict], train_questions: list[dict]) -> dict:
    """Training examples whose train question shares a (gold doc, normalised answer) pair with an eval question."""
    by_key: dict[tuple, set] = {}
    for q in eval_questions:
        for key in gold_keys(q):
            by_key.setdefault(key, set()).add(q["id"])
    keys = {q["id"]: gold_keys(q) for q in train_questions}
    hits: dict[str, set] = {}
    for e in data:
        source = e["id"].split(":", 1)[-1]
        for key in keys.get(source, ()):
            for qid in by_key.get(key, ()):
                hits.setdefault(qid, set()).add(e["id"])
    return {
        "eval_questions": len(hits),
        "examples": len(set().union(*hits.values())) if hits else 0,
        "matches": {qid: sorted(hits[qid])[:5] for qid in sorted(hits)},
    }


def count_parameters(base_path: str) -> int | None:
    """Parameters stored in a model directory's safetensors files (headers only), or None."""
    from safetensors import safe_open

    files = sorted(Path(base_path).glob("*.safetensors")) if Path(base_path).is_dir() else []
    if not files:
        return None
    total = 0
    for f in files:
        with safe_open(f, framework="pt") as st:
            total += sum(math.prod(st.get_slice(k).get_shape()) for k in st.keys())
    return total


def matmul_flops(seconds: float = 0.3) -> float:
    """This machine's measured dense matmul rate (FLOP/s): bf16 on CUDA, fp32 on CPU."""
    cuda = torch.cuda.is_available()
    size, dtype, device = (4096, torch.bfloat16, "cuda") if cuda else (512, torch.float32, "cpu")
    a, b = torch.randn(size, size, dtype=dtype, device=device), torch.randn(size, size, dtype=dtype, device=device)
    a @ b
    reps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        reps += 1
        if cuda:
            torch.cuda.synchronize()
    return 2 * size**3 * reps / (time.perf_counter() - start)


def estimate_training(lengths: list[int], recipe: dict) -> dict:
    """Optimiser steps, examples (or packed rows) and tokens a recipe will train on."""
    recipe = {**recipe_defaults(), **recipe}
    per_step = recipe["batch_size"] * recipe["grad_accum"]
    units = [sum(r) for r in pack_lengths(lengths, recipe["max_length"])] if recipe["packing"] else lengths
    if not units:
        return {"steps": 0, "examples": 0, "train_tokens": 0}
    steps_per_epoch = math.ceil(len(units) / per_step)
    steps = recipe["max_steps"] or math.ceil(recipe["epochs"] * steps_per_epoch)
    seen = min(steps * per_step, math.ceil(steps / steps_per_epoch) * len(units))
    return {"steps": steps, "examples": seen, "train_tokens": round(seen * sum(units) / len(units))}


def data_report(data: list[dict], tokenizer, recipe: dict | None = None, stats: dict | None = None,
                decontamination: dict | None = None, n_params: int | None = None, flops: float | None = None) -> dict:
    """Counts per builder, token statistics (as trained: with end token, cut at the recipe's
    max_length), format errors, the estimated run, and the contamination report.

    The time estimate is 4·N·tokens (forward, and backward to the activations: the base weights are
    frozen) at the measured matmul rate `flops`: a lower bound, which small models, bound by
    overheads rather than arithmetic, stay well above."""
    max_length = (recipe or {}).get("max_length") or 10**9
    full, trained, scored = [], [], []
    for ids, start in Collator(tokenizer, 10**9).encode_all(data):
        kept = min(len(ids), max_length)  # an example keeps its end: the cut falls on the prompt first
        full.append(len(ids))
        trained.append(kept)
        scored.append(kept - max(kept - min(len(ids) - start, kept), 1))
    per_builder: dict[str, list[int]] = {}
    for i, e in enumerate(data):
        per_builder.setdefault(e["builder"], []).append(i)

    def token_stats(idx: list[int]) -> dict:
        lens = sorted(trained[i] for i in idx)
        return {
            "examples": len(idx),
            "tokens": sum(lens),
            "scored_tokens": sum(scored[i] for i in idx),
            "mean_tokens": round(sum(lens) / max(1, len(lens)), 1),
            "p95_tokens": lens[min(len(lens) - 1, math.ceil(0.95 * len(lens)) - 1)] if lens else 0,
            "max_tokens": lens[-1] if lens else 0,
            "truncated": sum(full[i] > max_length for i in idx),
        }

    stats = dict(stats or {})
    report = {
        "examples": len(data),
        "per_builder": {b: len(idx) for b, idx in sorted(per_builder.items())},
        "tokens": sum(trained),
        "max_tokens": max(trained, default=0),
        "mean_tokens": round(sum(trained) / max(1, len(trained)), 1),
        "format_errors": stats.pop("format_errors", {}),
        "token_stats": {b: token_stats(idx) for b, idx in sorted(per_builder.items())},
        "builders": stats,
    }
    if recipe:
        estimate = estimate_training(trained, recipe)
        if n_params and flops:
            estimate["parameters"] = n_params
            estimate["seconds_at_matmul_peak"] = round(4 * n_params * estimate["train_tokens"] / flops, 1)
        report["estimate"] = estimate
    if decontamination is not None:
        report["decontamination"] = {k: v for k, v in decontamination.items() if k != "train_ids"}
    return report


def format_data_report(report: dict) -> str:
    """The data report as a few readable lines for the job log."""
    errors = {f"{src}.{why}": n for src, reasons in report["format_errors"].items() for why, n in reasons.items()}
    lines = [f"training data: {report['examples']} examples, {report['tokens']} tokens; format errors: "
             + (", ".join(f"{k} {v}" for k, v in errors.items()) or "none"),
             f"  {'builder':<10} {'examples':>8} {'tokens':>9} {'scored':>9} {'mean':>6} {'p95':>5} {'max':>5} {'truncated':>9}"]
    for b, s in report["token_stats"].items():
        lines.append(f"  {b:<10} {s['examples']:>8} {s['tokens']:>9} {s['scored_tokens']:>9} {s['mean_tokens']:>6} "
                     f"{s['p95_tokens']:>5} {s['max_tokens']:>5} {s['truncated']:>9}")
    for name, counts in report["builders"].items():
        lines.append(f"  {name}: {json.dumps(counts)}")
    if "estimate" in report:
        est = report["estimate"]
        lines.append(f"estimate: {est['steps']} steps, {est['examples']} examples, {est['train_tokens']} tokens"
                     + (f", at least {est['seconds_at_matmul_peak']} s at this machine's matmul peak"
                        if "seconds_at_matmul_peak" in est else ""))
    if "decontamination" in report:
        d = report["decontamination"]
        lines.append(f"decontamination ({d['ngram']}-gram): {d['contaminated']} of {d['eval_questions']} eval questions "
                     f"are contaminated (overlap a training example outside the corpus text)"
                     + (f": {', '.join(d['contaminated_ids'][:10])}" if d["contaminated"] else ""))
        if d.get("by_builder"):
            lines.append("  eval questions overlapped, by builder: " + ", ".join(f"{b} {k}" for b, k in d["by_builder"].items()))
        if d.get("knowledge_injection"):
            lines.append(f"  knowledge injection, not contamination: {d['knowledge_injection']} eval questions overlap only "
                         f"the corpus text of the {'/'.join(sorted(KNOWLEDGE_BUILDERS))} builder")
    return "\n".join(lines)
