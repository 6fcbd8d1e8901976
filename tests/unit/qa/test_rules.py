"""The workflow plans generated questions for a corpus without gold ones (a dry run: nothing runs)."""

import json
import os

from workdirs import job_names, make_workdir, planned_jobs, snakemake, tiny_config, write_config


def test_a_corpus_without_questions_gets_generated_ones_and_the_whole_comparison(tmp_path):
    config = tiny_config()
    config["corpora"]["docs"] = {"source": "data/corpus"}  # the demo's documents, no `qa`
    jobs = planned_jobs(make_workdir(tmp_path / "work", config))
    corpora = {}
    for rule, wildcards, _ in jobs:
        corpora.setdefault(rule, []).append(wildcards.get("corpus"))
    assert corpora["generate_qa"] == ["docs"]  # demo has gold questions
    for rule in ("ingest", "chunk", "split_qa", "retrieval_eval", "evaluate", "report"):
        assert {"demo", "docs"} <= set(corpora[rule]), rule
    assert "report_corpora" in corpora
    split = next(reason for rule, w, reason in jobs if rule == "split_qa" and w["corpus"] == "docs")
    generate = next(reason for rule, w, reason in jobs if rule == "generate_qa")
    assert "results/docs/qa/generated.jsonl" in split and "results/docs/qa/generated_manifest.json" in split
    assert "results/docs/chunks.jsonl" in generate
    gold = next(reason for rule, w, reason in jobs if rule == "split_qa" and w["corpus"] == "demo")
    assert "generated" not in gold


def _after_the_split(jobs) -> list[str]:
    """The planned jobs that read a file split_qa rewrites in the same run (so rerun because of it)."""
    updated = "Input files updated by another job:"
    return job_names([job for job in jobs if "results/demo/qa/" in job[2].partition(updated)[2]])


def test_a_review_file_reruns_the_split_and_what_follows(tmp_path):
    work = make_workdir(tmp_path / "work")
    manifest = "results/demo/qa/split_manifest.json"
    proc = snakemake(work, manifest)  # ingest and split_qa, for real: no model
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert planned_jobs(work, manifest) == [] and _after_the_split(planned_jobs(work)) == []
    evaluation = [json.loads(x) for x in (work / "results/demo/qa/eval.jsonl").read_text().splitlines()]
    train = (work / "results/demo/qa/train.jsonl").read_text()
    bad, good = evaluation[0]["id"], evaluation[1]["id"]
    review = work / "data/review.csv"
    review.write_text(f"corpus,id,verdict\nother,{bad},bad\n")  # a sheet of another corpus only
    config = tiny_config()
    config["qa"]["review"] = "data/review.csv"
    write_config(work, config)
    assert planned_jobs(work, manifest) == []  # is no input of this corpus's split
    review.write_text(f"corpus,id,verdict\ndemo,{bad},Bad\ndemo,{good},ok\nother,{good},bad\ndemo,nosuch,\n")
    os.utime(review, (1e9, 1e9))  # older than every output: what reruns is the new input, not a newer file

    jobs = planned_jobs(work, manifest)
    assert job_names(jobs) == ["split_qa"] and jobs[0][2] == "Set of input files has changed since last execution"
    assert _after_the_split(planned_jobs(work)) == [  # everything that reads the questions, nothing else anew
        "evaluate[base]", "evaluate[fewshot]", "evaluate[ft]", "evaluate[rag]", "evaluate[rag_ft]",
        "finetune_data[qlora]", "hybrid_weights", "report", "retrieval_eval", "review_sheet"]
    proc = snakemake(work, manifest)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ids = [json.loads(x)["id"] for x in (work / "results/demo/qa/eval.jsonl").read_text().splitlines()]
    assert ids == [q["id"] for q in evaluation if q["id"] != bad]  # the rest of the split as it was
    assert (work / "results/demo/qa/train.jsonl").read_text() == train
    split = json.loads((work / manifest).read_text())
    assert split["review"] == {"files": ["data/review.csv"], "marked": 2, "accepted": 1, "rejected": 1, "unmarked": 0,
                               "unknown": 1, "accepted_share": 0.5, "dropped_eval": 1, "dropped_train": 0}
    assert split["eval"] == len(evaluation) - 1

    assert planned_jobs(work, manifest) == []
    review.write_text(review.read_text().replace(",Bad\n", ",\n"))  # editing the file reruns the split again
    jobs = planned_jobs(work, manifest)
    assert job_names(jobs) == ["split_qa"] and jobs[0][2] == "Updated input files: data/review.csv"
