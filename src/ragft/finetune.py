"""Fine-tuning data and (Q)LoRA training with transformers' Trainer, peft and bitsandbytes.

Training examples are (prompt, completion) pairs: the loss falls on the completion only, so a
QA example teaches the answer and not the question, and a corpus chunk (empty prompt) is plain
continued pretraining. Builders: `chunks` (the corpus), `qa` (qa/train.jsonl, closed book),
`retrieval` (RAFT-style: the question with its gold chunk among retrieved distractors in a share
of examples) and `synthetic` (questions an LLM writes about chunks, kept only when the answer is a
span of the chunk). Before training, `data_report` counts format errors and tokens, estimates the
run, and `contamination` measures word n-gram overlap between the eval questions and the data.

Recipes: `qlora` loads the base in 4-bit NF4 with double quantisation (compute in bf16 on GPU,
fp32 on CPU); `lora` trains the same adapters on an unquantised base. Either may start from an
existing adapter (`init_adapter`). Training runs in transformers' Trainer with three changes that
make it faster than a plain script: batches of similar length padded to their longest (or packed
rows), and the output layer evaluated on the scored positions only. Checkpoints are marked
complete only after the Trainer has written them (the `COMPLETE` marker records every file's
sha256, so a checkpoint damaged later stops the rerun with an error naming it instead of training
on from garbage); a rerun resumes from the newest complete one with the same batch order and random
state, so it ends with the adapter an uninterrupted run gives. The adapter folder appears only
once it is fully written.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import resource
import signal
import threading
import time
import warnings
from collections import Counter
from pathlib import Path

import torch

from ragft import prompts
from ragft.jsonl import atomic_directory, write_jsonl, write_text

COMPLETE = "COMPLETE"  # written into a checkpoint folder after the Trainer has finished writing it


# -- data: input checks -------------------------------------------------------------------------

def chunk_error(chunk) -> str | None:
    """Why a chunk record cannot be used (`missing_id`, `empty_text`), or None."""
    if not isinstance(chunk, dict) or not chunk.get("id"):
        return "missing_id"
    if not isinstance(chunk.get("text"), str) or not chunk["text"].strip():
        return "empty_text"
    return None


def question_error(q) -> str | None:
    """Why a gold-question record cannot be used (`missing_id`, `empty_question`, `no_answer`), or None."""
    if not isinstance(q, dict) or not q.get("id"):
        return "missing_id"
    if not isinstance(q.get("question"), str) or not q["question"].strip():
        return "empty_question"
    answers = q.get("answers")
    if not isinstance(answers, list) or not answers or not isinstance(answers[0], str) or not answers[0].strip():
        return "no_answer"
    return None


def chat_prompt(tokenizer, prompt: str) -> str:
    """The prompt as one user turn of the tokenizer's chat template, ready for the answer; the
    prompt unchanged when the tokenizer has no chat template."""
    if tokenizer is None or not getattr(tokenizer, "chat_template", None):
        return prompt
    return tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True)


def _renderer(spec: dict, tokenizer):
    """Prompt and answer rendering of a QA builder: plain, or the chat template (`chat_template`)."""
    if spec.get("chat_template") and tokenizer is not None and getattr(tokenizer, "chat_template", None):
        return (lambda p: chat_prompt(tokenizer, p)), (lambda a: a)
    return (lambda p: p), prompts.answer_text


# -- data: builders -----------------------------------------------------------------------------

def chunk_examples(chunks: list[dict]) -> list[dict]:
    """Continued pretraining: every corpus chunk as a completion with no prompt."""
    return [{"id": f"chunk:{c['id']}", "builder": "chunks", "prompt": "", "completion": c["text"] + "\n"} for c in chunks]


def qa_examples(questions: list[dict], templates: dict | None = None, builder: str = "qa", render=None,
                answer=prompts.answer_text) -> list[dict]:
    """Closed-book QA SFT: the question prompt, then the first gold answer."""
    render = render or (lambda p: p)
    return [
        {
            "id": f"{builder}:{q['id']}",
            "builder": builder,
            "prompt": render(prompts.build_prompt(q["question"], templates=templates)),
            "completion": answer(q["answers"][0]),
        }
        for q in questions
    ]


def gold_chunk(q: dict, hits: list[tuple[str, float]], chunks: dict[str, dict], by_doc: dict[str, list[str]]) -> str | None:
    """The chunk that answers a question: of its gold docs, the best-retrieved chunk containing an
    answer, else the first such chunk of the doc, else the best-retrieved chunk of a gold doc;
    without doc ids, the best-retrieved chunk containing an answer."""
    from ragft.metrics import contains_answer

    gold_docs = set(q.get("doc_ids") or [])
    has_answer = lambda cid: contains_answer(chunks[cid]["text"], q["answers"]) > 0  # noqa: E731
    if not gold_docs:
        return next((c for c, _ in hits if has_answer(c)), None)
    retrieved = [c for c, _ in hits if chunks[c].get("doc_id") in gold_docs]
    in_docs = [c for d in q["doc_ids"] for c in by_doc.get(d, [])]
    return next((c for c in retrieved + in_docs if has_answer(c)), retrieved[0] if retrieved else None)


def retrieval_examples(questions: list[dict], hits: list[list[tuple[str, float]]], chunks: dict[str, dict],
                       templates: dict | None = None, k: int = 2, gold_fraction: float = 1.0, seed: int = 0,
                       render=None, answer=prompts.answer_text) -> tuple[list[dict], dict]:
    """Retrieval-aware QA (RAFT-style): each train question with k chunks, then the answer. In a
    `gold_fraction` of examples (seeded) the gold chunk is one of the k, at a random place, among
    the best-retrieved chunks of other docs (distractors); in the rest there are distractors
    only, so the model learns both to read and to answer when retrieval fails. Returns the
    examples and counts `with_gold`, `without_gold`, `no_gold_chunk` (no chunk holds the answer)."""
    rng = random.Random(seed)
    render = render or (lambda p: p)
    by_doc: dict[str, list[str]] = {}
    for cid, c in chunks.items():
        by_doc.setdefault(c.get("doc_id"), []).append(cid)
    out, counts = [], Counter(with_gold=0, without_gold=0, no_gold_chunk=0)
    for q, h in zip(questions, hits):
        h = [(c, s) for c, s in h if c in chunks]
        gold = gold_chunk(q, h, chunks, by_doc)
        gold_docs = set(q.get("doc_ids") or [])
        if not gold_docs and gold is not None:
            gold_docs = {chunks[gold].get("doc_id")}
        distractors = [c for c, _ in h if c != gold and chunks[c].get("doc_id") not in gold_docs]
        use_gold, place = rng.random() < gold_fraction, rng.random()
        if gold is None:
            counts["no_gold_chunk"] += 1
        if gold is not None and use_gold:
            context = distractors[: k - 1]
            context.insert(int(place * (len(context) + 1)), gold)
            counts["with_gold"] += 1
        else:
            context = distractors[:k]
            counts["without_gold"] += 1
        out.append({
            "id": f"retrieval:{q['id']}",
            "builder": "retrieval",
            "prompt": render(prompts.build_prompt(q["question"], [chunks[c]["text"] for c in context], templates=templates)),
            "completion": answer(q["answers"][0]),
        })
    return out, dict(counts)


# -- data: synthetic QA -------------------------------------------------------------------------

SYNTHETIC_TEMPLATE = (
    "Text: {chunk}\n\nWrite a question that the text answers, then its answer copied word for word "
    "from the text.\nQuestion:"
)
_QA_LINE = re.compile(r"^\s*(?:\d+[.)]\s*|[-*]\s*)?(question|answer|q|a)\s*:\s*(.*?)\s*$", re.IGNORECASE)
_INLINE_ANSWER = re.compile(r"\s+(?:answer|a)\s*:\s*", re.IGNORECASE)


def parse_qa_pairs(text: str) -> list[tuple[str, str]]:
    """(question, answer) pairs from generated `Question: ...` / `Answer: ...` lines (also `Q:`/`A:`,
    numbered or bulleted, or both on one line). An answer line pairs with the question line
    right before it (blank lines aside); any other line breaks the pair."""
    pairs, question = [], None
    for line in text.splitlines():
        if not line.strip():
            continue
        m = _QA_LINE.match(line)
        if not m:
            question = None
            continue
        kind, value = m.group(1).lower()[0], m.group(2)
        if kind == "q":
            inline = _INLINE_ANSWER.split(value, maxsplit=1)
            if len(inline) == 2:
                pairs.append((inline[0].strip(), inline[1].strip()))
                question = None
            else:
                question = value
        elif question is not None:
            pairs.append((question, value))
            question = None
    return pairs


def check_pair(question: str, answer: str, chunk_text: str) -> str | None:
    """Why a generated pair is dropped (`empty`, `answer_not_in_chunk`), or None to keep it."""
    answer = answer.strip().rstrip(".").strip()
    if not question.strip() or not answer:
        return "empty"
    if answer not in chunk_text:
        return "answer_not_in_chunk"
    return None


def synthetic_qa(chunks: list[dict], model, tokenizer, spec: dict, seed: int) -> tuple[list[dict], dict]:
    """Questions a causal LM writes about corpus chunks (`max_chunks` of them, seeded), as
    gold-question records. Malformed generations never stop the run: every generation and pair is
    counted, kept or dropped by reason, and `pairs == kept + sum(dropped)` always holds."""
    from ragft.generate import generate_answers

    rng = random.Random(seed)
    chunks = [c for c in chunks if chunk_error(c) is None]
    n = spec.get("max_chunks", 0) or len(chunks)
    picked = sorted(rng.sample(range(len(chunks)), min(n, len(chunks))))
    template = spec.get("template") or SYNTHETIC_TEMPLATE
    texts = [template.format(chunk=chunks[i]["text"]) for i in picked]
    shown = [chat_prompt(tokenizer, t) if spec.get("chat_template") else t for t in texts]
    generations = generate_answers(model, tokenizer, shown, max_new_tokens=spec.get("max_new_tokens", 64),
                                   batch_size=spec.get("batch_size", 16), stop=None)
    records, seen, dropped = [], set(), Counter(no_pair=0, empty=0, answer_not_in_chunk=0, duplicate=0)
    pairs_total = 0
    for i, text, gen in zip(picked, texts, generations):
        chunk = chunks[i]
        # the template's last line ("Question:") starts the generation's first pair
        pairs = parse_qa_pairs(text.rsplit("\n", 1)[-1] + " " + gen)
        if not pairs:
            dropped["no_pair"] += 1
        for question, answer in pairs:
            pairs_total += 1
            reason = check_pair(question, answer, chunk["text"])
            key = " ".join(question.lower().split())
            if reason is None and key in seen:
                reason = "duplicate"
            if reason:
                dropped[reason] += 1
                continue
            seen.add(key)
            records.append({"id": f"{chunk['id']}#q{len(records)}", "question": question.strip(),
                            "answers": [answer.strip().rstrip(".").strip()], "doc_ids": [chunk.get("doc_id")],
                            "meta": {"chunk_id": chunk["id"]}})
    stats = {"chunks": len(picked), "generations": len(generations), "pairs": pairs_total, "kept": len(records),
             "dropped": dict(dropped)}
    return records, stats


BUILDERS = ("chunks", "qa", "retrieval", "synthetic")


def build_train_data(chunks: list[dict], questions: list[dict], builders: dict, seed: int, templates: dict | None = None,
                     hits: list[list[tuple[str, float]]] | None = None, synthetic: list[dict] | None = None,
                     tokenizer=None, eval_ids=None) -> tuple[list[dict], dict]:
    """The training set from the enabled builders, each repeated `weight` times, seeded shuffle;
    and what the builders did (`format_errors` of the inputs, RAFT counts). `hits` (the
    retriever's chunks per question) feeds `retrieval`, `synthetic` (generated question records,
    see `synthetic_qa`) feeds `synthetic`. Questions must come from qa/train.jsonl: one whose id is
    in `eval_ids` stops the build."""
    unknown = set(builders) - set(BUILDERS)
    if unknown:
        raise ValueError(f"finetune.data: unknown builder(s) {sorted(unknown)}; expected {list(BUILDERS)}")
    leaked = sorted({q.get("id") for q in questions if isinstance(q, dict)} & set(eval_ids or ()))
    if leaked:
        raise ValueError(f"finetune.data: {len(leaked)} training question(s) are eval questions "
                         f"({', '.join(leaked[:5])}); the QA builders read qa/train.jsonl only")
    errors: dict[str, Counter] = {"chunks": Counter(), "questions": Counter()}
    good_chunks = []
    for c in chunks:
        reason = chunk_error(c)
        errors["chunks"].update([reason] if reason else [])
        if reason is None:
            good_chunks.append(c)
    good_q, good_hits = [], []
    for i, q in enumerate(questions):
        reason = question_error(q)
        errors["questions"].update([reason] if reason else [])
        if reason is None:
            good_q.append(q)
            good_hits.append(hits[i] if hits is not None else [])
    chunk_by_id = {c["id"]: c for c in good_chunks}
    stats: dict = {"format_errors": {k: dict(sorted(v.items())) for k, v in errors.items()}}

    def made(name: str, spec: dict) -> list[dict]:
        render, answer = _renderer(spec, tokenizer)
        if name == "chunks":
            return chunk_examples(good_chunks)
        if name == "qa":
            return qa_examples(good_q, templates, "qa", render, answer)
        if name == "synthetic":
            if synthetic is None:
                raise ValueError("finetune.data.synthetic is enabled but no generated questions were given")
            return qa_examples([q for q in synthetic if question_error(q) is None], templates, "synthetic", render, answer)
        if hits is None:
            raise ValueError("finetune.data.retrieval is enabled but no retrieval hits were given")
        examples, counts = retrieval_examples(good_q, good_hits, chunk_by_id, templates, spec.get("k", 2),
                                              spec.get("gold_fraction", 1.0), seed, render, answer)
        stats["retrieval"] = counts
        return examples

    data = []
    for name, spec in builders.items():
        if spec.get("enabled", True):
            data += made(name, spec) * int(spec.get("weight", 1))
    random.Random(seed).shuffle(data)
    return data, stats


# -- data: contamination and report -------------------------------------------------------------

def words(text: str) -> list[str]:
    """Lower-cased word tokens, the unit of the contamination n-grams."""
    return re.findall(r"\w+", text.lower())


def contamination(eval_questions: list[dict], data: list[dict], n: int = 13) -> dict:
    """Word n-gram overlap between each eval question (and each answer) and the training examples.

    An eval question is contaminated when one of its word n-grams, or the whole question when it
    is shorter than n words, occurs in a training example's prompt or completion; answers of n
    words or more count the same way (shorter answers are skipped: knowledge injection puts them in
    the training text on purpose). Returns counts, the contaminated eval ids, up to 5 matching
    training example ids for each, and `train_ids`, every training example id that matched."""
    wanted: dict[int, dict[tuple, set]] = {}  # n-gram length -> n-gram -> {(eval id, field)}
    for q in eval_questions:
        for field, texts in (("question", [q["question"]]), ("answer", q.get("answers", []))):
            for text in texts:
                w = words(text)
                if len(w) < n and (field == "answer" or not w):
                    continue
                size = min(n, len(w))
                for i in range(len(w) - size + 1):
                    wanted.setdefault(size, {}).setdefault(tuple(w[i : i + size]), set()).add((q["id"], field))
    hits: dict[str, set] = {}
    fields: dict[str, set] = {}
    for e in data:
        w = words(e["prompt"] + "\n" + e["completion"])
        for size, grams in wanted.items():
            for i in range(len(w) - size + 1):
                for qid, field in grams.get(tuple(w[i : i + size]), ()):
                    hits.setdefault(qid, set()).add(e["id"])
                    fields.setdefault(field, set()).add(qid)
    ids = sorted(hits)
    return {
        "ngram": n,
        "eval_questions": len(eval_questions),
        "contaminated": len(ids),
        "contaminated_ids": ids,
        "by_field": {f: len(fields.get(f, ())) for f in ("question", "answer")},
        "matches": {qid: sorted(hits[qid])[:5] for qid in ids},
        "train_ids": sorted(set().union(*hits.values())) if hits else [],
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
    per_step = recipe["batch_size"] * recipe.get("grad_accum", 1)
    units = [sum(r) for r in pack_lengths(lengths, recipe["max_length"])] if recipe.get("packing") else lengths
    if not units:
        return {"steps": 0, "examples": 0, "train_tokens": 0}
    steps_per_epoch = math.ceil(len(units) / per_step)
    steps = recipe.get("max_steps") or math.ceil(recipe.get("epochs", 1) * steps_per_epoch)
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
                     f"overlap the training data" + (f": {', '.join(d['contaminated_ids'][:10])}" if d["contaminated"] else ""))
    return "\n".join(lines)


# -- batches ------------------------------------------------------------------------------------

def pad_batch(encoded: list[tuple[list[int], int]], pad: int) -> dict:
    """Right-padded batch tensors from (token ids, loss start) pairs; labels are -100 before each
    example's loss start, on its first token (never a target) and on padding."""
    width = max(len(x) for x, _ in encoded)
    return {
        "input_ids": torch.tensor([x + [pad] * (width - len(x)) for x, _ in encoded]),
        "attention_mask": torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x, _ in encoded]),
        "labels": torch.tensor([[-100] * max(s, 1) + x[max(s, 1):] + [-100] * (width - len(x)) for x, s in encoded]),
    }


