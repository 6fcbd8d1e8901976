"""Training throughput: ragft's finetune stage against TRL's SFTTrainer, the baseline a reviewer
would pick, for QLoRA and LoRA on builtin:smollm2 (SmolLM2-135M-Instruct) with the same data,
batch size, max length, LoRA recipe and learning rate.

TRL goes into a folder of its own, so that nothing in the project's environment changes (trl 1.16.0,
the newest release, installs beside transformers 4.57.6, peft 0.21.2, accelerate 1.15.0 and
datasets without moving any of them; the `bench` extra pins it too). Then every case (ragft and
the four TRL settings, for both recipes), or the chosen ones, 4 measured steps each:

    .venv/bin/pip install --no-deps --target /work/trl_site trl==1.16.0
    env -u PYTHONDONTWRITEBYTECODE PYTHONPATH=/work/trl_site .venv/bin/python benchmarks/train_throughput.py \
        --model resources/models/smollm2 --steps 4 --warmup 1 --threads 1 \
        [--cases ragft:qlora,trl:qlora:padfree,trl:qlora:padfree:fp32,ragft:lora,trl:lora:padfree]

Data: the demo's training set as the finetune stage builds it from config/config.yaml (its
finetune.data builders, the train split of resources/demo/qa.jsonl, QA prompts in smollm2's chat
template; chunks cut here from the demo files in sentence windows of about 60 words, retrieval
hits drawn from the gold document's chunks and one random one). Recipes: config/config.yaml's
`qlora` (nf4) and `lora` (none), as they are (r, alpha, dropout, target modules, lr, batch size,
max length), only `max_steps` set to warm-up + measured steps.

- **ragft**: `ragft.finetune.trainer.train` exactly as the finetune rule calls it (length-grouped
  batches padded to their longest, the output layer on the answer tokens only, checkpoints every
  `save_every` steps, TensorBoard events).
- **trl**: `trl.SFTTrainer` on the same (prompt, completion) pairs, completion-only loss (its default
  for such data), its fused chunked LM head; the base with ragft's `BitsAndBytesConfig` (NF4, double
  quantisation) or unquantised, fp32 compute on a CPU and bf16 on CUDA, as TRL's docs load it (no
  `prepare_model_for_kbit_training`, which TRL does not call); the same `LoraConfig`; no gradient
  checkpointing and fp32 on a CPU as in ragft's recipe (SFTConfig would otherwise turn both on);
  checkpoints at the same steps. In four settings, the fastest of which is the baseline:
  `pad` (batches padded to their longest), `grouped` (the same with `group_by_length`), `bfd`
  (best-fit-decreasing packing into rows of max length, padding-free: position ids, no padding) and
  `padfree` (padding-free without packing: each batch one row of its examples). On a quantized
  base SFTTrainer makes the adapters bf16; a case ending `:fp32` keeps them fp32.

Each case runs in its own process. tokens/s counts the same tokens on both sides, the real
(non-padding) ones of every batch (attention mask, or the whole row where padding-free rows have
none), over the steps after `--warmup` ones; peak memory is the resident set's high-water mark
(VmHWM, reset when training starts, so it includes the weights but not loading's transient
copies), or `max_memory_allocated` on CUDA.
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

import yaml

ROOT = Path(__file__).resolve().parents[1]
TRL_MODES = ("pad", "grouped", "bfd", "padfree")


# -- data and recipes ---------------------------------------------------------------------------

def config() -> dict:
    return yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


def demo_chunks() -> list[dict]:
    """The demo corpus cut into sentence windows of about 60 words."""
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
        window: list[str] = []
        for s in re.split(r"(?<=[.!?])\s+", " ".join(text.split())) + [None]:
            if s is None or sum(len(w.split()) for w in window) + len(s.split()) > 60:
                if window:
                    chunks.append({"id": f"{doc_id}#{len(chunks):05d}", "doc_id": doc_id, "text": " ".join(window)})
                window = []
            if s:
                window.append(s)
    return chunks


def demo_data(model_dir: str) -> list[dict]:
    """The demo's training set as finetune_data builds it with config/config.yaml."""
    from ragft.finetune.examples import build_train_data
    from ragft.models.load import load_tokenizer
    from ragft.qa.gold import load_gold, split_questions

    cfg = config()
    chunks = demo_chunks()
    questions, _ = load_gold(str(ROOT / "resources" / "demo" / "qa.jsonl"))
    train, _ = split_questions(questions, cfg["qa"]["eval_fraction"], cfg["seed"] + cfg["qa"]["seed_offset"], cfg["qa"]["max_eval"])
    by_doc: dict[str, list[str]] = {}
    for c in chunks:
        by_doc.setdefault(c["doc_id"], []).append(c["id"])
    rng = random.Random(cfg["seed"])
    hits = [[(c, 1.0) for d in q["doc_ids"] for c in by_doc.get(d, [])] + [(rng.choice(chunks)["id"], 0.5)] for q in train]
    return build_train_data(chunks, train, cfg["finetune"]["data"], cfg["seed"], cfg["model"].get("templates"), hits,
                            tokenizer=load_tokenizer(model_dir), chat_template=cfg["model"]["chat_template"])[0]


