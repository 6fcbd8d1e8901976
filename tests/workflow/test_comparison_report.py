"""The comparison report of the shared tiny run (conftest.run): its tables and plots, Snakemake's
HTML report, `ragft ask` on the built artefacts, the LLM judge, and the cross-corpus report."""

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import pytest
import yaml
from workdirs import make_workdir, snakemake, tiny_config

from ragft.evaluate.metrics import per_question
from ragft.report.stats import Scores, format_p
from ragft.report.tables import p_values

SYSTEMS = ["base", "fewshot", "rag", "ft", "rag_ft"]
METRICS = ["accuracy", "exact_match", "f1", "rouge_l", "gold_nll"]  # the schema default: the headline first
RAGFT = Path(sys.executable).with_name("ragft")

pytestmark = pytest.mark.workflow


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_comparison_has_intervals_p_values_and_cost(run):
    res = run / "results" / "demo"
    rows = {r["system"]: r for r in csv.DictReader((res / "report" / "comparison.csv").open())}
    assert list(rows) == SYSTEMS
    header = list(next(iter(rows.values())))
    for m in METRICS:
        assert {m, f"{m}_lo", f"{m}_hi", f"{m}_p_vs_base", f"{m}_p_vs_rag"} <= set(header)
    assert {"prompt_tokens", "latency_s", "questions_per_s", "train_tokens", "device_hours", "train_device"} <= set(header)
    assert rows["base"]["f1_p_vs_base"] == "" and rows["rag"]["f1_p_vs_rag"] == ""
    assert all(rows[s]["n"] == "24" and rows[s]["truncated_prompts"] == "0" for s in SYSTEMS)
    assert rows["ft"]["device_hours"] == rows["rag_ft"]["device_hours"] != ""  # one adapter, one training cost
    assert rows["rag"]["train_tokens"] == "" and float(rows["rag_ft"]["train_tokens"]) > 0
    summary = json.loads((res / "finetune" / "qlora" / "train_summary.json").read_text())
    assert float(rows["ft"]["device_hours"]) == pytest.approx(summary["train_seconds"] / 3600, abs=1e-6)
    # every figure is reproducible from the predictions: means, and p-values with the config's seed
    scores = {s: per_question(jsonl(res / "eval" / s / "predictions.jsonl")) for s in SYSTEMS}
    for s in SYSTEMS:
        nll = scores[s]["gold_nll"]
        assert float(rows[s]["gold_nll"]) == pytest.approx(sum(nll) / len(nll), rel=1e-5)
        assert float(rows[s]["gold_nll_lo"]) <= float(rows[s]["gold_nll"]) <= float(rows[s]["gold_nll_hi"])
    p = p_values({s: Scores.from_runs([v]) for s, v in scores.items()}, "rag", n_boot=200, seed=3)  # tiny.yaml: 200, seed 3
    assert float(rows["rag_ft"]["gold_nll_p_vs_rag"]) == pytest.approx(p["rag_ft"]["gold_nll"], rel=1e-5)
    text = (res / "report" / "comparison.md").read_text()
    md = text[text.index("| system "):].splitlines()  # the table, under its title and warnings
    assert [c.strip() for c in md[0].split("|")[1:-1][:5]] == ["system", "retriever", "adapter", "n", "accuracy"]
    assert rows["ft"]["adapter"] == "qlora (on the 4-bit NF4 base)" and rows["rag"]["adapter"] == "none"
    assert "p(accuracy) vs base / rag" in md[0] and "p(gold_nll) vs base / rag" in md[0] and "device-h" in md[0]
    # the p columns follow the metrics; base: p(accuracy) vs rag only
    assert md[2].split("|")[10].strip() == f"- / {format_p(float(rows['base']['accuracy_p_vs_rag']), 200)}"
    assert md[0].split("|")[11].strip() == "Holm p(accuracy)"
    assert float(rows["ft"]["accuracy_holm_vs_base"]) >= float(rows["ft"]["accuracy_p_vs_base"])
    html = (res / "report" / "comparison.html").read_text()
    assert html.count("<tr>") == 1 + len(SYSTEMS) and "paired bootstrap against `base` and `rag`" in html


def test_cut_answers_are_counted_shown_and_warned_about(run):
    res = run / "results" / "demo"
    rows = {r["system"]: r for r in csv.DictReader((res / "report" / "comparison.csv").open())}
    cut = {s: sum(p["cut"] for p in jsonl(res / "eval" / s / "predictions.jsonl")) for s in SYSTEMS}
    for s in SYSTEMS:  # tiny.yaml: 12 new tokens at most
        metrics = json.loads((res / "eval" / s / "metrics.json").read_text())
        assert metrics["cut"] == {"answers": cut[s], "share": cut[s] / 24}
        assert (rows[s]["cut_answers"], float(rows[s]["cut_share"])) == (str(cut[s]), pytest.approx(cut[s] / 24))
    text = (res / "report" / "comparison.md").read_text()
    table = text[text.index("| system "):].splitlines()
    column = [c.strip() for c in table[0].split("|")].index("cut answers")
    assert [r.split("|")[column].strip() for r in table[2:]] == [str(cut[s]) for s in SYSTEMS]  # 0 shows
    warnings = text[: text.index("| system ")].splitlines()
    assert warnings[:2] == ["**Systems compared on demo**", ""]
    listed = ", ".join(f"{s} {cut[s]} of 24" for s in SYSTEMS if cut[s])
    expected = ([f"- **Warning:** answers cut at model.max_new_tokens (12) before they ended: {listed}; an unfinished "
                 "answer is scored as it stands (see `cut` in predictions.jsonl; raise model.max_new_tokens)."]
                if listed else []) + [
        "- **Warning:** one training seed (finetune.replicates: 1): the intervals of ft, rag_ft cover the questions, "
        "not the training seed, and another seed can land elsewhere; set finetune.replicates to 3 or more before "
        "trusting a fine-tuned row."]
    assert warnings[2:] == [*expected, ""]  # gold questions of mixed answer types: no other warning
    html = (res / "report" / "comparison.html").read_text()
    assert html.count("<li><strong>Warning:</strong> ") == len(expected) and "one training seed" in html


