"""Logging for workflow jobs: everything a job prints goes to its Snakemake log file, and a job
that fails says why in one line on the console too."""

from __future__ import annotations

import logging
import sys
import traceback

# Library notices that read like errors but change nothing, silenced through the libraries' own
# loggers (README: Messages you can ignore): bitsandbytes on a CPU with AVX512-BF16 warns that the
# optional `kernels` package (which fetches a faster 4-bit matmul from the Hugging Face hub) is
# missing, and falls back to its own CPU code; faiss logs each SIMD build it tries (AVX512, AVX2)
# before the one its wheel has. Real errors of either still show.
QUIET_LOGGERS = {"bitsandbytes.backends.cpu.ops": logging.ERROR, "faiss.loader": logging.WARNING}


def quiet_library_notices() -> None:
    """Raise the level of the loggers in QUIET_LOGGERS (before the libraries are imported: they
    log while importing)."""
    for name, level in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(level)


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
