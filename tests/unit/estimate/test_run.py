"""The whole run's estimate: jobs sharing the cores, the demo's wall time and peak memory, the block printed."""

from pathlib import Path

import pytest
import yaml

from ragft.estimate import estimate, format_estimate, machine_gflops
from ragft.estimate.calibration import REF_GFLOPS
from ragft.estimate.jobs import Job
from ragft.estimate.run import wall_seconds

ROOT = Path(__file__).resolve().parents[3]


def job(rule, seconds, threads=1, corpus="c"):
    return Job(rule, corpus, "", seconds, threads, 100.0)


def test_jobs_share_the_cores_and_wait_for_their_inputs():
    two = [job("evaluate", 100), job("report", 100)]  # report waits for evaluate: a chain of 200 s
    assert wall_seconds(two, 2) == {"wall_s": 200, "work_s": 200, "chain_s": 200}
    side = [job("embed", 100), job("index_bm25", 100)]  # neither waits for the other
    assert wall_seconds(side, 2)["wall_s"] == 100 and wall_seconds(side, 1)["wall_s"] == 200
    # a 2-thread job on one core gets it all and takes twice as long; a build runs beside the corpus
    assert wall_seconds([job("finetune", 100, 2)], 1) == {"wall_s": 200, "work_s": 200, "chain_s": 200}
    assert wall_seconds([job("build_smollm2", 50, corpus=""), job("evaluate", 100)], 2)["chain_s"] == 150


@pytest.fixture
def demo(monkeypatch, tmp_path):
    """The demo config as the workflow sees it, with an empty embedding cache (a fresh clone)."""
    from snakemake.utils import validate

    monkeypatch.chdir(ROOT)
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config["embed"]["cache"] = str(tmp_path / "cache")
    validate(config, str(ROOT / "config" / "config.schema.yaml"))
    return config


def test_the_demo_on_the_calibration_machine(demo):
    est = estimate(demo, 2, REF_GFLOPS)
    # measured on a fresh clone (README, 94a7874): 11 min 3 s of workflow; peak max_rss 5,232 MB (finetune)
    assert round(est["wall_s"] / 60, 1) == 9.6
    assert est["peak_mb"] == pytest.approx(5508, abs=2) and est["peak_job"] == "finetune[qlora]"  # 2: built or not
    assert [j.rule for j in est["jobs"]].count("evaluate") == 5 and "embed_backend" in [j.rule for j in est["jobs"]]
    # half the speed (other work on the machine, or a slower CPU): twice the time
    assert estimate(demo, 2, REF_GFLOPS / 2)["wall_s"] == pytest.approx(2 * est["wall_s"])
    # only what Snakemake will run: after the fine-tune, the two fine-tuned systems' evaluations
    rest = estimate(demo, 2, REF_GFLOPS, planned={("evaluate", "demo", "ft"), ("evaluate", "demo", "rag_ft")})
    assert [j.name for j in rest["jobs"]] == ["ft", "rag_ft"] and round(rest["wall_s"]) == 106
    assert rest["peak_mb"] == pytest.approx(1420, abs=2)


def test_the_printed_block(demo):
    text = format_estimate(estimate(demo, 2, REF_GFLOPS / 2, best_gflops=REF_GFLOPS))
    lines = text.splitlines()
    assert lines[0] == "ragft estimate (this machine, 2 cores): ~19 min, peak memory ~5.4 GB (finetune[qlora])"
    assert lines[1].startswith("  documents   demo: 163 files: 1 jsonl (37.7 KB), 110 md (96.2 KB), 52 txt (42.8 KB);")
    assert lines[2] == "  questions   demo: ~942 gold, 80 for evaluation, 862 for training"
    assert lines[3] == ("  training    demo/qlora: 24 steps x 8 x 256 tokens = 49,152 at most (~17,464 padded) x 1 "
                        "replicate(s); 1 job to run")
    assert lines[4] == ("  evaluation  demo: 80 questions x 5 systems x 51-117 prompt tokens = 36,240 prompt tokens; "
                        "5 jobs to run")
    assert lines[5].startswith("  model       builtin:smollm2: 134.")
    assert lines[6].startswith("  time        evaluate 5 x 3 min, finetune 5 min, embed_backend 2 min,")
    assert "one core's matmul 62 GFLOP/s now, 125 at best" in lines[-1] and "scaled by 0.50" in lines[-1]


def test_the_machine_is_measured_in_a_fraction_of_a_second():
    import time

    start = time.perf_counter()
    now, best = machine_gflops(0.1)
    assert time.perf_counter() - start < 1.0
    assert 0 < now <= best * 1.05
