"""Training throughput: ragft's finetune stage against a plain HF Trainer + peft + bitsandbytes
QLoRA script, and QLoRA against LoRA, with the same model, data, batch size and sequence length.

    env -u PYTHONDONTWRITEBYTECODE .venv/bin/python benchmarks/train_throughput.py --steps 20 --threads 1

Data: the demo corpus's training set as the finetune stage builds it (chunks, train questions,
and RAFT-style retrieval examples; chunks cut here from the demo files in sentence windows of about
60 words), 23-256 tokens long. Every case runs in its own process; tokens/s counts real
(non-padding) tokens over the time of `Trainer.train()`, and peak memory is measured from the start
of training (VmHWM reset through /proc/self/clear_refs on CPU, `reset_peak_memory_stats` on CUDA), so
it includes the weights but not the transient copies made while loading them.

- **plain**: what a plain script does: tokenize prompt + answer padded to max_length
  (DataCollatorForLanguageModeling-style labels: every non-pad token scored), random batches, the
  model's own loss; `BitsAndBytesConfig` NF4 with double quantisation, `prepare_model_for_kbit_training`,
  LoRA on all linear layers, default `TrainingArguments`.
- **ragft**: `ragft.finetune.trainer.train` as the workflow runs it (length-grouped batches padded to their
  longest, loss and output layer on the answer tokens only, checkpoint at the end, TensorBoard);
  **ragft packed**: the same with `packing: true`.
- QLoRA and LoRA (`quantization: none`) of the same recipe side by side, on the tiny model and on a
  randomly initialised ~110M-parameter Llama whose weights dominate memory.
- With a CUDA GPU only: Llama-shaped models of 1B and 8B parameters built from config with random
  weights (QLoRA and LoRA): tokens/s, peak GPU memory and model FLOPs utilisation,
  4·N·tokens/s ÷ the GPU's dense bf16 peak.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BATCH, MAX_LENGTH = 16, 256
RECIPE = {"quantization": "nf4", "r": 16, "alpha": 32, "dropout": 0.05, "target_modules": "all-linear", "lr": 0.002,
          "scheduler": "cosine", "warmup_ratio": 0.05, "epochs": 1, "batch_size": BATCH, "grad_accum": 1,
          "max_length": MAX_LENGTH, "log_every": 10, "save_every": 100000, "gradient_checkpointing": False}
# shapes built from config with random weights: (hidden, layers, heads, kv heads, intermediate, vocab,
# tied embeddings); llama-1B and llama-8B are Llama 3.2 1B's and Llama 3.1 8B's
SHAPES = {"small-110M": (768, 12, 12, 12, 2048, 32000, True), "llama-1B": (2048, 16, 32, 8, 8192, 128256, True),
          "llama-8B": (4096, 32, 32, 8, 14336, 128256, False)}
# dense bf16 peak FLOP/s by GPU name
GPU_PEAK = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L40S": 362e12, "L4": 121e12, "A10": 125e12, "4090": 165e12}


# -- data and models ----------------------------------------------------------------------------

def demo_data(seed: int = 7) -> list[dict]:
    """The demo's training set: chunks, qa and retrieval (k=1, gold in 80%) examples."""
    from ragft.finetune.examples import build_train_data

    corpus, docs = ROOT / "resources" / "demo" / "corpus", {}
    for f in sorted(corpus.rglob("*")):
        if f.suffix in (".md", ".txt"):
            docs[str(f.relative_to(corpus))] = f.read_text()
        elif f.suffix == ".jsonl":
            for line in f.read_text().splitlines():
                rec = json.loads(line)
                docs[f"{f.name}:{rec['id']}"] = rec["text"]
    chunks = []
    for doc_id, text in docs.items():
        sentences, window = re.split(r"(?<=[.!?])\s+", " ".join(text.split())), []
        for s in sentences + [None]:
            if s is None or sum(len(w.split()) for w in window) + len(s.split()) > 60:
                if window:
                    chunks.append({"id": f"{doc_id}#{len(chunks):05d}", "doc_id": doc_id, "text": " ".join(window)})
                window = []
            if s:
                window.append(s)
    questions = [json.loads(x) for x in (ROOT / "resources" / "demo" / "qa.jsonl").read_text().splitlines()][:-150]
    by_doc: dict[str, list[str]] = {}
    for c in chunks:
        by_doc.setdefault(c["doc_id"], []).append(c["id"])
    rng = random.Random(seed)
    hits = [[(c, 1.0) for d in q["doc_ids"] for c in by_doc.get(d, [])] + [(rng.choice(chunks)["id"], 0.5)] for q in questions]
    builders = {"chunks": {}, "qa": {}, "retrieval": {"enabled": True, "k": 1, "gold_fraction": 0.8}}
    return build_train_data(chunks, questions, builders, seed, hits=hits)[0]


