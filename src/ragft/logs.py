"""Logging for workflow jobs: everything a job prints goes to its Snakemake log file, and a job
that fails says why in one line on the console too."""

from __future__ import annotations

import logging
import sys
import traceback


def setup(log_path: str, threads: int | None = None) -> logging.Logger:
    """Point logging, warnings, stdout and stderr (progress bars) at `log_path`; cap torch's threads;
    report an uncaught error as its traceback in the log and one line `ragft: error: ...` on the
    console (the job's own stderr: Snakemake's output locally, the SLURM log on a cluster)."""
    stream = open(log_path, "w", buffering=1, encoding="utf-8")
    sys.stdout = sys.stderr = stream
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=stream, force=True
    )
    logging.captureWarnings(True)
    sys.excepthook = _report(stream, log_path)
    if threads:
        import torch

        torch.set_num_threads(threads)
    return logging.getLogger("ragft")


def error_line(exc: BaseException) -> str:
    """One line for an error: its message (the first line of it), or its type when it has none."""
    lines = str(exc).strip().splitlines()
    return f"ragft: error: {lines[0] if lines else type(exc).__name__}"


def _report(stream, log_path: str):
    def hook(exc_type, exc, tb):
        line = error_line(exc)
        traceback.print_exception(exc_type, exc, tb, file=stream)
        print(line, file=stream, flush=True)
        if sys.__stderr__ is not None:
            print(f"{line} (details: {log_path})", file=sys.__stderr__, flush=True)

    return hook
