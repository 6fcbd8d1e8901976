"""Answer the eval questions with one system (retriever + adapter + prompt) and score them.
"""

from __future__ import annotations

import math
import random
import time

from ragft import prompts
from ragft.config import schema_defaults
from ragft.models import generate
from ragft.models.tokens import count_tokens, fit_prompt
from ragft.retrieval.metrics import answer_recall_at_k, recall_at_k


def pick_shots(train: list[dict], n: int, seed: int) -> list[dict]:
    """`n` seeded worked examples from the train split for few-shot prompts (none when n is 0)."""
    return random.Random(seed).sample(train, n) if n else []


def retrieve_contexts(searcher, questions: list[dict], k: int) -> list[list[tuple[str, float]]]:
    """The top-k (chunk id, score) of each question, or nothing without a retriever."""
    if searcher is None:
        return [[] for _ in questions]
    return searcher.search([q["question"] for q in questions], k)


# the model settings evaluation reads, and their defaults (the schema's)
GENERATION = {k: v for k, v in schema_defaults("model").items()
              if k in ("max_new_tokens", "batch_size", "stop", "chat_template", "max_prompt_tokens", "do_sample",
                       "temperature", "top_p")} | {"templates": None}


def system_prompts(questions: list[dict], hits: list[list[tuple[str, float]]], chunk_text: dict[str, str],
                   shots: list[dict], templates: dict | None) -> list[str]:
    """One prompt per question from the shared template family."""
    return [
        prompts.build_prompt(q["question"], [chunk_text[c] for c, _ in h] or None, shots or None, templates)
        for q, h in zip(questions, hits)
    ]


# the longest prompt when model.max_prompt_tokens is null: room for k chunks of a few hundred tokens
# and few-shot examples, while a batch of such prompts stays within a GPU's memory for the KV cache
# of a model with a 128k window (Llama 3.1: 32 prompts of 4096 tokens of an 8B model are 16 GiB)
DEFAULT_PROMPT_CAP = 4096


def prompt_limit(model, tokenizer, max_new_tokens: int, max_prompt_tokens: int | None = None) -> int:
    """Tokens a prompt may take: `max_prompt_tokens` when set, else the model's context window
    (its position embeddings, or the tokenizer's limit when smaller) less the answer's tokens, at
    most DEFAULT_PROMPT_CAP."""
    if max_prompt_tokens:
        return max_prompt_tokens
    windows = [getattr(model.config, "max_position_embeddings", None), getattr(tokenizer, "model_max_length", None)]
    window = min((w for w in windows if isinstance(w, int) and 0 < w < 10**7), default=None)
    if window is None:
        raise ValueError("the model states no context window; set model.max_prompt_tokens")
    if window <= max_new_tokens:
        raise ValueError(f"model.max_new_tokens ({max_new_tokens}) leaves no room in the model's {window}-token window")
    return min(window - max_new_tokens, DEFAULT_PROMPT_CAP)


def question_hits(question: dict, chunk_ids: list[str], chunk_doc: dict[str, str],
                  chunk_text: dict[str, str]) -> tuple[bool | None, bool | None]:
    """Whether the retrieved chunks hold a gold doc (None without gold docs) and a gold answer
    string; (None, None) when nothing was retrieved."""
    if not chunk_ids:
        return None, None
    doc_hit = bool(recall_at_k([chunk_doc[c] for c in chunk_ids], question["doc_ids"], len(chunk_ids))) \
        if question.get("doc_ids") else None
    answer_hit = bool(answer_recall_at_k([chunk_text[c] for c in chunk_ids], question["answers"], len(chunk_ids)))
    return doc_hit, answer_hit


def generation_settings(generation: dict | None = None, **overrides) -> dict:
    """The generation settings: GENERATION, then the configured ones that are set, then `overrides`."""
    return {**GENERATION, **{k: v for k, v in (generation or {}).items() if v is not None}, **overrides}


def fitted_prompts(model, tokenizer, questions: list[dict], hits, chunk_text: dict[str, str], shots, g: dict
                   ) -> tuple[list[tuple[str, int]], int, bool]:
    """Each question's prompt fitted to the window with the tokens cut, the window's limit, and
    whether the prompts are wrapped in the model's chat template (`chat_template`: auto, true, false)."""
    render, _, chat = prompts.renderer(tokenizer, g["chat_template"], g["templates"])
    limit = prompt_limit(model, tokenizer, g["max_new_tokens"], g["max_prompt_tokens"])
    fitted = [
        fit_prompt(tokenizer, q["question"], [chunk_text[c] for c, _ in h] or None, list(shots) or None,
                   g["templates"], limit, render if chat else None)
        for q, h in zip(questions, hits)
    ]
    return fitted, limit, chat


