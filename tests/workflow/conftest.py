"""The workflow tests share one end-to-end run of the tiny config (it takes minutes), session-wide."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")


def snakemake(workdir: Path, *args: str, configfile: Path | None = None) -> subprocess.CompletedProcess:
    """Run the workflow in `workdir` on its config.yaml (targets and flags go before --configfile)."""
    cmd = [str(SNAKEMAKE), "-s", str(ROOT / "Snakefile"), "--directory", str(workdir), "--cores", "2", *args,
           "--configfile", str(configfile or workdir / "config.yaml")]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900)


def tiny_config() -> dict:
    """tests/workflow/tiny.yaml with its corpus paths made absolute."""
    config = yaml.safe_load((ROOT / "tests" / "workflow" / "tiny.yaml").read_text())
    for corpus in config["corpora"].values():
        corpus["source"] = str(ROOT / corpus["source"])
        corpus["qa"] = str(ROOT / corpus["qa"])
    return config


@pytest.fixture(scope="session")
def run(tiny_run):
    """A working directory in which the whole workflow has run on the tiny config: the session's one
    run (tests/conftest.py), which the rerun, fault and SLURM tests share too."""
    return tiny_run