def tiny_model(out: Path) -> str:
    """builtin:tiny when it is built, else a randomly initialised model of its shape."""
    built = ROOT / "resources" / "models" / "tiny"
    if (built / "config.json").is_file():
        return str(built)
    return random_llama(out, (128, 2, 4, 4, 512, 1024, True))


def random_llama(out: Path, shape: tuple, dtype=None) -> str:
    """A Llama of the given shape with random weights, saved with builtin:tiny's kind of tokenizer."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from ragft.models import reading_corpus, tiny

    if (out / "config.json").is_file():
        return str(out)
    hidden, layers, heads, kv, inter, vocab, tied = shape
    rng = random.Random(0)
    tok = tiny.train_tokenizer(["".join(tiny.example_text(ex, rng)) for ex in reading_corpus.examples(0, 2000)], 1024)
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=max(vocab, len(tok)), hidden_size=hidden, intermediate_size=inter, num_hidden_layers=layers,
                         num_attention_heads=heads, num_key_value_heads=kv, max_position_embeddings=2048,
                         bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
                         tie_word_embeddings=tied)
    model = LlamaForCausalLM._from_config(config, torch_dtype=dtype or torch.float32)
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    return str(out)


# -- one case, in its own process -----------------------------------------------------------------

def peak_memory_mb() -> float:
    from ragft.finetune.trainer import peak_memory_mb as peak

    return peak()


def run_plain(model_dir: str, data: list[dict], recipe: dict, steps: int, work: Path) -> dict:
    """The plain HF Trainer + peft + bitsandbytes script."""
    import torch
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
    from transformers import (
        AutoModelForCausalLM,
        AutoTokenizer,
        BitsAndBytesConfig,
        DataCollatorForLanguageModeling,
        Trainer,
        TrainerCallback,
        TrainingArguments,
    )

    from ragft.finetune.trainer import reset_peak_memory

    cuda = torch.cuda.is_available()
    compute = torch.bfloat16 if cuda else torch.float32
    tok = AutoTokenizer.from_pretrained(model_dir)
    tok.pad_token = tok.pad_token or tok.eos_token
    quant = None
    if recipe["quantization"] == "nf4":
        quant = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                                   bnb_4bit_compute_dtype=compute)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=compute, quantization_config=quant,
                                                 device_map={"": 0} if cuda else None)
    if quant is not None:
        model = prepare_model_for_kbit_training(model)
    model = get_peft_model(model, LoraConfig(r=recipe["r"], lora_alpha=recipe["alpha"], lora_dropout=recipe["dropout"],
                                             target_modules="all-linear", task_type="CAUSAL_LM"))
    texts = [e["prompt"] + e["completion"] + tok.eos_token for e in data]
    enc = tok(texts, padding="max_length", truncation=True, max_length=recipe["max_length"], add_special_tokens=False)
    dataset = [{"input_ids": i, "attention_mask": m} for i, m in zip(enc["input_ids"], enc["attention_mask"])]
    args = TrainingArguments(output_dir=str(work / "plain"), per_device_train_batch_size=recipe["batch_size"], max_steps=steps,
                             learning_rate=recipe["lr"], lr_scheduler_type=recipe["scheduler"], warmup_ratio=recipe["warmup_ratio"],
                             logging_steps=recipe["log_every"], save_strategy="no", report_to=[], bf16=cuda, use_cpu=not cuda,
                             seed=7, include_num_input_tokens_seen="non_padding", disable_tqdm=True)
    class ResetPeak(TrainerCallback):  # as ragft's stage does: training's peak, not loading's
        def on_train_begin(self, *args, **kwargs):
            reset_peak_memory()

    trainer = Trainer(model=model, args=args, train_dataset=dataset,
                      data_collator=DataCollatorForLanguageModeling(tok, mlm=False), callbacks=[ResetPeak()])
    start = time.time()
    trainer.train()
    seconds = time.time() - start
    return {"tokens": trainer.state.num_input_tokens_seen, "seconds": seconds}


def run_ragft(model_dir: str, data: list[dict], recipe: dict, steps: int, work: Path) -> dict:
    """The finetune stage as the workflow runs it."""
    from ragft.finetune.trainer import train

    summary = train(model_dir, data, {**recipe, "max_steps": steps}, work / "adapter", work / "log.jsonl", work / "ckpt",
                    seed=7, log=lambda m: None, tensorboard_dir=work / "tb")
    return {"tokens": summary["train_tokens"], "seconds": summary["train_seconds"]}


def case_model(model: str, tmp: Path) -> str:
    """The folder of a case's model, built (in the driver, so no case pays for it) when needed."""
    import torch

    if model == "tiny":
        return tiny_model(tmp / "tiny")
    return random_llama(tmp / model, SHAPES[model], torch.bfloat16 if torch.cuda.is_available() else None)


