"""Answer the eval questions with one system (retriever + adapter + prompt) and score them."""

from __future__ import annotations

import random
import time
from functools import lru_cache

from ragft import generate, metrics, prompts


def pick_shots(train: list[dict], n: int, seed: int) -> list[dict]:
    """`n` seeded worked examples from the train split for few-shot prompts (none when n is 0)."""
    return random.Random(seed).sample(train, n) if n else []


def retrieve_contexts(searcher, questions: list[dict], k: int) -> list[list[tuple[str, float]]]:
    """The top-k (chunk id, score) of each question, or nothing without a retriever."""
    if searcher is None:
        return [[] for _ in questions]
    return searcher.search([q["question"] for q in questions], k)


def system_prompts(questions: list[dict], hits: list[list[tuple[str, float]]], chunk_text: dict[str, str],
                   shots: list[dict], templates: dict | None) -> list[str]:
    """One prompt per question from the shared template family."""
    return [
        prompts.build_prompt(q["question"], [chunk_text[c] for c, _ in h] or None, shots or None, templates)
        for q, h in zip(questions, hits)
    ]


def answer_questions(model, tokenizer, questions: list[dict], hits, chunk_text: dict[str, str], *, shots=(),
                     templates=None, max_new_tokens: int = 24, batch_size: int = 16) -> list[dict]:
    """Prediction records (contract order) for every question, with gold-answer NLL and cost."""
    texts = system_prompts(questions, hits, chunk_text, list(shots), templates)
    start = time.time()
    answers = generate.generate_answers(model, tokenizer, texts, max_new_tokens=max_new_tokens, batch_size=batch_size)
    latency = (time.time() - start) / max(1, len(questions))
    nll = generate.answer_nll(model, tokenizer, texts, [q["answers"][0] for q in questions], batch_size=batch_size)
    return [
        {
            "id": q["id"],
            "question": q["question"],
            "answers": q["answers"],
            "prediction": a,
            "contexts": [{"chunk_id": c, "score": round(s, 6)} for c, s in h],
            "prompt_tokens": len(tokenizer(t, add_special_tokens=False)["input_ids"]),
            "latency_s": round(latency, 6),
            "gold_nll": round(n, 6),
        }
        for q, a, h, t, n in zip(questions, answers, hits, texts, nll)
    ]


def retrieval_hits(predictions: list[dict], questions: list[dict], chunk_doc: dict[str, str],
                   chunk_text: dict[str, str], k: int) -> dict:
    """Mean recall@k by gold doc and by answer string over the questions that have gold docs."""
    gold = {q["id"]: q for q in questions}
    rec, ans = [], []
    for p in predictions:
        ids = [c["chunk_id"] for c in p["contexts"]]
        if gold[p["id"]]["doc_ids"]:
            rec.append(metrics.recall_at_k([chunk_doc[c] for c in ids], gold[p["id"]]["doc_ids"], k))
        ans.append(metrics.answer_recall_at_k([chunk_text[c] for c in ids], p["answers"], k))
    return {
        f"recall@{k}": round(sum(rec) / len(rec), 6) if rec else None,
        f"answer_recall@{k}": round(sum(ans) / len(ans), 6) if ans else None,
    }


@lru_cache(maxsize=1 << 18)  # tuning the hybrid weight asks about the same pairs for every weight
def _holds_answer(text: str, answers: tuple[str, ...]) -> bool:
    return bool(metrics.answer_recall_at_k([text], answers, 1))


def retrieval_metrics(runs: list[list[tuple[str, float]]], questions: list[dict], chunk_doc: dict[str, str],
                      chunk_text: dict[str, str], ks=(1, 3, 5, 10, 20)) -> dict:
    """recall@k (gold doc), answer_recall@k (answer string in a chunk), MRR@10 and nDCG@10."""
    out: dict[str, list[float]] = {}
    depth = max(*ks, 10)
    for q, hits in zip(questions, runs):
        ids = [c for c, _ in hits[:depth]]
        docs = [chunk_doc[c] for c in ids]
        holds = [_holds_answer(chunk_text[c], tuple(q["answers"])) for c in ids]
        for k in ks:
            out.setdefault(f"answer_recall@{k}", []).append(float(any(holds[:k])))
        if not q["doc_ids"]:
            continue  # questions without a gold doc count only for answer recall
        for k in ks:
            out.setdefault(f"recall@{k}", []).append(metrics.recall_at_k(docs, q["doc_ids"], k))
        out.setdefault("mrr@10", []).append(metrics.mrr_at_k(docs, q["doc_ids"], 10))
        out.setdefault("ndcg@10", []).append(metrics.ndcg_at_k(docs, q["doc_ids"], 10))
    order = [f"recall@{k}" for k in ks] + [f"answer_recall@{k}" for k in ks] + ["mrr@10", "ndcg@10"]
    return {name: round(sum(out[name]) / len(out[name]), 6) for name in order if out.get(name)}


def run_retrievers(searchers: dict, questions: list[dict], chunk_doc: dict[str, str], chunk_text: dict[str, str],
                   ks=(1, 3, 5, 10, 20)) -> tuple[dict, dict]:
    """Search every question with each retriever (`{name: () -> searcher}`, built lazily) to
    depth max(ks): its metrics with queries/s (after one warm-up query), and its run records
    `{"id", "hits"}`."""
    metrics_by, runs_by = {}, {}
    for name, make in searchers.items():
        searcher = make()
        searcher.search([q["question"] for q in questions[:1]], 1)  # warm up: first calls load and allocate
        start = time.time()
        runs = searcher.search([q["question"] for q in questions], max(ks))
        qps = len(questions) / max(1e-9, time.time() - start)
        metrics_by[name] = {**retrieval_metrics(runs, questions, chunk_doc, chunk_text, ks),
                            "queries_per_s": round(qps, 1), "n": len(questions)}
        runs_by[name] = [
            {"id": q["id"], "hits": [{"chunk_id": c, "doc_id": chunk_doc[c], "score": round(s, 6)} for c, s in hits]}
            for q, hits in zip(questions, runs)
        ]
    return metrics_by, runs_by
