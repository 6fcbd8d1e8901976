"""Faults the user can make: each stops the run with one clear line naming the path, and leaves
nothing half-written behind."""

import ctypes
import os
import subprocess

import pytest
from workdirs import ROOT, command, copy_run, make_workdir, snakemake, tiny_config

pytestmark = pytest.mark.workflow

PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2


def ragft_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("ragft:")]


def without_permission_override():
    """For a child of root: drop the capabilities that let root write where permissions say no
    (from the bounding set, so the program it runs has them neither), as if it were any user."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def test_an_unwritable_results_directory(tmp_path):
    work = make_workdir(tmp_path / "work")
    (work / "results").mkdir()
    (work / "results").chmod(0o555)
    try:
        proc = subprocess.run(command(work), capture_output=True, text=True, cwd=ROOT, timeout=600,
                              preexec_fn=without_permission_override if os.geteuid() == 0 else None)
    finally:
        (work / "results").chmod(0o755)
    assert proc.returncode != 0
    assert ragft_lines(proc.stderr) == [
        f"ragft: results: cannot write outputs here, {work / 'results'} is not writable; fix its permissions "
        "or run in another working directory (snakemake --directory DIR)"]
    assert list((work / "results").iterdir()) == [] and not (work / "logs").exists()


def test_a_missing_model_directory(tmp_path):
    config = tiny_config()
    config["model"]["base"] = str(tmp_path / "models" / "llama-3.2-1b")
    work = make_workdir(tmp_path / "work", config)
    proc = snakemake(work)
    assert proc.returncode != 0
    assert ragft_lines(proc.stderr) == [
        f"ragft: config key 'model.base': '{tmp_path / 'models' / 'llama-3.2-1b'}' is not a directory "
        "(expected a model folder, a hub id such as org/name, or builtin:...)"]
    assert not (work / "results").exists() and not (work / "logs").exists()


def test_a_corrupt_checkpoint(tiny_run, tmp_path):
    work = copy_run(tiny_run, tmp_path / "work")
    ft = work / "results/demo/finetune/qlora"
    optimizer = ft / "checkpoints/checkpoint-12/optimizer.pt"
    data = bytearray(optimizer.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte, as a failing disk might leave it
    optimizer.write_bytes(bytes(data))
    proc = snakemake(work, str(ft.relative_to(work) / "train_summary.json"), "--forcerun", "finetune",
                     "--allowed-rules", "finetune")
    assert proc.returncode != 0
    lines = ragft_lines(proc.stderr)
    assert lines == [f"ragft: error: results/demo/finetune/qlora/checkpoints/checkpoint-12: corrupt checkpoint, "
                     "optimizer.pt does not match its recorded sha256; delete this folder to resume from an earlier "
                     "checkpoint (or the whole checkpoints folder to start afresh) "
                     "(details: logs/demo/finetune/qlora/train.log)"], proc.stderr[-3000:]
    # nothing of the failed job is left to be taken for a result
    assert sorted(p.name for p in ft.iterdir()) == ["checkpoints", "data_report.json", "tensorboard", "train.jsonl"]


def test_a_config_error_names_the_key_before_any_job(tmp_path):
    config = tiny_config()
    config["corpora"] = {"../outside": config["corpora"]["demo"]}
    work = make_workdir(tmp_path / "work", config)
    proc = snakemake(work)
    assert proc.returncode != 0
    assert ragft_lines(proc.stderr) == ["ragft: config key 'corpora': '../outside' does not match '^[A-Za-z0-9_-]+$'"]
    assert not (work / "results").exists() and not (tmp_path / "outside").exists()