def case(name: str, steps: int, work: Path, threads: int, model_dir: str) -> dict:
    """Run one case: `<impl>:<quantization>:<model>[:packed]`, e.g. plain:nf4:tiny."""
    import torch

    impl, quant, model, *extra = name.split(":")
    torch.set_num_threads(threads)
    data = demo_data()
    recipe = {**RECIPE, "quantization": quant, "packing": "packed" in extra}
    if model != "tiny":
        recipe = {**recipe, "batch_size": 4 if model == "small-110M" else 8, "max_length": 256, "gradient_checkpointing": model == "llama-8B"}
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    result = (run_plain if impl == "plain" else run_ragft)(model_dir, data, recipe, steps, work)
    from ragft.finetune.data_report import count_parameters

    params = count_parameters(model_dir)
    out = {"case": name, "tokens_per_s": result["tokens"] / result["seconds"], "peak_memory_mb": peak_memory_mb(),
           "tokens": result["tokens"], "seconds": result["seconds"], "parameters": params,
           "batch_size": recipe["batch_size"], "max_length": recipe["max_length"]}
    if not torch.cuda.is_available():  # CPU memory also counts activations, the process and dequantised copies
        from ragft.finetune.trainer import load_for_training

        model = load_for_training(model_dir, recipe)
        out["weights_mb"] = sum(t.numel() * t.element_size() for t in [*model.parameters(), *model.buffers()]) / 2**20
    if torch.cuda.is_available():
        name_gpu = torch.cuda.get_device_name()
        peak = next((v for k, v in GPU_PEAK.items() if k in name_gpu), None)
        out["gpu"] = name_gpu
        out["mfu"] = 4 * params * out["tokens_per_s"] / peak if peak else None
    return out


# -- the driver -----------------------------------------------------------------------------------

