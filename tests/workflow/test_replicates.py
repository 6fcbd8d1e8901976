"""Training-seed replicates: `finetune.replicates: 3` on the session's tiny run trains two more adapters
(the first is the run's own), evaluates every fine-tuned system with each, and the table gives the
fine-tuned rows the mean over the three with a two-level interval and their spread."""

import csv
import json

import pytest
from workdirs import (
    copy_run,
    job_names,
    planned_jobs,
    read_config,
    snakemake,
    write_config,
)

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def replicated(tiny_run, tmp_path_factory):
    work = copy_run(tiny_run, tmp_path_factory.mktemp("replicates") / "work")
    config = read_config(work)
    config["finetune"]["replicates"] = 3
    write_config(work, config)
    planned = job_names(planned_jobs(work))
    proc = snakemake(work)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return work, planned


def test_three_replicates_add_two_trainings_and_their_evaluations_only(replicated):
    _, planned = replicated
    # replicate 1 is the run's own adapter and evaluations: nothing of it reruns
    assert planned == ["evaluate[ft.r2]", "evaluate[ft.r3]", "evaluate[rag_ft.r2]", "evaluate[rag_ft.r3]",
                       "finetune[qlora.r2]", "finetune[qlora.r3]", "report", "review_sheet"]


def test_each_replicate_is_its_own_adapter_trained_with_its_own_seed(replicated):
    work, _ = replicated
    runs = ["qlora", "qlora.r2", "qlora.r3"]
    weights = {r: (work / f"results/demo/finetune/{r}/adapter/adapter_model.safetensors").read_bytes() for r in runs}
    assert len(set(weights.values())) == 3  # three different adapters
    data = {(work / f"results/demo/finetune/{r}").joinpath("train.jsonl").exists() for r in runs[1:]}
    assert data == {False}  # one training set, the recipe's, for every replicate
    seeds = [json.loads((work / f"results/demo/finetune/{r}/train_summary.json").read_text())["seed"] for r in runs]
    assert seeds == [3, 4, 5]  # tiny.yaml's seed 3, then 4 and 5
    assert [json.loads((work / f"results/demo/eval/rag_ft.r{k}/metrics.json").read_text())["adapter"]
            for k in (2, 3)] == ["qlora.r2", "qlora.r3"]


def test_the_table_gives_fine_tuned_rows_the_mean_over_replicates(replicated):
    work, _ = replicated
    rows = {r["system"]: r for r in csv.DictReader((work / "results/demo/report/comparison.csv").open())}
    assert [rows[s]["replicates"] for s in ("base", "fewshot", "rag", "ft", "rag_ft")] == ["1", "1", "1", "3", "3"]
    for system in ("ft", "rag_ft"):
        per_run = [json.loads((work / f"results/demo/eval/{run}/metrics.json").read_text())["f1"]["mean"]
                   for run in (system, f"{system}.r2", f"{system}.r3")]
        row = {k: float(v) for k, v in rows[system].items() if k.startswith("f1") and v}
        assert row["f1"] == pytest.approx(sum(per_run) / 3, abs=1e-6)
        assert (row["f1_seed_min"], row["f1_seed_max"]) == pytest.approx((min(per_run), max(per_run)), abs=1e-6)
        assert row["f1_lo"] <= row["f1"] <= row["f1_hi"]
    assert rows["base"]["f1_seed_min"] == ""  # no replicates: no spread
    md = (work / "results/demo/report/comparison.md").read_text()
    header = next(line for line in md.splitlines() if line.startswith("| system"))
    assert "replicates" in header and "rag_ft over seeds" not in md and "over seeds" in md
    assert "one training seed" not in md  # the warning of finetune.replicates: 1
    html = (work / "results/demo/report/comparison.html").read_text()
    assert "two-level bootstrap (questions, then seeds)" in html


def test_the_review_sheet_has_a_column_per_replicate_run(replicated):
    work, _ = replicated
    with (work / "results/demo/report/questions_review.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["corpus", "id", "question", "answers", "source", "base", "fewshot", "rag", "ft", "ft.r2",
                             "ft.r3", "rag_ft", "rag_ft.r2", "rag_ft.r3", "verdict"]
    preds = {json.loads(x)["id"]: json.loads(x)["prediction"]
             for x in (work / "results/demo/eval/ft.r2/predictions.jsonl").read_text().splitlines()}
    assert len(rows) == 24 and all(r["ft.r2"] == preds[r["id"]] and r["verdict"] == "" for r in rows)
