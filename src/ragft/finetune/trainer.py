"""(Q)LoRA training with transformers' Trainer, peft and bitsandbytes.
"""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import threading
import time
import warnings
from pathlib import Path

import torch

from ragft.finetune.checkpoints import (
    latest_checkpoint,
    mark_complete,
    prepare_checkpoints,
    run_fingerprint,
    verify_checkpoint,
)
from ragft.finetune.collate import Collator, EpochSampler
from ragft.jsonl import atomic_directory, write_jsonl
from ragft.models.batches import pack, scored_loss


def load_for_training(base_path: str, recipe: dict, trust_remote_code: bool = False):
    """The base model for a recipe (4-bit for qlora) with LoRA adapters on it: fresh ones, or
    `init_adapter`'s (trainable, with that adapter's own rank and target modules)."""
    from peft import (
        LoraConfig,
        PeftModel,
        get_peft_model,
        prepare_model_for_kbit_training,
    )
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    from ragft.models.specs import require_safetensors

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

    from ragft.models.load import load_tokenizer

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
