"""Library notices that read like errors are silenced once ragft is imported (README: Messages you can ignore)."""

import subprocess
import sys

IMPORTS = "import logging; logging.basicConfig(level=logging.INFO); {first}import bitsandbytes, faiss"


def stderr_of(first: str) -> str:
    code = IMPORTS.format(first=first)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stderr


def test_bitsandbytes_and_faiss_notices_are_quiet_after_import_ragft():
    loud = stderr_of("")  # what a job's log held before: faiss tries each SIMD build it lacks
    assert "Loading faiss" in loud
    quiet = stderr_of("import ragft; ")
    assert "faiss" not in quiet and "gemm_4bit_forward" not in quiet and "kernels" not in quiet, quiet