def run_case(name: str, steps: int, tmp: Path, run: int, threads: int) -> dict:
    work = tmp / f"{name.replace(':', '-')}-{run}"
    work.mkdir(parents=True, exist_ok=True)
    folder = case_model(name.split(":")[2], tmp)
    env = {**os.environ}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    proc = subprocess.run([sys.executable, __file__, "--case", name, "--steps", str(steps), "--work", str(work),
                           "--threads", str(threads), "--model-dir", folder], capture_output=True, text=True, env=env)
    line = next((x for x in reversed(proc.stdout.splitlines()) if x.startswith("{")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"case {name} failed:\n{proc.stderr[-3000:]}")
    return json.loads(line)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20, help="optimiser steps per tiny-model case")
    ap.add_argument("--repeats", type=int, default=2, help="runs of the plain and ragft QLoRA tiny cases (alternating); the best counts")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads per case (1 on a machine shared with other jobs)")
    ap.add_argument("--small-steps", type=int, default=6, help="steps of the ~110M-parameter CPU cases (0: skip)")
    ap.add_argument("--gpu-steps", type=int, default=20, help="steps of the 1B/8B cases (CUDA only)")
    ap.add_argument("--case", help=argparse.SUPPRESS)
    ap.add_argument("--work", help=argparse.SUPPRESS)
    ap.add_argument("--model-dir", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.case:
        print(json.dumps(case(a.case, a.steps, Path(a.work), a.threads, a.model_dir)))
        return

    import torch

    cuda = torch.cuda.is_available()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{torch.cuda.get_device_name() if cuda else 'no GPU'}; torch {torch.__version__}; {a.threads} torch threads per case; "
          f"load average {os.getloadavg()[0]:.1f}")
    started = time.time()
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="ragft-train-bench-") as tmp:
        headline = ["plain:nf4:tiny", "ragft:nf4:tiny"]
        tiny_cases = headline + ["ragft:nf4:tiny:packed", "plain:none:tiny", "ragft:none:tiny"]
        runs = tiny_cases + [c for r in range(1, a.repeats) for c in (headline if r % 2 == 0 else headline[::-1])]
        for r, name in enumerate(runs):
            res = run_case(name, a.steps, Path(tmp), r, a.threads)
            print(f"  {name:<24} {res['tokens_per_s']:9.0f} tokens/s, peak {res['peak_memory_mb']:7.0f} MB", flush=True)
            if name not in results or res["tokens_per_s"] > results[name]["tokens_per_s"]:
                results[name] = res
        extra = [f"ragft:{q}:small-110M" for q in ("nf4", "none")] if a.small_steps else []
        if cuda:
            extra += [f"{impl}:{q}:{m}" for m in ("llama-1B", "llama-8B") for impl in ("plain", "ragft") for q in ("nf4", "none")]
        for name in extra:
            steps = a.small_steps if "small" in name else a.gpu_steps
            try:
                results[name] = run_case(name, steps, Path(tmp), 0, a.threads)
            except RuntimeError as err:  # e.g. out of memory: record it, go on
                results[name] = {"case": name, "error": str(err).splitlines()[-1]}
            print(f"  {name:<24} {json.dumps(results[name])}", flush=True)

    print("\n| case | model | quantization | batch x length | tokens/s | peak memory (MB) | weights (MB) | MFU |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        impl, quant, model, *extra = name.split(":")
        if "error" in r:
            print(f"| {impl} | {model} | {quant} | - | {r['error']} | - | - | - |")
            continue
        mfu = f"{100 * r['mfu']:.1f}%" if r.get("mfu") else "-"
        weights = f"{r['weights_mb']:.0f}" if r.get("weights_mb") else "-"
        print(f"| {impl}{' packed' if extra else ''} | {model} ({r['parameters'] / 1e6:.1f}M) | {quant} | "
              f"{r['batch_size']} x {r['max_length']} | {r['tokens_per_s']:.0f} | {r['peak_memory_mb']:.0f} | {weights} | {mfu} |")

    def ratio(a_, b_, key="tokens_per_s"):
        return results[a_][key] / results[b_][key] if a_ in results and b_ in results and "error" not in results[a_] | results[b_] else float("nan")

    print()
    print(f"ragft / plain, QLoRA, tiny: {ratio('ragft:nf4:tiny', 'plain:nf4:tiny'):.2f}x tokens/s "
          f"(packed: {ratio('ragft:nf4:tiny:packed', 'plain:nf4:tiny'):.2f}x); LoRA: {ratio('ragft:none:tiny', 'plain:none:tiny'):.2f}x")
    for model in ("tiny", "small-110M", "llama-1B", "llama-8B"):
        q, l = f"ragft:nf4:{model}", f"ragft:none:{model}"
        if q in results and l in results and "error" not in results[q] | results[l]:
            weights = f", {ratio(q, l, 'weights_mb'):.2f}x weight memory" if results[q].get("weights_mb") else ""
            print(f"QLoRA / LoRA, {model}: {ratio(q, l):.2f}x tokens/s ({100 * (1 - ratio(q, l)):.0f}% slower), "
                  f"{ratio(q, l, 'peak_memory_mb'):.2f}x peak memory{weights}")
    if cuda:
        for model in ("llama-1B", "llama-8B"):
            print(f"ragft / plain, QLoRA, {model}: {ratio(f'ragft:nf4:{model}', f'plain:nf4:{model}'):.2f}x tokens/s")
    else:
        print("1B and 8B cases: not measured (no CUDA GPU on this machine)")
    print(f"load average at the end {os.getloadavg()[0]:.1f}; {time.time() - started:.0f} s in all")


if __name__ == "__main__":
    main()
