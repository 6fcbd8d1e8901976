"""(Q)LoRA training with transformers' Trainer, peft and bitsandbytes; `train` reads top to bottom:
load data, load the model, attach adapters, train, save.

Recipes: `quantization: nf4` (QLoRA) loads the base in 4-bit NF4 with double quantisation (compute
in bf16 on a GPU, fp32 on a CPU); `none` (LoRA) trains the same adapters on an unquantised base.
Either may start from an existing adapter (`init_adapter`). Training runs in transformers' Trainer
with two changes that make it faster than a plain script: batches of similar length padded to
their longest (or packed rows), and the output layer evaluated on the scored positions only. A
rerun resumes from the newest complete checkpoint with the same batch order and random state, so
it ends with the adapter an uninterrupted run gives; resuming from the last step's checkpoint
trains nothing more. The adapter folder appears only once it is fully written.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time
import warnings
from pathlib import Path

import torch
from transformers import Trainer, TrainerState, TrainingArguments, set_seed
from transformers.integrations import TensorBoardCallback

from ragft.config import recipe_defaults
from ragft.finetune.callbacks import (
    LogRows,
    MarkComplete,
    Preempted,
    StopOnSignal,
    peak_memory_mb,
)
from ragft.finetune.checkpoints import (
    latest_checkpoint,
    prepare_checkpoints,
    run_fingerprint,
    verify_checkpoint,
)
from ragft.finetune.collate import Collator, EpochSampler
from ragft.jsonl import atomic_directory, write_jsonl
from ragft.models.batches import pack, scored_loss
from ragft.models.load import load_base as load_model
from ragft.models.load import load_tokenizer, resolve_dtype, write_base_file
from ragft.models.specs import require_safetensors


def train(base_path: str, data: list[dict], recipe: dict, out_adapter: str | Path, out_log: str | Path,
          checkpoint_dir: str | Path, seed: int, log=print, trust_remote_code: bool = False,
          tensorboard_dir: str | Path | None = None, callbacks: list | tuple = ()) -> dict:
    """Train LoRA adapters on `data`; write the adapter (safetensors), train_log.jsonl, and
    TensorBoard events into `tensorboard_dir`; return the run's summary. Resumes from the newest
    complete checkpoint of the same run; on SIGTERM or SIGUSR1 saves a checkpoint and raises Preempted."""
    # the Trainer's non-padding token count re-wraps a tensor every step; harmless, but it floods the log
    warnings.filterwarnings("ignore", message="To copy construct from a tensor", category=UserWarning)
    set_seed(seed)
    recipe = {**recipe_defaults(), **recipe}

    # 1) load data: each example tokenized once, the loss on its completion (packed rows if asked)
    tokenizer = load_tokenizer(base_path, trust_remote_code)
    collator = Collator(tokenizer, recipe["max_length"])
    dataset = encode_dataset(collator, data, recipe, log)

    # 2) load the base model (4-bit NF4 for QLoRA), 3) attach adapters (fresh, or init_adapter's)
    model = attach_adapters(load_base(base_path, recipe, trust_remote_code), recipe, log)

    # 4) train, from the newest complete checkpoint of this same run when there is one
    resume = resume_point(checkpoint_dir, run_fingerprint(base_path, data, recipe, seed), log)
    if tensorboard_dir and not resume:
        shutil.rmtree(tensorboard_dir, ignore_errors=True)  # a fresh run gets a fresh curve
    trainer, stop = make_trainer(model, dataset, collator, recipe, seed, checkpoint_dir, tensorboard_dir, callbacks)
    start_tokens = tokens_seen(resume)  # read now: the Trainer rotates old checkpoints away
    seconds = run_training(trainer, stop, resume, log)

    # 5) save the adapter and the training log
    save_adapter(model, out_adapter, recipe)
    rows = train_log_rows(trainer.state.log_history)
    write_jsonl(out_log, rows, sort_key=None)
    return run_summary(trainer.state, rows, seconds, resume, start_tokens)


def encode_dataset(collator: Collator, data: list[dict], recipe: dict, log=print) -> list[dict]:
    """The training rows: each example's token ids and loss start, or packed rows of several."""
    encoded = collator.encode_all(data, log)
    if not recipe["packing"]:
        return [{"input_ids": ids, "loss_start": s} for ids, s in encoded]
    rows = pack(encoded, recipe["max_length"])
    log(f"packed {len(encoded)} examples into {len(rows)} rows of at most {recipe['max_length']} tokens")
    return rows


def load_base(base_path: str, recipe: dict, trust_remote_code: bool = False):
    """The base causal LM of a recipe (`ragft.models.load.load_base`: 4-bit NF4 with double
    quantisation for `nf4`, unquantised for `none`, in the recipe's dtype), frozen and ready for
    k-bit training (gradient checkpointing when the recipe asks)."""
    from peft import prepare_model_for_kbit_training

    model = load_model(base_path, recipe["quantization"], recipe["dtype"], trust_remote_code, training=True)
    if recipe["quantization"] == "nf4":
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=recipe["gradient_checkpointing"],
                                                gradient_checkpointing_kwargs={"use_reentrant": False})
    return model