def generate_kwargs(g: dict, seed: int = 0) -> dict:
    """The keyword arguments of `generate.generate_answers` from the generation settings."""
    return {"max_new_tokens": g["max_new_tokens"], "batch_size": g["batch_size"], "stop": g["stop"],
            "do_sample": g["do_sample"], "temperature": g["temperature"], "top_p": g["top_p"], "seed": seed}


def answer_questions(model, tokenizer, questions: list[dict], hits, chunk_text: dict[str, str], *, shots=(),
                     generation: dict | None = None, chunk_doc: dict[str, str] | None = None, seed: int = 0,
                     **settings) -> list[dict]:
    """Prediction records for every question (the contract's keys, then `truncated_tokens`, `cut` (the
    answer stopped at max_new_tokens, unfinished) and the per-question retrieval hits `doc_hit`/`answer_hit`),
    with gold-answer NLL and cost.

    `generation` holds the model settings (see GENERATION; keyword arguments override them).
    Prompts are fitted to the model's window (`fit_prompt`); latency is the batched generation
    time per question, measured after a one-prompt warm-up."""
    g = generation_settings(generation, **settings)
    fitted, limit, _ = fitted_prompts(model, tokenizer, questions, hits, chunk_text, shots, g)
    texts = [t for t, _ in fitted]
    gen = generate_kwargs(g, seed)
    if texts:  # the first call pays one-off set-up costs that are not per question
        generate.generate_answers(model, tokenizer, texts[:1], **{**gen, "max_new_tokens": 1})
    start = time.perf_counter()
    answers = generate.generations(model, tokenizer, texts, **gen)
    latency = (time.perf_counter() - start) / max(1, len(questions))
    nll = generate.answer_nll(model, tokenizer, texts, [q["answers"][0] for q in questions], batch_size=g["batch_size"],
                              max_length=limit + g["max_new_tokens"],
                              answer=prompts.renderer(tokenizer, g["chat_template"], g["templates"])[1])
    records = []
    for q, a, h, (t, truncated), n in zip(questions, answers, hits, fitted, nll):
        doc_hit, answer_hit = question_hits(q, [c for c, _ in h], chunk_doc, chunk_text) if chunk_doc else (None, None)
        records.append({
            "id": q["id"],
            "question": q["question"],
            "answers": q["answers"],
            "prediction": a.text,
            "contexts": [{"chunk_id": c, "score": round(s, 6)} for c, s in h],
            "prompt_tokens": count_tokens(tokenizer, t),
            "latency_s": round(latency, 6),
            "gold_nll": None if math.isnan(n) else round(n, 6),
            "truncated_tokens": truncated,
            "cut": a.cut,
            "doc_hit": doc_hit,
            "answer_hit": answer_hit,
        })
    return records


def retrieval_hits(predictions: list[dict], questions: list[dict], chunk_doc: dict[str, str],
                   chunk_text: dict[str, str], k: int) -> dict:
    """Mean recall@k by gold doc and by answer string over the questions that have gold docs."""
    gold = {q["id"]: q for q in questions}
    rec, ans = [], []
    for p in predictions:
        ids = [c["chunk_id"] for c in p["contexts"]]
        if gold[p["id"]]["doc_ids"]:
            rec.append(recall_at_k([chunk_doc[c] for c in ids], gold[p["id"]]["doc_ids"], k))
        ans.append(answer_recall_at_k([chunk_text[c] for c in ids], p["answers"], k))
    return {
        f"recall@{k}": round(sum(rec) / len(rec), 6) if rec else None,
        f"answer_recall@{k}": round(sum(ans) / len(ans), 6) if ans else None,
    }


def finetune_cost(summary: dict) -> dict:
    """The training cost of an adapter from its train_summary.json: tokens, seconds, device-hours
    (one device for the run's duration), the device and its peak memory."""
    seconds = summary.get("train_seconds")
    return {
        "train_tokens": summary.get("train_tokens"),
        "train_seconds": seconds,
        "device_hours": None if seconds is None else round(seconds / 3600, 6),
        "train_device": summary.get("device"),
        "peak_memory_mb": summary.get("peak_memory_mb"),
    }
