"""SIGKILL in the middle of embedding and of fine-tuning, then a rerun: no partial output is taken
for a result, work already done is not lost (cached vectors, checkpoints), and the final results
equal those of a run that was never interrupted.

Embedding: `second_run` (tests/conftest.py) is a clean run of the tiny config killed at a seeded
random moment while it embeds; tests/workflow/test_reproducibility.py compares all its results
with the session's uninterrupted run byte for byte. Fine-tuning: a copy of the session's run trains
its adapter again and is killed as soon as its first checkpoint is complete, or its last one.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import time

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from workdirs import ROOT, command, copy_run, job_names, planned_jobs, snakemake

pytestmark = pytest.mark.workflow

FT = "results/demo/finetune/qlora"


def test_a_killed_embedding_job_leaves_no_output_and_its_rerun_resumes(second_run):
    work, seen = second_run
    # killed after at least one cache pack, before the shard file was written (it is written whole or not at all)
    done = [int(n) for n in re.findall(r"embedded (\d+) of \d+ texts", seen["embed_log"])]
    assert done and not seen["shard_existed"]
    # the rerun does not take the killed job's leftovers: the embedding job is planned again
    assert "embed[1,1]" in job_names(seen["planned"])
    # and reads back what the killed job had cached instead of embedding it again
    cached = int(re.search(r"from the cache (\d+)", seen["embed_log_after"]).group(1))
    assert cached >= max(done)
    # every cache pack is whole: each keys file has its vectors, and both load
    for keys in (work / "cache/embeddings").glob("*/*.keys.npy"):
        vecs = np.load(keys.with_name(keys.name.replace(".keys.", ".vecs.")))
        assert len(np.load(keys)) == len(vecs)


@pytest.mark.parametrize("checkpoint", [6, 12], ids=["after_the_first_checkpoint", "after_the_last_checkpoint"])
def test_a_killed_training_job_resumes_from_its_checkpoint_to_the_same_adapter(tiny_run, tmp_path, checkpoint):
    """Killed as soon as checkpoint-6 (of 12 steps) is complete, or as soon as the last one is,
    before the job's outputs are written: the rerun resumes from it and ends with the adapter, the
    steps and the log of the uninterrupted run (from the last checkpoint it trains nothing more)."""
    work = copy_run(tiny_run, tmp_path / "work")
    shutil.rmtree(work / FT / "checkpoints")  # train again from the start
    target = f"{FT}/train_summary.json"
    marker = work / FT / f"checkpoints/checkpoint-{checkpoint}/COMPLETE"
    with open(tmp_path / "killed.out", "w") as out:
        proc = subprocess.Popen(command(work, target, "--forcerun", "finetune", "--allowed-rules", "finetune"),
                                stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
        deadline = time.time() + 900
        while not marker.is_file():  # the marker is written last, once the checkpoint is whole
            assert proc.poll() is None, (tmp_path / "killed.out").read_text()[-3000:]
            assert time.time() < deadline
            time.sleep(0.005)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not (work / FT / "train_summary.json").exists(), "the job wrote its outputs before it could be killed"
    # the killed job's outputs are not taken for results: the rerun plans the training again
    assert job_names(planned_jobs(work, target, "--allowed-rules", "finetune")) == ["finetune[qlora]"]
    assert snakemake(work, "--unlock").returncode == 0
    proc = snakemake(work, target, "--allowed-rules", "finetune")
    assert proc.returncode == 0, proc.stderr[-3000:]

    log = (work / "logs/demo/finetune/qlora/train.log").read_text()
    resumed = re.search(r"resuming from (\S+checkpoint-(\d+))", log)
    assert resumed and int(resumed.group(2)) == checkpoint
    assert ("nothing left to train" in log) == (checkpoint == 12)
    summary = json.loads((work / FT / "train_summary.json").read_text())
    assert summary["steps"] == 12 and summary["resumed_from"] == resumed.group(1)
    ours, ref = (load_file(d / FT / "adapter/adapter_model.safetensors") for d in (work, tiny_run))
    assert set(ours) == set(ref) and all(torch.allclose(ours[k], ref[k], atol=1e-6, rtol=1e-5) for k in ref)
    rows, ref_rows = ([json.loads(x) for x in (d / FT / "train_log.jsonl").read_text().splitlines()] for d in (work, tiny_run))
    assert [r["step"] for r in rows] == [r["step"] for r in ref_rows] == [2, 4, 6, 8, 10, 12]
    assert all(abs(r["loss"] - q["loss"]) < 1e-4 for r, q in zip(rows, ref_rows))
