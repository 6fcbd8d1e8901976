"""Fine-tuning data and (Q)LoRA training with transformers' Trainer, peft and bitsandbytes.

Training examples are (prompt, completion) pairs: the loss falls on the completion only, so a
QA example teaches the answer and not the question, and a corpus chunk (empty prompt) is plain
continued pretraining. Recipes: `qlora` loads the base in 4-bit NF4 with double quantisation
(compute in bf16 on GPU, fp32 on CPU); `lora` trains the same adapters on an unquantised base.
"""

from __future__ import annotations

import json
import random
import resource
import time
from pathlib import Path

import torch

from ragft import prompts
from ragft.jsonl import write_jsonl


# -- data ---------------------------------------------------------------------------------------

def chunk_examples(chunks: list[dict]) -> list[dict]:
    """Continued pretraining: every corpus chunk as a completion with no prompt."""
    return [{"id": f"chunk:{c['id']}", "builder": "chunks", "prompt": "", "completion": c["text"] + "\n"} for c in chunks]


def qa_examples(questions: list[dict], templates: dict | None = None) -> list[dict]:
    """Closed-book QA SFT: the question prompt, then the first gold answer."""
    return [
        {
            "id": f"qa:{q['id']}",
            "builder": "qa",
            "prompt": prompts.build_prompt(q["question"], templates=templates),
            "completion": prompts.answer_text(q["answers"][0]),
        }
        for q in questions
    ]


def retrieval_examples(questions: list[dict], hits: list[list[tuple[str, float]]], chunk_text: dict[str, str],
                       templates: dict | None = None) -> list[dict]:
    """Retrieval-aware QA (RAFT-style): each train question with the chunks its retriever finds
    (gold or not, as at evaluation), then the answer; so `rag_ft` is trained the way it is used."""
    return [
        {
            "id": f"retrieval:{q['id']}",
            "builder": "retrieval",
            "prompt": prompts.build_prompt(q["question"], [chunk_text[c] for c, _ in h], templates=templates),
            "completion": prompts.answer_text(q["answers"][0]),
        }
        for q, h in zip(questions, hits)
    ]


BUILDERS = ("chunks", "qa", "retrieval")


def build_train_data(chunks: list[dict], questions: list[dict], builders: dict, seed: int, templates: dict | None = None,
                     hits: list[list[tuple[str, float]]] | None = None) -> list[dict]:
    """The training set from the enabled builders, each repeated `weight` times, seeded shuffle.
    `hits` (the retriever's chunks for each question) is needed by the `retrieval` builder."""
    unknown = set(builders) - set(BUILDERS)
    if unknown:
        raise ValueError(f"finetune.data: unknown builder(s) {sorted(unknown)}; expected {list(BUILDERS)}")
    made = {"chunks": lambda: chunk_examples(chunks), "qa": lambda: qa_examples(questions, templates),
            "retrieval": lambda: retrieval_examples(questions, hits, {c["id"]: c["text"] for c in chunks}, templates)}
    data = []
    for name, spec in builders.items():
        if spec.get("enabled", True):
            data += made[name]() * int(spec.get("weight", 1))
    random.Random(seed).shuffle(data)
    return data


def data_report(data: list[dict], tokenizer) -> dict:
    """Counts per builder and token statistics of a training set."""
    lengths = [len(tokenizer(e["prompt"] + e["completion"], add_special_tokens=False)["input_ids"]) for e in data]
    per_builder: dict[str, int] = {}
    for e in data:
        per_builder[e["builder"]] = per_builder.get(e["builder"], 0) + 1
    return {
        "examples": len(data),
        "per_builder": dict(sorted(per_builder.items())),
        "tokens": sum(lengths),
        "max_tokens": max(lengths, default=0),
        "mean_tokens": round(sum(lengths) / max(1, len(lengths)), 1),
    }


def pad_batch(encoded: list[tuple[list[int], int]], pad: int) -> dict:
    """Right-padded batch tensors from (token ids, loss start) pairs; labels are -100 before each
    example's loss start and on padding."""
    width = max(len(x) for x, _ in encoded)
    return {
        "input_ids": torch.tensor([x + [pad] * (width - len(x)) for x, _ in encoded]),
        "attention_mask": torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x, _ in encoded]),
        "labels": torch.tensor([[-100] * s + x[s:] + [-100] * (width - len(x)) for x, s in encoded]),
    }


class Collator:
    """Right-padded batches of (prompt, completion) examples; the loss falls on the completion."""

    def __init__(self, tokenizer, max_length: int):
        self.tok, self.max_length = tokenizer, max_length

    def encode(self, example: dict) -> tuple[list[int], int]:
        """Token ids (the end kept when too long) and where the completion starts."""
        p = self.tok(example["prompt"], add_special_tokens=False)["input_ids"] if example["prompt"] else []
        c = self.tok(example["completion"], add_special_tokens=False)["input_ids"] + [self.tok.eos_token_id]
        ids = (p + c)[-self.max_length :]
        return ids, len(ids) - min(len(c), len(ids))

    def __call__(self, examples: list[dict]) -> dict:
        return pad_batch([self.encode(e) for e in examples], self.tok.pad_token_id)