def pack_lengths(lengths: list[int], max_length: int) -> list[list[int]]:
    """Greedy packing in order: each row takes examples while their lengths fit in max_length."""
    rows: list[list[int]] = []
    used = max_length
    for n in lengths:
        if used + n > max_length:
            rows.append([])
            used = 0
        rows[-1].append(n)
        used += n
    return rows


def pack(encoded: list[tuple[list[int], int]], max_length: int) -> list[dict]:
    """Rows of several examples each (see `pack_lengths`): position ids restart at every example,
    which keeps attention inside it, and labels mask each example's prompt and first token."""
    rows, i = [], 0
    for sizes in pack_lengths([len(x) for x, _ in encoded], max_length):
        row = {"input_ids": [], "labels": [], "position_ids": []}
        for ids, start in encoded[i : i + len(sizes)]:
            row["input_ids"] += ids
            row["labels"] += [-100] * max(start, 1) + ids[max(start, 1):]
            row["position_ids"] += list(range(len(ids)))
        rows.append(row)
        i += len(sizes)
    return rows


def pad_packed(rows: list[dict], pad: int) -> dict:
    """Batch tensors of packed rows; the padding forms one more sequence (positions from 0), and
    `attention_mask` marks real tokens for counting only (the model gets position ids instead)."""
    width = max(len(r["input_ids"]) for r in rows)
    fill = lambda r: width - len(r["input_ids"])  # noqa: E731
    return {
        "input_ids": torch.tensor([r["input_ids"] + [pad] * fill(r) for r in rows]),
        "attention_mask": torch.tensor([[1] * len(r["input_ids"]) + [0] * fill(r) for r in rows]),
        "labels": torch.tensor([r["labels"] + [-100] * fill(r) for r in rows]),
        "position_ids": torch.tensor([r["position_ids"] + list(range(fill(r))) for r in rows]),
    }


