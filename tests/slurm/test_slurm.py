"""The workflow on a real (one-node, localhost) SLURM cluster, with the README's command.

A copy of the session's local tiny run loses its embeddings, dense index and adapter (and the
embedding cache and checkpoints), and the README's cluster command remakes them with two embedding
shards: embed 1-of-2 and 2-of-2 and finetune side by side, then index_dense, four SLURM jobs (few, as
SLURM's status polling costs tens of seconds a job; the local tests cover the other stages). The
fine-tuning job, a GPU stage (the test node has a stand-in GPU), is requeued with `scontrol requeue`
once its first checkpoint is complete, and must resume from a checkpoint. Every job must have run
as a SLURM job, and the results must equal the local run's: the dense index byte for byte (two
shards embed exactly what one does), the adapter to float32 rounding (resuming restores the
optimiser exactly, not the order of every floating-point sum).
"""

import json
import re
import shlex
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from workdirs import ROOT, command, copy_run, read_config, write_config

pytestmark = pytest.mark.slurm

REMADE = ["results/demo/embed", "results/demo/index/dense", "cache/embeddings",
          "results/demo/finetune/qlora/adapter", "results/demo/finetune/qlora/train_log.jsonl",
          "results/demo/finetune/qlora/train_summary.json", "results/demo/finetune/qlora/loss_curve.png",
          "results/demo/finetune/qlora/checkpoints", "results/demo/finetune/qlora/tensorboard"]
RULES = ["embed", "index_dense", "finetune"]
TARGETS = ["results/demo/index/dense", "results/demo/finetune/qlora/train_summary.json"]


def readme_commands() -> tuple[list[str], list[str]]:
    """The cluster command of the README's "Running on a cluster" section, and the flags it names
    for a cluster without accounting."""
    section = ROOT.joinpath("README.md").read_text().split("## Running on a cluster", 1)[1].split("\n## ", 1)[0]
    line = next(x.strip() for x in section.splitlines() if x.strip().startswith("snakemake --workflow-profile"))
    no_accounting = re.search(r"`(--slurm-status-command squeue --slurm-no-account)`", section).group(1)
    return shlex.split(line), shlex.split(no_accounting)


def slurm_command(workdir: Path, partition: str) -> list[str]:
    """The README's command for this cluster: its partition, no account (it has no accounting, so
    the README's no-accounting flags), the profile by absolute path; plus quick status polling and
    kept SLURM logs for the test, and the jobs and targets of this test."""
    readme, no_accounting = readme_commands()
    args = [a.replace("PARTITION", partition) for a in readme[1:] if not a.startswith("slurm_account=")]
    args[args.index("profiles/slurm")] = str(ROOT / "profiles" / "slurm")
    return command(workdir, *args, *no_accounting, "--slurm-init-seconds-before-status-checks", "1",
                   "--slurm-keep-successful-logs", *TARGETS, "--allowed-rules", *RULES, cores=None)


@pytest.fixture(scope="module")
def slurm_run(tiny_run, slurm_cluster, tmp_path_factory):
    """The copy of the tiny run remade on the cluster, with the fine-tuning job requeued once."""
    work = copy_run(tiny_run, tmp_path_factory.mktemp("slurm_run") / "work")
    for rel in REMADE:
        path = work / rel
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    config = read_config(work)
    config.setdefault("embed", {})["shards"] = 2
    write_config(work, config)

    out = open(work.parent / "snakemake.out", "w")
    start = time.time()
    proc = subprocess.Popen(slurm_command(work, slurm_cluster.partition), stdout=out, stderr=subprocess.STDOUT,
                            cwd=ROOT, env=slurm_cluster.env, text=True)
    requeued, first_checkpoint = None, work / "results/demo/finetune/qlora/checkpoints/checkpoint-6/COMPLETE"
    try:
        while proc.poll() is None and time.time() - start < 900:
            if requeued is None and first_checkpoint.is_file():
                job = next(j for j in slurm_cluster.jobs() if j["comment"].startswith("rule_finetune"))
                assert slurm_cluster.run("scontrol", "requeue", job["id"]).returncode == 0, "scontrol requeue failed"
                requeued = job["id"]
            if requeued is not None:
                info = slurm_cluster.job_info(requeued)
                if info.get("JobState") == "PENDING" and info.get("Reason") == "BeginTime":
                    # a requeued job waits ~2 minutes before it may start again; let it start now
                    slurm_cluster.run("scontrol", "update", f"jobid={requeued}", "StartTime=now")
            time.sleep(0.1)
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(60)
        out.close()
    log = (work.parent / "snakemake.out").read_text()
    assert proc.returncode == 0, log[-6000:]
    return {"work": work, "log": log, "requeued": requeued, "seconds": time.time() - start}