def recipe(name: str, steps: int) -> dict:
    """config/config.yaml's recipe `name`, over `steps` optimiser steps."""
    from ragft.config import recipe_defaults

    return {**recipe_defaults(), **config()["finetune"]["recipes"][name], "max_steps": steps, "epochs": 1}


# -- what each case measures ----------------------------------------------------------------------

def clock(warmup: int):
    """A callback that resets peak memory when training starts and records (time, tokens seen)
    at the end of step `warmup` and at the end of training."""
    from transformers import TrainerCallback

    from ragft.finetune.callbacks import reset_peak_memory

    class Clock(TrainerCallback):
        def __init__(self):
            self.marks: dict = {}

        def on_train_begin(self, args, state, control, **kwargs):
            reset_peak_memory()

        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == warmup:
                self.marks["start"] = (time.perf_counter(), state.num_input_tokens_seen)

        def on_train_end(self, args, state, control, **kwargs):
            self.marks["end"] = (time.perf_counter(), state.num_input_tokens_seen)

    return Clock()


def run_ragft(model_dir: str, data: list[dict], rec: dict, work: Path, warmup: int) -> dict:
    """The finetune rule's call of `train` (seed, checkpoints, TensorBoard), timed by a callback."""
    from ragft.finetune.trainer import train

    c = clock(warmup)
    train(model_dir, data, rec, work / "adapter", work / "train_log.jsonl", work / "checkpoints", seed=config()["seed"],
          log=lambda m: None, tensorboard_dir=work / "tensorboard", callbacks=[c])
    return c.marks


