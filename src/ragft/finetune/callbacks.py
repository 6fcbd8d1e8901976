"""What the Trainer does at each step beyond training: log throughput and peak memory, mark
checkpoints complete, stop cleanly on a preemption signal.
"""

from __future__ import annotations

import re
import resource
import time
from pathlib import Path

import torch
from transformers import TrainerCallback

from ragft.finetune.checkpoints import mark_complete


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