class Collator:
    """Right-padded batches of (prompt, completion) examples, of pre-encoded ones
    (`input_ids`, `loss_start`), or of packed rows; the loss falls on the completion."""

    def __init__(self, tokenizer, max_length: int):
        self.tok, self.max_length = tokenizer, max_length

    def encode(self, example: dict, tokens: tuple[list[int], list[int]] | None = None) -> tuple[list[int], int]:
        """Token ids (the end kept when too long) and where the completion starts."""
        if tokens is None:
            p = self.tok(example["prompt"], add_special_tokens=False)["input_ids"] if example["prompt"] else []
            c = self.tok(example["completion"], add_special_tokens=False)["input_ids"]
        else:
            p, c = tokens
        c = c + [self.tok.eos_token_id]
        ids = (p + c)[-self.max_length :]
        return ids, len(ids) - min(len(c), len(ids))

    def encode_all(self, examples: list[dict]) -> list[tuple[list[int], int]]:
        """`encode` for many examples, tokenized in two batched calls (several times faster)."""
        if not examples:
            return []
        p = self.tok([e["prompt"] for e in examples], add_special_tokens=False)["input_ids"]
        c = self.tok([e["completion"] for e in examples], add_special_tokens=False)["input_ids"]
        return [self.encode(e, pair) for e, pair in zip(examples, zip(p, c))]

    def __call__(self, examples: list[dict]) -> dict:
        if "position_ids" in examples[0]:
            return pad_packed(examples, self.tok.pad_token_id)
        if "input_ids" in examples[0]:
            return pad_batch([(e["input_ids"], e["loss_start"]) for e in examples], self.tok.pad_token_id)
        return pad_batch([self.encode(e) for e in examples], self.tok.pad_token_id)