def test_every_job_ran_as_a_slurm_job(slurm_run, slurm_cluster):
    submitted = re.findall(r"Job \d+ has been submitted with SLURM jobid (\d+) \(log: (\S+)\)", slurm_run["log"])
    rules = sorted(re.search(r"/rule_(\w+?)/", path).group(1) for _, path in submitted)
    assert rules == ["embed", "embed", "finetune", "index_dense"]
    states = {j["id"]: j["state"] for j in slurm_cluster.jobs()}
    assert all(states[job_id] == "COMPLETED" for job_id, _ in submitted)
    assert "rule_embed/demo_1_2/" in slurm_run["log"] and "rule_embed/demo_2_2/" in slurm_run["log"]
    for _, path in submitted:  # each job's SLURM log shows the rule running on the node
        assert "Finished jobid" in Path(path).read_text()


def test_a_requeued_training_job_resumes_from_its_checkpoint(slurm_run, slurm_cluster):
    assert slurm_run["requeued"] is not None, "fine-tuning ended before its first checkpoint could be requeued"
    assert slurm_cluster.job_info(slurm_run["requeued"])["Restarts"] == "1"
    train_log = (slurm_run["work"] / "logs/demo/finetune/qlora/train.log").read_text()
    resumed = re.search(r"resuming from (\S+/checkpoint-(\d+))", train_log)
    assert resumed and int(resumed.group(2)) >= 6, train_log[-3000:]
    summary = json.loads((slurm_run["work"] / "results/demo/finetune/qlora/train_summary.json").read_text())
    assert summary["steps"] == 12 and summary["resumed_from"] == resumed.group(1)


def test_results_equal_a_local_run(slurm_run, tiny_run):
    work = slurm_run["work"]
    for rel in ["index/dense/index.faiss", "index/dense/ids.json"]:
        assert (work / "results/demo" / rel).read_bytes() == (tiny_run / "results/demo" / rel).read_bytes(), rel
    meta = json.loads((work / "results/demo/index/dense/meta.json").read_text())
    assert meta["embedding"]["embedded"] == meta["embedding"]["texts"] - meta["embedding"]["repeated"]  # a cold cache
    ours = load_file(work / "results/demo/finetune/qlora/adapter/adapter_model.safetensors")
    local = load_file(tiny_run / "results/demo/finetune/qlora/adapter/adapter_model.safetensors")
    assert set(ours) == set(local) and all(torch.allclose(ours[k], local[k], atol=1e-6, rtol=1e-5) for k in local)
    rows = [json.loads(x) for x in (work / "results/demo/finetune/qlora/train_log.jsonl").read_text().splitlines()]
    ref = [json.loads(x) for x in (tiny_run / "results/demo/finetune/qlora/train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [r["step"] for r in ref] == [2, 4, 6, 8, 10, 12]
    # SIGTERM saves a checkpoint at the step it arrives, say 7: the resumed run's row of step 8 then
    # averages step 8 alone where the local run's averages steps 7 and 8; every other row is the same
    summary = json.loads((work / "results/demo/finetune/qlora/train_summary.json").read_text())
    at = int(summary["resumed_from"].rsplit("-", 1)[1])
    assert all(abs(r["loss"] - q["loss"]) < 1e-4 for r, q in zip(rows, ref) if not r["step"] - 2 < at < r["step"])