# -- model --------------------------------------------------------------------------------------

def load_for_training(base_path: str, recipe: dict, trust_remote_code: bool = False):
    """The base model for a recipe (4-bit for qlora) with fresh LoRA adapters on it."""
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

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
    model = AutoModelForCausalLM.from_pretrained(base_path, **kwargs)
    if recipe["quantization"] == "nf4":
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=recipe.get("gradient_checkpointing", False))
    lora = LoraConfig(
        r=recipe["r"],
        lora_alpha=recipe["alpha"],
        lora_dropout=recipe["dropout"],
        target_modules=recipe["target_modules"],
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, lora)


# -- training -----------------------------------------------------------------------------------

def peak_memory_mb() -> float:
    """Peak memory of this process: GPU allocations on CUDA, resident set size on CPU."""
    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def latest_checkpoint(checkpoint_dir: str | Path) -> str | None:
    """The newest complete checkpoint (Trainer writes `trainer_state.json` last) or None."""
    done = [p for p in Path(checkpoint_dir).glob("checkpoint-*") if (p / "trainer_state.json").is_file()]
    return str(max(done, key=lambda p: int(p.name.split("-")[1]))) if done else None


def run_fingerprint(base_path: str, data: list[dict], recipe: dict, seed: int) -> str:
    """What identifies a training run: base weights (name, size, mtime), data, recipe and seed.
    Checkpoints of another run are never resumed."""
    import hashlib

    h = hashlib.sha256(json.dumps([recipe, seed, base_path], sort_keys=True, default=str).encode())
    for f in sorted(Path(base_path).glob("*.safetensors")) if Path(base_path).is_dir() else []:
        st = f.stat()
        h.update(f"{f.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    for e in data:
        h.update(json.dumps(e, sort_keys=True).encode())
    return h.hexdigest()


def prepare_checkpoints(checkpoint_dir: str | Path, fingerprint: str, log=print) -> None:
    """Keep the checkpoints of this same run (to resume from); discard those of any other."""
    import shutil

    checkpoint_dir = Path(checkpoint_dir)
    stamp = checkpoint_dir / "run_fingerprint.txt"
    if checkpoint_dir.exists() and (not stamp.is_file() or stamp.read_text().strip() != fingerprint):
        log(f"{checkpoint_dir}: checkpoints of a different run (data, recipe or base model changed); starting afresh")
        shutil.rmtree(checkpoint_dir)
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    stamp.write_text(fingerprint + "\n")


def train(base_path: str, data: list[dict], recipe: dict, out_adapter: str | Path, out_log: str | Path,
          checkpoint_dir: str | Path, seed: int, log=print, trust_remote_code: bool = False) -> dict:
    """Train LoRA adapters on `data`; write the adapter (safetensors) and train_log.jsonl."""
    from transformers import Trainer, TrainerCallback, TrainingArguments, set_seed

    from ragft.models import load_tokenizer

    set_seed(seed)
    tokenizer = load_tokenizer(base_path, trust_remote_code)
    model = load_for_training(base_path, recipe, trust_remote_code)
    rows: list[dict] = []
    start = time.time()

    class LogRows(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                seen = state.num_input_tokens_seen
                rows.append({
                    "step": state.global_step,
                    "loss": round(float(logs["loss"]), 6),
                    "learning_rate": float(logs.get("learning_rate", 0.0)),
                    "tokens": int(seen),
                    "tokens_per_s": round(seen / max(1e-9, time.time() - start), 1),
                    "peak_memory_mb": round(peak_memory_mb(), 1),
                })

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
        bf16=torch.cuda.is_available(),
        use_cpu=not torch.cuda.is_available(),
        report_to=[],
        remove_unused_columns=False,
        include_num_input_tokens_seen=True,
        dataloader_num_workers=0,
        disable_tqdm=False,
    )
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=data,
        data_collator=Collator(tokenizer, recipe["max_length"]),
        callbacks=[LogRows()],
    )
    prepare_checkpoints(checkpoint_dir, run_fingerprint(base_path, data, recipe, seed), log)
    resume = latest_checkpoint(checkpoint_dir)
    if resume:
        log(f"resuming from {resume}")
    result = trainer.train(resume_from_checkpoint=resume)
    model.save_pretrained(str(out_adapter), safe_serialization=True)
    write_jsonl(out_log, rows, sort_key=None)
    return {
        "steps": result.global_step,
        "train_tokens": int(trainer.state.num_input_tokens_seen),
        "train_seconds": round(time.time() - start, 2),
        "peak_memory_mb": round(peak_memory_mb(), 1),
        "final_loss": rows[-1]["loss"] if rows else None,
        "resumed_from": resume,
    }