class EpochSampler(torch.utils.data.Sampler):
    """Training order that depends on (seed, epoch) only, so a resumed run draws the same batches as
    an uninterrupted one. A seeded shuffle; with `group_by_length`, then each run of 16 batches
    sorted by length and its batches shuffled (`ragft.tiny.bucket_by_length`): batches of similar
    length, so little padding, while consecutive steps still mix the builders."""

    def __init__(self, lengths: list[int], batch_size: int, seed: int, group_by_length: bool = True):
        self.lengths, self.batch_size, self.seed, self.group = lengths, batch_size, seed, group_by_length
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.lengths)

    def __iter__(self):
        from ragft.tiny import bucket_by_length

        rng = random.Random(self.seed * 100_003 + self.epoch)
        order = list(range(len(self.lengths)))
        rng.shuffle(order)
        if self.group:
            order = [i for _, i in bucket_by_length([(range(self.lengths[i]), i) for i in order], self.batch_size, rng)]
        return iter(order)


def scored_loss(model, batch: dict, num_items: torch.Tensor | int | None = None) -> torch.Tensor:
    """Next-token cross-entropy over the labelled positions, summed and divided by `num_items`
    (the scored tokens of the whole accumulated step) or else by this batch's. The output layer runs
    on the scored positions only, not on every prompt token. Packed batches (with position ids)
    attend within each example. Models whose logits are post-processed use their own loss."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    packed = "position_ids" in batch
    cfg = base.config
    if getattr(cfg, "final_logit_softcapping", None) or getattr(cfg, "logit_scale", None) or not hasattr(base, "model"):
        out = model(input_ids=batch["input_ids"], attention_mask=None if packed else batch["attention_mask"],
                    position_ids=batch.get("position_ids"), labels=batch["labels"], use_cache=False)
        return out.loss
    hidden = base.get_decoder()(
        input_ids=batch["input_ids"],
        attention_mask=None if packed else batch["attention_mask"],
        position_ids=batch.get("position_ids"),
        use_cache=False,
    ).last_hidden_state
    targets = batch["labels"][:, 1:]
    scored = targets != -100
    logits = base.get_output_embeddings()(hidden[:, :-1][scored])
    total = torch.nn.functional.cross_entropy(logits.float(), targets[scored], reduction="sum")
    return total / (num_items if num_items is not None else scored.sum().clamp(min=1))


# -- model --------------------------------------------------------------------------------------

def load_for_training(base_path: str, recipe: dict, trust_remote_code: bool = False):
    """The base model for a recipe (4-bit for qlora) with LoRA adapters on it: fresh ones, or
    `init_adapter`'s (trainable, with that adapter's own rank and target modules)."""
    from peft import LoraConfig, PeftModel, get_peft_model, prepare_model_for_kbit_training
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    from ragft.models import require_safetensors

    cuda = torch.cuda.is_available()
    compute = torch.bfloat16 if cuda else torch.float32
    kwargs = {"dtype": compute, "use_safetensors": True, "trust_remote_code": trust_remote_code}
    if recipe["quantization"] == "nf4":
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=compute,
        )
    elif recipe["quantization"] != "none":
        raise ValueError(f"finetune recipe quantization {recipe['quantization']!r}: expected nf4 or none")
    if cuda:
        kwargs["attn_implementation"] = "sdpa"
    require_safetensors(base_path)
    model = AutoModelForCausalLM.from_pretrained(base_path, **kwargs)
    checkpointing = recipe.get("gradient_checkpointing", False)
    if recipe["quantization"] == "nf4":
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=checkpointing,
                                                gradient_checkpointing_kwargs={"use_reentrant": False})
    if recipe.get("init_adapter"):
        if not (Path(recipe["init_adapter"]) / "adapter_config.json").is_file():
            raise FileNotFoundError(f"{recipe['init_adapter']}: init_adapter is not an adapter directory (no adapter_config.json)")
        require_safetensors(recipe["init_adapter"])
        return PeftModel.from_pretrained(model, recipe["init_adapter"], is_trainable=True)
    lora = LoraConfig(
        r=recipe["r"],
        lora_alpha=recipe["alpha"],
        lora_dropout=recipe["dropout"],
        target_modules=recipe["target_modules"],
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, lora)


# -- training -----------------------------------------------------------------------------------

class Preempted(RuntimeError):
    """Training stopped on SIGTERM/SIGUSR1 after saving a checkpoint; a rerun resumes from it."""


def peak_memory_mb() -> float:
    """Peak memory since the last `reset_peak_memory`: GPU allocations on CUDA, resident set size
    (VmHWM, or the lifetime maximum where /proc is missing) on CPU."""
    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    try:
        return int(re.search(r"VmHWM:\s+(\d+)", Path("/proc/self/status").read_text()).group(1)) / 1024
    except (OSError, AttributeError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_memory() -> None:
    """Start measuring peak memory afresh (training's, not loading's transient copies of the weights)."""
    import gc

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
        return
    try:
        Path("/proc/self/clear_refs").write_text("5")  # Linux: resets VmHWM to the current RSS
    except OSError:
        pass


class CorruptCheckpoint(RuntimeError):
    """A complete checkpoint whose files no longer match the sha256s its marker recorded."""


def mark_complete(checkpoint: str | Path, step: int) -> None:
    """Write the `COMPLETE` marker of a fully written checkpoint: its step and every file's sha256."""
    from ragft.models import sha256_file

    checkpoint = Path(checkpoint)
    files = {f.relative_to(checkpoint).as_posix(): sha256_file(f)
             for f in sorted(checkpoint.rglob("*")) if f.is_file() and f.name != COMPLETE}
    write_text(checkpoint / COMPLETE, json.dumps({"step": step, "sha256": files}, indent=1) + "\n")


