"""Answering throughput: ragft's batched answering (left padding, rows that reach the stop string
finish early) against a one-at-a-time `model.generate` loop, on the same model, questions, prompts
and generation settings (greedy, 24 new tokens, answers cut at the first newline), in the same run.

    env -u PYTHONDONTWRITEBYTECODE .venv/bin/python benchmarks/eval_throughput.py

Model: builtin:tiny as the workflow built it (resources/models/tiny), else an untrained model of its
shape built here (the same work per token; its answers are noise). Questions: the demo's eval split
(results/demo/qa/eval.jsonl, else the first 150 demo questions). Three prompt sets, as the demo's
systems see them: closed book (`base`, `ft`), few-shot with 3 train examples (`fewshot`) and RAG with
one chunk (`rag`, `rag_ft`; the question's gold-doc chunk that holds the answer, from
results/demo/chunks.jsonl, where the demo retrieves one; skipped without it). The last line weighs
the sets by the systems that use them: the demo's whole evaluation stage.

Timed: only answering (tokenize, generate, decode, cut), after one warm-up call of each side; each
side runs `--repeats` times, alternating, and its best run counts (the machine is shared). The
loop is timed twice: as a plain loop would run (stopping at EOS or max_new_tokens), and with the
same stop strings as ragft (so the ratio against it is batching alone). It also reports how many
answers agree exactly between the two, which greedy decoding makes all of them up to float noise,
but for answers that begin with a newline: since 4b4ad3f ragft counts a stop only after an answer's
first text, while `generate`'s stop_strings end such an answer at once (empty).
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
STOP = ["\n"]


def load_model(path: Path):
    from ragft.models.load import load_causal_lm, load_tokenizer

    if (path / "config.json").is_file():
        return load_causal_lm(str(path)), load_tokenizer(str(path)), str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    from ragft.models import reading_corpus, tiny

    rng = random.Random(0)
    texts = ["".join(tiny.example_text(ex, rng)) for ex in reading_corpus.examples(0, 2000)]
    tokenizer = tiny.train_tokenizer(texts, 1024)
    model = tiny.make_model(tokenizer, hidden=128, layers=2, heads=4, max_positions=1024, seed=0)
    tokenizer.pad_token = tokenizer.pad_token or tokenizer.eos_token
    return model.eval(), tokenizer, "untrained builtin:tiny shape (no resources/models/tiny)"


def demo_prompts(limit: int, shots: int = 3, seed: int = 7) -> dict[str, list[str]]:
    """The prompts of the demo's systems for its eval questions: closed book (`base`, `ft`), few-shot
    with `shots` seeded train examples (`fewshot`), and RAG with one chunk (`rag`, `rag_ft`)."""
    from ragft import prompts
    from ragft.evaluate.answer import pick_shots
    from ragft.jsonl import read_jsonl
    from ragft.retrieval.metrics import answer_recall_at_k

    split = ROOT / "results" / "demo" / "qa"
    if (split / "eval.jsonl").is_file():
        questions, train = read_jsonl(split / "eval.jsonl"), read_jsonl(split / "train.jsonl")
    else:
        every = read_jsonl(ROOT / "resources" / "demo" / "qa.jsonl")
        questions, train = every[:limit], every[limit:]
    questions = questions[:limit]
    examples = pick_shots(train, shots, seed)
    sets = {"closed book (base, ft)": [prompts.build_prompt(q["question"]) for q in questions],
            f"few-shot, {shots} examples (fewshot)": [prompts.build_prompt(q["question"], shots=examples) for q in questions]}
    chunks_path = ROOT / "results" / "demo" / "chunks.jsonl"
    if chunks_path.is_file():
        by_doc: dict[str, list[dict]] = {}
        for c in read_jsonl(chunks_path):
            by_doc.setdefault(c["doc_id"], []).append(c)
        rag = []
        for q in questions:
            chunks = [c for d in q["doc_ids"] for c in by_doc.get(d, [])]
            best = next((c for c in chunks if answer_recall_at_k([c["text"]], q["answers"], 1)), chunks[0] if chunks else None)
            rag.append(prompts.build_prompt(q["question"], [best["text"]] if best else None))
        sets["RAG, 1 chunk (rag, rag_ft)"] = rag
    return sets


# how many of the demo's five systems use each prompt set
SYSTEMS_PER_SET = {"closed": 2, "few-shot": 1, "RAG": 2}


def ragft_answers(model, tok, texts, max_new_tokens, batch_size):
    from ragft.models.generate import generate_answers

    return generate_answers(model, tok, texts, max_new_tokens=max_new_tokens, batch_size=batch_size, stop=STOP)


@torch.no_grad()
def loop_answers(model, tok, texts, max_new_tokens, stop_strings: bool):
    """One question at a time: tokenize, `model.generate` greedily, decode, cut at the newline."""
    out = []
    extra = {"stop_strings": STOP, "tokenizer": tok} if stop_strings else {}
    for text in texts:
        enc = tok(text, return_tensors="pt", add_special_tokens=False)
        gen = model.generate(input_ids=enc["input_ids"].to(model.device), attention_mask=enc["attention_mask"].to(model.device),
                             max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tok.pad_token_id, **extra)
        out.append(tok.decode(gen[0, enc["input_ids"].shape[1]:], skip_special_tokens=True).split("\n")[0].strip())
    return out


def best_rate(fn, n, repeats):
    """(questions/s of the best of `repeats` runs, the answers)."""
    best, answers = 0.0, None
    for _ in range(repeats):
        start = time.perf_counter()
        answers = fn()
        best = max(best, n / (time.perf_counter() - start))
    return best, answers


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=str(ROOT / "resources" / "models" / "tiny"))
    ap.add_argument("--questions", type=int, default=150)
    ap.add_argument("--batch-size", type=int, default=32, help="ragft's batch (model.batch_size of the demo)")
    ap.add_argument("--max-new-tokens", type=int, default=24)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (the evaluate rule runs with 1)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model, tok, name = load_model(Path(args.model))
    params = sum(p.numel() for p in model.parameters())
    print(f"model: {name} ({params / 1e6:.2f}M parameters, {model.device}); torch threads {args.threads}; "
          f"{platform.processor() or platform.machine()}")
    print(f"greedy, {args.max_new_tokens} new tokens at most, answers cut at the first newline; "
          f"ragft batch {args.batch_size}; best of {args.repeats} runs each\n")
    rows = []
    for workload, texts in demo_prompts(args.questions).items():
        n = len(texts)
        ragft_answers(model, tok, texts[:2], 2, args.batch_size)  # warm-ups: first calls allocate and compile masks
        loop_answers(model, tok, texts[:2], 2, True)
        loop_answers(model, tok, texts[:2], 2, False)
        rates: dict[str, float] = {}
        answers: dict[str, list[str]] = {}
        for _ in range(args.repeats):  # alternate the sides so that load from other work hits both alike
            for side, fn in (("ragft batched", lambda: ragft_answers(model, tok, texts, args.max_new_tokens, args.batch_size)),
                             ("loop + stop strings", lambda: loop_answers(model, tok, texts, args.max_new_tokens, True)),
                             ("plain loop", lambda: loop_answers(model, tok, texts, args.max_new_tokens, False))):
                rate, answers[side] = best_rate(fn, n, 1)
                rates[side] = max(rates.get(side, 0.0), rate)
        agree = sum(a == b for a, b in zip(answers["ragft batched"], answers["loop + stop strings"]))
        tokens = sum(len(tok(t, add_special_tokens=False)["input_ids"]) for t in texts) / n
        rows.append((workload, n, tokens, rates, agree))
    print("| prompts | n | prompt tokens | ragft batched q/s | loop q/s (same stop strings) | plain loop q/s | "
          "ratio vs loop | ratio vs plain loop | same answers |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    total = {"ragft batched": 0.0, "loop + stop strings": 0.0, "plain loop": 0.0}
    count = 0
    for workload, n, tokens, r, agree in rows:
        print(f"| {workload} | {n} | {tokens:.1f} | {r['ragft batched']:.1f} | {r['loop + stop strings']:.1f} | "
              f"{r['plain loop']:.1f} | {r['ragft batched'] / r['loop + stop strings']:.1f}x | "
              f"{r['ragft batched'] / r['plain loop']:.1f}x | {agree}/{n} |")
        weight = next(v for k, v in SYSTEMS_PER_SET.items() if workload.startswith(k))
        for side in total:
            total[side] += weight * n / r[side]  # seconds for this prompt set's systems
        count += weight * n
    if len(rows) == 3:  # the demo's whole evaluation: its five systems' prompts, each set weighted by its systems
        q = {side: count / sec for side, sec in total.items()}
        print(f"| **the demo's 5 systems** | {count} | | {q['ragft batched']:.1f} | {q['loop + stop strings']:.1f} | "
              f"{q['plain loop']:.1f} | **{q['ragft batched'] / q['loop + stop strings']:.1f}x** | "
              f"**{q['ragft batched'] / q['plain loop']:.1f}x** | |")
    print(json.dumps({w: {"n": n, **{k: round(v, 2) for k, v in r.items()}} for w, n, _, r, _ in rows}))


if __name__ == "__main__":
    main()
