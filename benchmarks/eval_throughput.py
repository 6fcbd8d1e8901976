"""Answering throughput: ragft's answering against transformers' batched `generate`, on builtin:smollm2,
with the demo's questions, prompts and generation settings, in the same run.

    env -u PYTHONDONTWRITEBYTECODE .venv/bin/python benchmarks/eval_throughput.py [--model /path/to/smollm2]

Both sides answer the same prompts, in batches of the demo's `model.batch_size` (16) with left
padding, greedily, at most `model.max_new_tokens` (20) new tokens, stopping at `model.stop` ("\\n"),
the answer decoded and cut at the stop (`cut_at_stop`):
- ragft: `ragft.models.generate.generate_answers` as the `evaluate` rule runs it (prompts sorted by
  length into batches; for a model that `own_loop_ok` accepts, as smollm2, its own KV-cache loop);
- transformers: `model.generate(input_ids, attention_mask, max_new_tokens, do_sample=False,
  stop_strings=stops, tokenizer=tokenizer, pad_token_id=...)` on the prompts in their order,
  `tokenizer(batch, padding=True)` with `padding_side="left"`: what a reviewer would write.

Model: builtin:smollm2 as the workflow built it (resources/models/smollm2), or `--model`. Questions:
the demo's eval split (results/demo/qa/eval.jsonl, else made here as the workflow makes it: the demo
corpus ingested, the config's split). Three prompt sets, as the demo's systems see them, rendered as
evaluation renders them (`fitted_prompts`: the chat template, `chat_template: auto`): closed book
(`base`, `ft`), few-shot with 3 train examples (`fewshot`) and RAG with one chunk (`rag`, `rag_ft`:
the question's gold-doc chunk that holds the answer, chunked as the demo chunks; the demo retrieves
its chunk with hybrid search). The last line weighs the sets by the systems that use them.

Timed: only answering (tokenize, generate, decode, cut), after one warm-up call of each side, one
torch thread (the `evaluate` rule's `threads: 1`); each side runs `--repeats` times, alternating,
and its best run counts (the machine may be shared). It reports how many answers are identical and
lists the others: `generate`'s stop_strings end an answer that begins with a newline at once
(empty), while ragft counts a stop only after the answer's first text.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch
import yaml

from ragft.evaluate.answer import (
    fitted_prompts,
    generate_kwargs,
    generation_settings,
    pick_shots,
)
from ragft.jsonl import read_jsonl
from ragft.models.generate import cut_at_stop, generate_answers, own_loop_ok
from ragft.retrieval.metrics import answer_recall_at_k

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
# how many of the demo's five systems use each prompt set
SYSTEMS_PER_SET = {"closed": 2, "few-shot": 1, "RAG": 2}


def demo_split(tmp: Path) -> tuple[list[dict], list[dict], list[dict]]:
    """(eval questions, train questions, chunks) of the demo: the workflow's files when it has run,
    else made here as it makes them (ingest, the config's split and chunking)."""
    results = ROOT / "results" / "demo"
    if (results / "qa" / "eval.jsonl").is_file() and (results / "chunks.jsonl").is_file():
        return read_jsonl(results / "qa" / "eval.jsonl"), read_jsonl(results / "qa" / "train.jsonl"), \
            read_jsonl(results / "chunks.jsonl")
    from ragft.ingest.run import run_ingest
    from ragft.models.specs import minilm_path
    from ragft.qa.gold import doc_index, load_gold, split_questions
    from ragft.retrieval.chunk import chunk_docs, load_offsets_tokenizer

    corpus, qa, chunk = CONFIG["corpora"]["demo"], CONFIG["qa"], CONFIG["chunk"]
    run_ingest(str(ROOT / corpus["source"]), tmp / "docs.jsonl", tmp / "rejected.jsonl", tmp / "manifest.json")
    questions, _ = load_gold(str(ROOT / corpus["qa"]), doc_index(str(tmp / "docs.jsonl")))
    train, evaluation = split_questions(questions, qa["eval_fraction"], CONFIG["seed"] + qa["seed_offset"], qa["max_eval"])
    chunks = chunk_docs(read_jsonl(tmp / "docs.jsonl"), load_offsets_tokenizer(minilm_path()), chunk["size"],
                        chunk["overlap"], chunk["strategy"])
    return evaluation, train, chunks


def prompt_sets(model, tok, questions, train, chunks, g) -> dict[str, list[str]]:
    """The prompts of the demo's systems, fitted and rendered as evaluation does."""
    text = {c["id"]: c["text"] for c in chunks}
    by_doc: dict[str, list[dict]] = {}
    for c in chunks:
        by_doc.setdefault(c["doc_id"], []).append(c)
    gold = []
    for q in questions:
        held = [c for d in q["doc_ids"] for c in by_doc.get(d, [])]
        best = next((c for c in held if answer_recall_at_k([c["text"]], q["answers"], 1)), held[0] if held else None)
        gold.append([(best["id"], 1.0)] if best else [])
    shots = pick_shots(train, CONFIG["systems"]["fewshot"]["shots"], CONFIG["seed"])
    none = [[] for _ in questions]
    sets = {"closed book (base, ft)": (none, ()), f"few-shot, {len(shots)} examples (fewshot)": (none, shots),
            "RAG, 1 chunk (rag, rag_ft)": (gold, ())}
    return {name: [t for t, _ in fitted_prompts(model, tok, questions, hits, text, list(s), g)[0]]
            for name, (hits, s) in sets.items()}


@torch.no_grad()
def generate_baseline(model, tok, texts: list[str], g: dict) -> list[str]:
    """transformers' batched `generate` with stop_strings, prompts in their order, left padding."""
    stops, out = list(g["stop"]), []
    tok.padding_side = "left"
    for i in range(0, len(texts), g["batch_size"]):
        enc = tok(texts[i : i + g["batch_size"]], return_tensors="pt", padding=True, add_special_tokens=False)
        gen = model.generate(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"],
                             max_new_tokens=g["max_new_tokens"], do_sample=False, stop_strings=stops, tokenizer=tok,
                             pad_token_id=tok.pad_token_id)
        new = gen[:, enc["input_ids"].shape[1] :]
        out += [cut_at_stop(t, stops) for t in tok.batch_decode(new, skip_special_tokens=True)]
    return out


def measure(model, tok, texts: list[str], g: dict, repeats: int) -> tuple[dict[str, float], dict[str, list[str]]]:
    """Questions/s of each side (best of `repeats`, alternating) and its answers."""
    sides = {"ragft": lambda t: generate_answers(model, tok, t, **generate_kwargs(g)),
             "generate": lambda t: generate_baseline(model, tok, t, g)}
    for fn in sides.values():  # warm-up: first calls allocate
        fn(texts[:2])
    rates: dict[str, float] = {}
    answers: dict[str, list[str]] = {}
    for _ in range(repeats):
        for side, fn in sides.items():
            start = time.perf_counter()
            answers[side] = fn(texts)
            rates[side] = max(rates.get(side, 0.0), len(texts) / (time.perf_counter() - start))
    return rates, answers


def cpu() -> str:
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    name = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "?")
    return f"{name}, {torch.get_num_threads()} torch thread(s), avx512_vnni {'yes' if 'avx512_vnni' in info else 'no'}"