def verify_checkpoint(checkpoint: str | Path) -> None:
    """Raise CorruptCheckpoint, naming the checkpoint and the file, when a file its marker lists is
    missing or changed (a marker of an older ragft, only a step number, cannot be checked)."""
    from ragft.models import sha256_file

    checkpoint = Path(checkpoint)
    try:
        recorded = json.loads((checkpoint / COMPLETE).read_text()).get("sha256")
    except (ValueError, AttributeError):
        recorded = None
    if not isinstance(recorded, dict):
        return
    for name, digest in recorded.items():
        f = checkpoint / name
        problem = "is missing" if not f.is_file() else "does not match its recorded sha256" if sha256_file(f) != digest else ""
        if problem:
            raise CorruptCheckpoint(f"{checkpoint}: corrupt checkpoint, {name} {problem}; delete this folder to "
                                    f"resume from an earlier checkpoint (or the whole checkpoints folder to start afresh)")


def latest_checkpoint(checkpoint_dir: str | Path) -> str | None:
    """The newest complete checkpoint (marked COMPLETE after the Trainer wrote it) or None."""
    done = [p for p in Path(checkpoint_dir).glob("checkpoint-*") if (p / COMPLETE).is_file()]
    return str(max(done, key=lambda p: int(p.name.split("-")[1]))) if done else None