def attach_adapters(model, recipe: dict, log=None):
    """LoRA adapters on the base model: fresh ones of the recipe's rank and target modules, or
    `init_adapter`'s, trainable, with that adapter's own rank and target modules."""
    from peft import LoraConfig, PeftModel, get_peft_model

    start = recipe.get("init_adapter")
    if start:
        if not (Path(start) / "adapter_config.json").is_file():
            raise FileNotFoundError(f"{start}: init_adapter is not an adapter directory (no adapter_config.json)")
        require_safetensors(start)
        if log:
            log(f"starting from adapter {start} (its own rank and target modules)")
        return PeftModel.from_pretrained(model, start, is_trainable=True)
    lora = LoraConfig(r=recipe["r"], lora_alpha=recipe["alpha"], lora_dropout=recipe["dropout"],
                      target_modules=recipe["target_modules"], task_type="CAUSAL_LM")
    return get_peft_model(model, lora)


def load_for_training(base_path: str, recipe: dict, trust_remote_code: bool = False):
    """The base model of a recipe with its LoRA adapters attached (steps 2 and 3 of `train`)."""
    recipe = {**recipe_defaults(), **recipe}
    return attach_adapters(load_base(base_path, recipe, trust_remote_code), recipe)


def resume_point(checkpoint_dir: str | Path, fingerprint: str, log=print) -> str | None:
    """The newest complete, verified checkpoint of this same run to resume from, or None; other
    runs' and half-written checkpoints are discarded first."""
    prepare_checkpoints(checkpoint_dir, fingerprint, log)
    resume = latest_checkpoint(checkpoint_dir)
    if resume is None:
        return None
    verify_checkpoint(resume)
    if os.environ.get("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "").lower() in ("1", "y", "yes", "true"):
        raise RuntimeError(f"{resume}: not resumed while TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD is set, which would "
                           "unpickle its optimizer and random states with arbitrary code; unset it")
    log(f"resuming from {resume}")
    return resume


class CompletionTrainer(Trainer):
    """The Trainer with the scored-positions loss and a resumable, length-grouped order."""

    def __init__(self, *args, order_seed: int, length_grouped: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.order_seed, self.length_grouped = order_seed, length_grouped

    def _get_train_sampler(self, train_dataset=None):
        lengths = [len(e["input_ids"]) for e in (train_dataset or self.train_dataset)]
        return EpochSampler(lengths, self.args.per_device_train_batch_size, self.order_seed, self.length_grouped)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        """The scored loss over the accumulated step's scored tokens (`num_items_in_batch`, so the Trainer
        does not divide by the accumulation steps again); with several devices that count spans them
        all and their gradients are averaged, so it is multiplied by their number, as `Trainer.compute_loss` does."""
        loss = scored_loss(model, inputs, num_items_in_batch)
        if self.args.average_tokens_across_devices and num_items_in_batch is not None:
            loss = loss * (self.accelerator.num_processes if self.args.n_gpu <= 1 else self.args.n_gpu)
        return (loss, None) if return_outputs else loss


def training_args(recipe: dict, seed: int, checkpoint_dir: str | Path, tensorboard_dir: str | Path | None) -> TrainingArguments:
    """The Trainer's arguments for a recipe: mixed precision in the recipe's dtype on CUDA (`auto`:
    bf16 where the GPU supports it, else fp16), fp32 on a CPU; checkpoints every `save_every` steps
    (the last two kept); TensorBoard events when a folder is given."""
    cuda = torch.cuda.is_available()
    dtype = resolve_dtype(recipe["dtype"], cuda)
    if not cuda and dtype != torch.float32:
        raise ValueError(f"finetune recipe dtype {recipe['dtype']}: a CPU trains in float32 (set dtype: auto)")
    return TrainingArguments(
        output_dir=str(checkpoint_dir),
        per_device_train_batch_size=recipe["batch_size"],
        gradient_accumulation_steps=recipe["grad_accum"],
        num_train_epochs=recipe["epochs"],
        max_steps=recipe["max_steps"] or -1,
        learning_rate=recipe["lr"],
        lr_scheduler_type=recipe["scheduler"],
        warmup_ratio=recipe["warmup_ratio"],
        weight_decay=0.0,
        logging_steps=recipe["log_every"],
        save_steps=recipe["save_every"],
        save_total_limit=2,
        seed=seed,
        data_seed=seed,
        bf16=cuda and dtype == torch.bfloat16,
        fp16=cuda and dtype == torch.float16,
        use_cpu=not cuda,
        gradient_checkpointing=recipe["gradient_checkpointing"],
        gradient_checkpointing_kwargs={"use_reentrant": False},
        report_to=["tensorboard"] if tensorboard_dir else [],
        logging_dir=str(tensorboard_dir) if tensorboard_dir else None,
        remove_unused_columns=False,
        include_num_input_tokens_seen="non_padding",
        dataloader_num_workers=0,
        disable_tqdm=False,
    )


def make_trainer(model, dataset: list[dict], collator: Collator, recipe: dict, seed: int, checkpoint_dir: str | Path,
                 tensorboard_dir: str | Path | None, callbacks=()) -> tuple[CompletionTrainer, StopOnSignal]:
    """The Trainer with ragft's callbacks (throughput and memory rows, complete-checkpoint markers,
    a clean stop on a preemption signal), and that stop callback."""
    stop = StopOnSignal()
    trainer = CompletionTrainer(model=model, args=training_args(recipe, seed, checkpoint_dir, tensorboard_dir),
                                train_dataset=dataset, data_collator=collator,
                                callbacks=[LogRows(), MarkComplete(), stop, *callbacks], order_seed=seed,
                                length_grouped=recipe["group_by_length"] and not recipe["packing"])
    trainer.model_accepts_loss_kwargs = True  # scored_loss divides by the step's scored tokens itself
    board = trainer.pop_callback(TensorBoardCallback)
    if board is not None:
        trainer.add_callback(board)  # after LogRows, so it sees tokens/s and peak memory
    return trainer, stop


def run_training(trainer: CompletionTrainer, stop: StopOnSignal, resume: str | None, log=print) -> float:
    """Train (from `resume`), catching SIGTERM/SIGUSR1 meanwhile; the seconds it took. A checkpoint
    of the last step is restored, not trained on: the Trainer would take one more step after it."""
    def on_signal(signum, frame):
        stop.received = signum

    main = threading.current_thread() is threading.main_thread()
    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGUSR1)} if main else {}
    start = time.time()
    try:
        if resume and is_final(resume):
            log(f"{resume} is the last step's checkpoint: nothing left to train, its adapter is the result")
            restore_final(trainer, resume)
        else:
            trainer.train(resume_from_checkpoint=resume)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if stop.received is not None:
        step, name = trainer.state.global_step, signal.Signals(stop.received).name
        log(f"stopped by signal {name} at step {step}; checkpoint-{step} saved, a rerun resumes")
        raise Preempted(f"stopped by signal {name} at step {step}; rerun to resume")
    return time.time() - start


