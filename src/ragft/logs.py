"""Logging for workflow jobs: everything a job prints goes to its Snakemake log file."""

from __future__ import annotations

import logging
import sys


def setup(log_path: str, threads: int | None = None) -> logging.Logger:
    """Point logging, warnings, stdout and stderr (progress bars) at `log_path`; cap torch's threads."""
    stream = open(log_path, "w", buffering=1, encoding="utf-8")
    sys.stdout = sys.stderr = stream
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=stream, force=True
    )
    logging.captureWarnings(True)
    if threads:
        import torch

        torch.set_num_threads(threads)
    return logging.getLogger("ragft")