def run_fingerprint(base_path: str, data: list[dict], recipe: dict, seed: int) -> str:
    """What identifies a training run: base weights and initial adapter (name, size, mtime), data,
    recipe and seed. Checkpoints of another run are never resumed."""
    import hashlib

    h = hashlib.sha256(json.dumps([recipe, seed, base_path], sort_keys=True, default=str).encode())
    for folder in (base_path, recipe.get("init_adapter")):
        for f in sorted(Path(folder).glob("*.safetensors")) if folder and Path(folder).is_dir() else []:
            st = f.stat()
            h.update(f"{f.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    for e in data:
        h.update(json.dumps(e, sort_keys=True).encode())
    return h.hexdigest()


def prepare_checkpoints(checkpoint_dir: str | Path, fingerprint: str, log=print) -> None:
    """Keep the complete checkpoints of this same run (to resume from); discard those of any other
    run, and checkpoints a kill interrupted while they were written."""
    import shutil

    checkpoint_dir = Path(checkpoint_dir)
    stamp = checkpoint_dir / "run_fingerprint.txt"
    if checkpoint_dir.exists() and (not stamp.is_file() or stamp.read_text().strip() != fingerprint):
        log(f"{checkpoint_dir}: checkpoints of a different run (data, recipe or base model changed); starting afresh")
        shutil.rmtree(checkpoint_dir)
    for partial in sorted(checkpoint_dir.glob("checkpoint-*")):
        if not (partial / COMPLETE).is_file():
            log(f"{partial}: incomplete checkpoint (interrupted while written); removed")
            shutil.rmtree(partial)
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    write_text(stamp, fingerprint + "\n")


def train_log_rows(log_history: list[dict]) -> list[dict]:
    """train_log.jsonl rows from the Trainer's log history (restored with a checkpoint, so a
    resumed run's log covers the steps before the kill too)."""
    return [
        {
            "step": h["step"],
            "loss": round(float(h["loss"]), 6),
            "learning_rate": float(h.get("learning_rate", 0.0)),
            "tokens": int(h.get("num_input_tokens_seen", 0)),
            "tokens_per_s": h.get("tokens_per_s"),
            "peak_memory_mb": h.get("peak_memory_mb"),
        }
        for h in log_history
        if "loss" in h
    ]


def train(base_path: str, data: list[dict], recipe: dict, out_adapter: str | Path, out_log: str | Path,
          checkpoint_dir: str | Path, seed: int, log=print, trust_remote_code: bool = False,
          tensorboard_dir: str | Path | None = None, callbacks: list | tuple = ()) -> dict:
    """Train LoRA adapters on `data`; write the adapter (safetensors) and train_log.jsonl, and
    TensorBoard events into `tensorboard_dir`. Resumes from the newest complete checkpoint of the
    same run; on SIGTERM or SIGUSR1 saves a checkpoint and raises Preempted."""
    import shutil

    from transformers import Trainer, TrainerCallback, TrainingArguments, set_seed
    from transformers.integrations import TensorBoardCallback

    from ragft.models import load_tokenizer

    # the Trainer's non-padding token count re-wraps a tensor every step; harmless, but it floods the log
    warnings.filterwarnings("ignore", message="To copy construct from a tensor", category=UserWarning)
    set_seed(seed)
    tokenizer = load_tokenizer(base_path, trust_remote_code)
    model = load_for_training(base_path, recipe, trust_remote_code)
    if recipe.get("init_adapter"):
        log(f"starting from adapter {recipe['init_adapter']} (its own rank and target modules)")
    collator = Collator(tokenizer, recipe["max_length"])
    encoded = collator.encode_all(data)
    if recipe.get("packing"):
        dataset = pack(encoded, recipe["max_length"])
        log(f"packed {len(encoded)} examples into {len(dataset)} rows of at most {recipe['max_length']} tokens")
    else:
        dataset = [{"input_ids": ids, "loss_start": s} for ids, s in encoded]

    prepare_checkpoints(checkpoint_dir, run_fingerprint(base_path, data, recipe, seed), log)
    resume = latest_checkpoint(checkpoint_dir)
    if resume:
        verify_checkpoint(resume)
        if os.environ.get("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "").lower() in ("1", "y", "yes", "true"):
            raise RuntimeError(f"{resume}: not resumed while TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD is set, which would "
                               "unpickle its optimizer and random states with arbitrary code; unset it")
    if tensorboard_dir and not resume:
        shutil.rmtree(tensorboard_dir, ignore_errors=True)  # a fresh run gets a fresh curve

    class LogRows(TrainerCallback):
        """Adds tokens/s over the last logging interval and peak memory to each logged row."""

        def on_train_begin(self, args, state, control, **kwargs):
            reset_peak_memory()
            self.last = (time.time(), state.num_input_tokens_seen)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                now, seen = time.time(), state.num_input_tokens_seen
                extra = {"tokens_per_s": round((seen - self.last[1]) / max(1e-9, now - self.last[0]), 1),
                         "peak_memory_mb": round(peak_memory_mb(), 1)}
                self.last = (now, seen)
                logs.update(extra)  # TensorBoard, which runs after this callback, records them too
                state.log_history[-1].update(extra)

    class MarkComplete(TrainerCallback):
        """Marks a checkpoint complete once the Trainer has written all of it."""

        def on_save(self, args, state, control, **kwargs):
            mark_complete(Path(args.output_dir) / f"checkpoint-{state.global_step}", state.global_step)

    class StopOnSignal(TrainerCallback):
        """SLURM warns with SIGTERM (or --signal=USR1) before preemption: save, then stop."""

        received: int | None = None

        def on_step_end(self, args, state, control, **kwargs):
            if self.received is not None:
                control.should_save = control.should_training_stop = True

    class CompletionTrainer(Trainer):
        """The Trainer with the scored-positions loss and a resumable, length-grouped order."""

        def _get_train_sampler(self, train_dataset=None):
            lengths = [len(e["input_ids"]) for e in (train_dataset or self.train_dataset)]
            group = recipe.get("group_by_length", True) and not recipe.get("packing")
            return EpochSampler(lengths, self.args.per_device_train_batch_size, seed, group)

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            loss = scored_loss(model, inputs, num_items_in_batch)
            return (loss, None) if return_outputs else loss

    cuda = torch.cuda.is_available()
    args = TrainingArguments(
        output_dir=str(checkpoint_dir),
        per_device_train_batch_size=recipe["batch_size"],
        gradient_accumulation_steps=recipe["grad_accum"],
        num_train_epochs=recipe["epochs"],
        max_steps=recipe.get("max_steps") or -1,
        learning_rate=recipe["lr"],
        lr_scheduler_type=recipe["scheduler"],
        warmup_ratio=recipe["warmup_ratio"],
        weight_decay=0.0,
        logging_steps=recipe["log_every"],
        save_steps=recipe["save_every"],
        save_total_limit=2,
        seed=seed,
        data_seed=seed,
        bf16=cuda,
        use_cpu=not cuda,
        gradient_checkpointing=recipe.get("gradient_checkpointing", False),
        gradient_checkpointing_kwargs={"use_reentrant": False},
        report_to=["tensorboard"] if tensorboard_dir else [],
        logging_dir=str(tensorboard_dir) if tensorboard_dir else None,
        remove_unused_columns=False,
        include_num_input_tokens_seen="non_padding",
        dataloader_num_workers=0,
        disable_tqdm=False,
    )
    stop = StopOnSignal()
    trainer = CompletionTrainer(model=model, args=args, train_dataset=dataset, data_collator=collator,
                                callbacks=[LogRows(), MarkComplete(), stop, *callbacks])
    trainer.model_accepts_loss_kwargs = True  # scored_loss divides by the step's scored tokens itself
    board = trainer.pop_callback(TensorBoardCallback)
    if board is not None:
        trainer.add_callback(board)  # after LogRows, so it sees tokens/s and peak memory
    if resume:
        log(f"resuming from {resume}")

    def on_signal(signum, frame):
        stop.received = signum

    main = threading.current_thread() is threading.main_thread()
    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGUSR1)} if main else {}
    start_tokens = 0
    try:
        start = time.time()
        if resume:
            start_tokens = int(json.loads((Path(resume) / "trainer_state.json").read_text()).get("num_input_tokens_seen", 0))
        result = trainer.train(resume_from_checkpoint=resume)
        seconds = time.time() - start
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if stop.received is not None:
        step = trainer.state.global_step
        log(f"stopped by signal {signal.Signals(stop.received).name} at step {step}; checkpoint-{step} saved, a rerun resumes")
        raise Preempted(f"stopped by signal {signal.Signals(stop.received).name} at step {step}; rerun to resume")
    for config in getattr(model, "peft_config", {}).values():  # `all-linear` resolves to a set: save it sorted,
        if isinstance(config.target_modules, set):             # not in an order that varies run to run
            config.target_modules = sorted(config.target_modules)
    with atomic_directory(out_adapter) as tmp:
        model.save_pretrained(str(tmp), safe_serialization=True)
    rows = train_log_rows(trainer.state.log_history)
    write_jsonl(out_log, rows, sort_key=None)
    tokens = int(trainer.state.num_input_tokens_seen)
    return {
        "steps": result.global_step,
        "train_tokens": tokens,
        "train_seconds": round(seconds, 2),
        "tokens_per_s": round((tokens - start_tokens) / max(1e-9, seconds), 1),
        "peak_memory_mb": round(peak_memory_mb(), 1),
        "final_loss": rows[-1]["loss"] if rows else None,
        "device": "cuda" if cuda else "cpu",
        "resumed_from": resume,
    }