def test_report_plots_exist_and_are_images(run):
    plots = run / "results" / "demo" / "report" / "plots"
    names = sorted(p.name for p in plots.glob("*.png"))
    assert names == sorted([f"{m}.png" for m in METRICS] + ["quality_vs_cost.png", "recall_at_k.png", "loss_qlora.png"])
    assert matplotlib.image.imread(plots / "f1.png").shape[:2] == (675, int(150 * (1.1 * 5 + 2)))
    assert matplotlib.image.imread(plots / "quality_vs_cost.png").shape[:2] == (675, 1650)


def test_snakemake_report_shows_tables_and_plots_with_captions(run, tmp_path):
    out = tmp_path / "report.html"
    proc = snakemake(run, "--report", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    html = out.read_text()
    for name in ("comparison.html", "comparison.csv", "comparison.tex", "f1.png", "gold_nll.png", "quality_vs_cost.png",
                 "loss_qlora.png", "recall_at_k.png", "retrieval.html", "questions_review.html"):
        assert f'"results/demo/report/{"plots/" if name.endswith(".png") else ""}{name}"' in html, name
    assert "The comparison on corpus <strong>demo</strong>" in html  # captions rendered with the run's wildcards
    assert "(200 resamples of the questions, seed\\n3)" in html  # ... and params


def test_ragft_ask_answers_as_evaluation_did(run):
    pred = jsonl(run / "results" / "demo" / "eval" / "rag" / "predictions.jsonl")[0]
    proc = subprocess.run([str(RAGFT), "ask", "--configfile", str(run / "config.yaml"), "--directory", str(run),
                           "--corpus", "demo", "--system", "rag", "--json", pred["question"]],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    # the same retrieval, prompt and greedy decoding as the evaluation of this question
    assert [(s["chunk_id"], s["score"]) for s in result["sources"]] == [(c["chunk_id"], c["score"]) for c in pred["contexts"]]
    assert result["answer"] == pred["prediction"] and result["prompt_tokens"] == pred["prompt_tokens"]
    assert result["sources"][0]["text"] and result["sources"][0]["rank"] == 1


def test_ragft_ask_says_what_to_build(run, tmp_path):
    (tmp_path / "data").symlink_to(run / "data")  # the corpus, but nothing built
    proc = subprocess.run([str(RAGFT), "ask", "--configfile", str(run / "config.yaml"), "--directory", str(tmp_path),
                           "--corpus", "demo", "--system", "rag_ft", "What?"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert "chunks.jsonl is missing; build it first: snakemake --cores all results/demo/eval/rag_ft/predictions.jsonl" in proc.stderr


def test_judge_and_a_hybrid_system_rerun_only_what_they_need(run, tmp_path):
    work = tmp_path / "copy"
    shutil.copytree(run, work, symlinks=True, ignore=shutil.ignore_patterns("report.html"))
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["systems"] = {"base": config["systems"]["base"], "rag_hybrid": {"retriever": "hybrid", "adapter": "none"}}
    config["report"]["judge"] = {"model": "builtin:tiny"}
    (work / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    proc = snakemake(work)
    assert proc.returncode == 0, proc.stderr[-4000:]
    log = (proc.stdout + proc.stderr).splitlines()
    ran = sorted(line.split()[-1].rstrip(")") for line in log if line.startswith("Finished jobid"))
    assert ran == ["all", "evaluate", "judge", "judge", "report", "review_sheet"]  # nothing upstream of evaluation reran
    res = work / "results" / "demo"
    verdicts = jsonl(res / "eval" / "rag_hybrid" / "judge.jsonl")
    assert len(verdicts) == 24 and all(v["judge"] == int(v["p_yes"] > 0.5) for v in verdicts)
    rows = {r["system"]: r for r in csv.DictReader((res / "report" / "comparison.csv").open())}
    assert float(rows["rag_hybrid"]["judge"]) == pytest.approx(sum(v["judge"] for v in verdicts) / 24)
    assert rows["rag_hybrid"]["judge_p_vs_base"] != "" and "f1_p_vs_rag" not in rows["base"]  # no rag system here
    assert (res / "report" / "plots" / "judge.png").stat().st_size > 10_000
    preds = jsonl(res / "eval" / "rag_hybrid" / "predictions.jsonl")
    assert all(p["doc_hit"] is not None for p in preds) and rows["rag_hybrid"]["retriever"] == "hybrid"


def test_several_corpora_add_a_cross_corpus_report(tmp_path):
    config = tiny_config()
    config["corpora"]["demo_copy"] = dict(config["corpora"]["demo"])
    proc = snakemake(make_workdir(tmp_path, config), "-n", "results/report.md")
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout + proc.stderr
    assert "rule report_corpora:" in out and "results/demo_copy/report/comparison.csv" in out
