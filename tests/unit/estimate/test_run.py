"""The whole run's estimate: jobs sharing the cores, the demo's wall time and peak memory, the block printed."""

from pathlib import Path

import pytest
import yaml

from ragft.estimate import Machine, estimate, format_estimate, measure_machine
from ragft.estimate.calibration import REF_GFLOPS
from ragft.estimate.jobs import Job
from ragft.estimate.run import wall_seconds

QUIET = Machine(REF_GFLOPS, REF_GFLOPS, 0.0)  # the calibration machine with nothing else running

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
    """The demo config as the workflow sees it, with an empty embedding cache (a fresh clone), at the
    max_new_tokens (20) of the demo runs the estimate was measured against."""
    from snakemake.utils import validate

    monkeypatch.chdir(ROOT)
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config["embed"]["cache"] = str(tmp_path / "cache")
    config["model"]["max_new_tokens"] = 20
    validate(config, str(ROOT / "config" / "config.schema.yaml"))
    return config


def test_the_demo_on_the_calibration_machine(demo):
    est = estimate(demo, 2, QUIET)
    # measured with other work on the machine: 25.8 and 16.9 min (estimated 22 and 24 for their loads,
    # test_the_load_of_other_work); peak max_rss 5,167-5,260 MB (finetune)
    assert round(est["wall_s"] / 60, 1) == 8.4
    assert est["peak_mb"] == pytest.approx(5638, abs=2) and est["peak_job"] == "finetune[qlora]"  # 2: built or not
    assert [j.rule for j in est["jobs"]].count("evaluate") == 5 and "embed_backend" in [j.rule for j in est["jobs"]]
    # half the speed (a slower CPU, or other work on the machine): twice the time
    for slower in (Machine(REF_GFLOPS / 2, REF_GFLOPS / 2, 0.0), Machine(REF_GFLOPS / 2, REF_GFLOPS, 0.0),
                   Machine(REF_GFLOPS, REF_GFLOPS, 1.0)):
        assert estimate(demo, 2, slower)["wall_s"] == pytest.approx(2 * est["wall_s"])
    # only what Snakemake will run: after the fine-tune, the two fine-tuned systems' evaluations
    rest = estimate(demo, 2, QUIET, planned={("evaluate", "demo", "ft"), ("evaluate", "demo", "rag_ft")})
    assert [j.name for j in rest["jobs"]] == ["ft", "rag_ft"] and round(rest["wall_s"]) == 61
    assert rest["peak_mb"] == pytest.approx(1783, abs=2)  # measured 1,901-1,929 MB (rag_ft)


def test_the_load_of_other_work(demo):
    # the demo's two runs here: at the start of one the probe got 105 GFLOP/s of 116 and the load was
    # 1.7 per CPU (it took 16.9 min); at the other's, the load was 1.5 (25.8 min)
    assert round(estimate(demo, 2, Machine(105, 116, 1.675))["wall_s"] / 60) == 24
    assert round(estimate(demo, 2, Machine(120, 120, 1.545))["wall_s"] / 60) == 22


def test_the_printed_block(demo):
    text = format_estimate(estimate(demo, 2, Machine(100, 120, 1.5)))  # this run gets 40% of a CPU 0.96 x as fast
    lines = text.splitlines()
    assert lines[0] == "ragft estimate (this machine, 2 cores): ~22 min, peak memory ~5.5 GB (finetune[qlora])"
    assert lines[1].startswith("  documents   demo: 163 files: 1 jsonl (37.7 KB), 110 md (96.2 KB), 52 txt (42.8 KB);")
    assert lines[2] == "  questions   demo: ~942 gold, 80 for evaluation, 862 for training"
    assert lines[3] == ("  training    demo/qlora: 24 steps x 8 x 256 tokens = 49,152 at most (~17,894 padded) x 1 "
                        "replicate(s); 1 job to run")
    assert lines[4] == ("  evaluation  demo: 80 questions x 5 systems x 51-121 prompt tokens = 36,880 prompt tokens; "
                        "5 jobs to run")
    assert lines[5].startswith("  model       builtin:smollm2: 134.")
    assert lines[6].startswith("  time        evaluate 5 x 3 min, finetune 7 min, embed_backend 3 min,")
    assert lines[-1].startswith("  machine     one core's matmul 100 GFLOP/s now, 120 at best; other work's load 1.5 per "
                                "CPU: this run gets ~40% of it; times are the calibration CPU's (2-core AMD EPYC, 125 at "
                                "best) / 0.38.")


def test_the_machine_is_measured_in_a_fraction_of_a_second():
    import time

    start = time.perf_counter()
    machine = measure_machine(0.1)
    assert time.perf_counter() - start < 1.0
    assert 0 < machine.now <= machine.best * 1.05 and machine.load >= 0 and 0 < machine.share <= 1
    assert Machine(50, 100, 0.0).share == 0.5 and Machine(100, 100, 3.0).share == 0.25  # the lower of probe and load
    assert Machine(250, 250, 0.0).speed == 2.0  # a CPU twice as fast, alone