def run_trl(model_dir: str, data: list[dict], rec: dict, work: Path, warmup: int, mode: str, fp32: bool = False) -> dict:
    """TRL's SFTTrainer with completion-only loss in setting `mode`, on the same base, LoRA and recipe;
    `fp32`: the adapters kept in fp32 (SFTTrainer makes them bf16 on a quantized base, as the QLoRA paper does)."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig
    from trl import SFTConfig, SFTTrainer

    cuda = torch.cuda.is_available()
    compute = torch.bfloat16 if cuda else torch.float32
    quant = None
    if rec["quantization"] == "nf4":
        quant = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                                   bnb_4bit_compute_dtype=compute)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=compute, quantization_config=quant, use_safetensors=True,
                                                 attn_implementation="sdpa")
    lora = LoraConfig(r=rec["r"], lora_alpha=rec["alpha"], lora_dropout=rec["dropout"], target_modules=rec["target_modules"],
                      task_type="CAUSAL_LM")
    args = SFTConfig(
        output_dir=str(work / "checkpoints"), per_device_train_batch_size=rec["batch_size"],
        gradient_accumulation_steps=rec["grad_accum"], max_steps=rec["max_steps"], learning_rate=rec["lr"],
        lr_scheduler_type=rec["scheduler"], warmup_ratio=rec["warmup_ratio"], weight_decay=0.0,
        logging_steps=rec["log_every"], save_steps=rec["save_every"], save_total_limit=2, seed=config()["seed"],
        bf16=cuda, use_cpu=not cuda, gradient_checkpointing=rec["gradient_checkpointing"], report_to=[],
        max_length=None if mode == "padfree" else rec["max_length"], completion_only_loss=True,
        packing=mode == "bfd", padding_free=mode in ("bfd", "padfree"), group_by_length=mode == "grouped",
        dataset_num_proc=1, dataloader_num_workers=0, disable_tqdm=True)
    tok = AutoTokenizer.from_pretrained(model_dir)
    if mode == "padfree":  # SFTTrainer would refuse max_length here, and cuts nothing: check nothing needs cutting
        longest = max(len(tok(e["prompt"] + e["completion"])["input_ids"]) + 1 for e in data)
        assert longest <= rec["max_length"], f"an example of {longest} tokens: padfree would train on more than max_length"

    class Counted(SFTTrainer):
        """Counts each batch's real tokens as ragft's Trainer does (its attention mask), or the
        whole row of a padding-free batch, which has no padding."""

        def training_step(self, model, inputs, num_items_in_batch=None):
            mask = inputs.get("attention_mask")
            self.state.num_input_tokens_seen += int(mask.sum() if mask is not None else inputs["position_ids"].numel())
            return super().training_step(model, inputs, num_items_in_batch)

    c = clock(warmup)
    trainer = Counted(model=model, args=args, peft_config=lora, callbacks=[c],
                      train_dataset=Dataset.from_list([{"prompt": e["prompt"], "completion": e["completion"]} for e in data]),
                      processing_class=tok)
    if fp32:  # before train() builds the optimizer
        for p in trainer.model.parameters():
            p.data = p.data.float() if p.requires_grad else p.data
    trainer.train()
    return c.marks


def case(name: str, model_dir: str, steps: int, warmup: int, work: Path, threads: int) -> dict:
    """One case, `<impl>:<recipe>[:<trl mode>[:fp32]]` (ragft:qlora, trl:lora:bfd, trl:qlora:pad:fp32):
    tokens/s and peak memory."""
    import torch

    from ragft.finetune.callbacks import peak_memory_mb

    impl, rec_name, *mode = name.split(":")
    torch.set_num_threads(threads)
    data, rec = demo_data(model_dir), recipe(rec_name, warmup + steps)
    if impl == "ragft":
        marks = run_ragft(model_dir, data, rec, work, warmup)
    else:
        marks = run_trl(model_dir, data, rec, work, warmup, mode[0], fp32=mode[1:] == ["fp32"])
    (t0, n0), (t1, n1) = marks["start"], marks["end"]
    return {"case": name, "tokens_per_s": (n1 - n0) / (t1 - t0), "tokens": n1 - n0, "seconds": t1 - t0,
            "peak_memory_mb": peak_memory_mb(), "batch_size": rec["batch_size"], "max_length": rec["max_length"],
            "lr": rec["lr"], "r": rec["r"], "examples": len(data)}


# -- the driver -----------------------------------------------------------------------------------

def run_case(name: str, a, tmp: Path) -> dict:
    """`case` in a process of its own; its result, or the error it ended with."""
    work = tmp / name.replace(":", "-")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    proc = subprocess.run([sys.executable, __file__, "--case", name, "--model", a.model, "--steps", str(a.steps),
                           "--warmup", str(a.warmup), "--threads", str(a.threads), "--work", str(work)],
                          capture_output=True, text=True, env=env, check=False)
    line = next((x for x in reversed(proc.stdout.splitlines()) if x.startswith("{")), None)
    if proc.returncode != 0 or line is None:
        return {"case": name, "error": (proc.stderr.strip().splitlines() or ["no output"])[-1]}
    return json.loads(line)


def summary(results: dict[str, dict]) -> None:
    """The table and, per recipe, ragft against TRL's fastest setting (and TRL with fp32 adapters)."""
    print("\n| case | batch x length | tokens/s | peak memory (MB) |\n|---|---|---|---|")
    for name, r in results.items():
        if "error" in r:
            print(f"| {name} | - | {r['error']} | - |")
        else:
            print(f"| {name} | {r['batch_size']} x {r['max_length']} | {r['tokens_per_s']:.0f} | {r['peak_memory_mb']:.0f} |")
    print()
    for rec in ("qlora", "lora"):
        ours = results.get(f"ragft:{rec}", {})
        trl = [r for n, r in results.items() if n.startswith(f"trl:{rec}:") and "error" not in r]
        if not ours or "error" in ours or not trl:
            continue
        for fp32 in (False, True):
            mine = [r for r in trl if r["case"].endswith(":fp32") == fp32]
            if mine:
                best = max(mine, key=lambda r: r["tokens_per_s"])
                print(f"{rec}: ragft / {best['case']}{'' if fp32 else ' (TRL as it runs, its fastest setting)'}: "
                      f"{ours['tokens_per_s'] / best['tokens_per_s']:.2f}x tokens/s, "
                      f"{ours['peak_memory_mb'] / best['peak_memory_mb']:.2f}x peak memory")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(ROOT / "resources" / "models" / "smollm2"), help="builtin:smollm2's folder")
    ap.add_argument("--steps", type=int, default=4, help="measured optimiser steps per case")
    ap.add_argument("--warmup", type=int, default=1, help="steps before the measured ones")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads per case")
    ap.add_argument("--trl-modes", default=",".join(TRL_MODES), help=f"TRL settings to run, of {','.join(TRL_MODES)}")
    ap.add_argument("--recipes", default="qlora,lora", help="config/config.yaml recipes to run")
    ap.add_argument("--cases", help="run these cases instead (comma-separated, e.g. ragft:qlora,trl:qlora:padfree:fp32)")
    ap.add_argument("--case", help=argparse.SUPPRESS)
    ap.add_argument("--work", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.case:
        print(json.dumps(case(a.case, a.model, a.steps, a.warmup, Path(a.work), a.threads)))
        return

    import torch
    import trl

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"{torch.cuda.get_device_name() if torch.cuda.is_available() else 'no GPU'}; torch {torch.__version__}, "
          f"trl {trl.__version__}; {a.threads} torch threads per case; load average {os.getloadavg()[0]:.1f}")
    started, results = time.time(), {}
    names = a.cases.split(",") if a.cases else [
        n for rec in a.recipes.split(",") for n in [f"ragft:{rec}"] + [f"trl:{rec}:{m}" for m in a.trl_modes.split(",")]]
    with tempfile.TemporaryDirectory(prefix="ragft-train-bench-") as tmp:
        for name in names:
            results[name] = r = run_case(name, a, Path(tmp))
            shown = r.get("error") or f"{r['tokens_per_s']:.0f} tokens/s, peak {r['peak_memory_mb']:.0f} MB, {r['seconds']:.0f} s"
            print(f"  {name:<22} {shown}", flush=True)
    summary(results)
    print(f"load average at the end {os.getloadavg()[0]:.1f}; {time.time() - started:.0f} s in all")


if __name__ == "__main__":
    main()