def report(rows: list[tuple], questions: list[dict]) -> None:
    print("| prompts | n | prompt tokens | ragft q/s | batched generate q/s | ratio | same answers |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    seconds, count = {"ragft": 0.0, "generate": 0.0}, 0
    for name, n, tokens, rates, answers in rows:
        same = sum(a == b for a, b in zip(answers["ragft"], answers["generate"]))
        print(f"| {name} | {n} | {tokens:.1f} | {rates['ragft']:.2f} | {rates['generate']:.2f} | "
              f"{rates['ragft'] / rates['generate']:.2f}x | {same}/{n} |")
        weight = next(v for k, v in SYSTEMS_PER_SET.items() if name.startswith(k))
        for side in seconds:
            seconds[side] += weight * n / rates[side]
        count += weight * n
    q = {side: count / s for side, s in seconds.items()}
    print(f"| **the demo's 5 systems** | {count} | | {q['ragft']:.2f} | {q['generate']:.2f} | "
          f"**{q['ragft'] / q['generate']:.2f}x** | |")
    for name, _, _, _, answers in rows:
        for qu, a, b in zip(questions, answers["ragft"], answers["generate"]):
            if a != b:
                print(f"- {name}, {qu['id']}: ragft {a[:60]!r}, generate {b[:60]!r}")


def load_model(path: str, threads: int):
    """(model, tokenizer) of the built smollm2 folder (or --model), torch on `threads` threads."""
    from ragft.models.load import load_causal_lm, load_tokenizer

    if not (Path(path) / "config.json").is_file():
        sys.exit(f"{path}: no model; build builtin:smollm2 (rule build_smollm2) or pass --model")
    torch.set_num_threads(threads)
    return load_causal_lm(path), load_tokenizer(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=str(ROOT / "resources" / "models" / "smollm2"))
    ap.add_argument("--questions", type=int, default=80, help="eval questions (the demo has 80)")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (the evaluate rule runs with 1)")
    args = ap.parse_args()
    model, tok = load_model(args.model, args.threads)
    g = generation_settings(CONFIG["model"])
    with tempfile.TemporaryDirectory() as tmp:
        questions, train, chunks = demo_split(Path(tmp))
    questions = questions[: args.questions]
    print(f"model: {args.model} ({sum(p.numel() for p in model.parameters()) / 1e6:.1f}M parameters, {model.device}, "
          f"own loop: {own_loop_ok(model)}); {cpu()}; torch {torch.__version__}")
    print(f"greedy, {g['max_new_tokens']} new tokens at most, stop {g['stop']}, batch {g['batch_size']}, "
          f"best of {args.repeats} runs each\n")
    rows = []
    for name, texts in prompt_sets(model, tok, questions, train, chunks, g).items():
        tokens = sum(len(tok(t, add_special_tokens=False)["input_ids"]) for t in texts) / len(texts)
        rows.append((name, len(texts), tokens, *measure(model, tok, texts, g, args.repeats)))
    report(rows, questions)


if __name__ == "__main__":
    main()