def is_final(checkpoint: str | Path) -> bool:
    """Whether a checkpoint was written at the run's last step."""
    state = json.loads((Path(checkpoint) / "trainer_state.json").read_text())
    return 0 < state.get("max_steps", 0) <= state.get("global_step", 0)


def restore_final(trainer: CompletionTrainer, checkpoint: str | Path) -> None:
    """The trained adapter weights and the Trainer's state (log history, tokens seen) of a checkpoint."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    set_peft_model_state_dict(trainer.model, load_file(Path(checkpoint) / "adapter_model.safetensors"))
    trainer.state = TrainerState.load_from_json(str(Path(checkpoint) / "trainer_state.json"))


def save_adapter(model, out_adapter: str | Path, recipe: dict | None = None) -> None:
    """The adapter as safetensors with how its base was loaded (`ragft_base.json`, so evaluation
    loads the same base), its folder appearing whole; `all-linear` target modules saved sorted,
    not in an order that varies from run to run."""
    recipe = {**recipe_defaults(), **(recipe or {})}
    for config in getattr(model, "peft_config", {}).values():
        if isinstance(config.target_modules, set):
            config.target_modules = sorted(config.target_modules)
    with atomic_directory(out_adapter) as tmp:
        model.save_pretrained(str(tmp), safe_serialization=True)
        write_base_file(tmp, recipe["quantization"], recipe["dtype"])


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


def tokens_seen(checkpoint: str | Path | None) -> int:
    """Training tokens seen up to a checkpoint (0 without one)."""
    if checkpoint is None:
        return 0
    return int(json.loads((Path(checkpoint) / "trainer_state.json").read_text()).get("num_input_tokens_seen", 0))


def run_summary(state: TrainerState, rows: list[dict], seconds: float, resume: str | None, start_tokens: int) -> dict:
    """train_summary.json: steps, tokens, time, throughput of this run's own steps (from
    `start_tokens`), peak memory, final loss, device, and the checkpoint it resumed from."""
    tokens = int(state.num_input_tokens_seen)
    return {
        "steps": state.global_step,
        "train_tokens": tokens,
        "train_seconds": round(seconds, 2),
        "tokens_per_s": round((tokens - start_tokens) / max(1e-9, seconds), 1),
        "peak_memory_mb": round(peak_memory_mb(), 1),
        "final_loss": rows[-1]["loss"] if rows else None,
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "resumed_from": resume,
    }
