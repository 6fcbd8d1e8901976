"""Only what a change touches reruns, by Snakemake's own rerun triggers (mtime, params, input, code).

Each test changes one thing in a copy of the session's tiny run (`copy_run` keeps file times and
Snakemake's metadata, so the copy starts up to date) and compares the jobs of a dry run with the
ones that change must rerun, no more and no fewer. Rule params carry exactly the config keys a
rule reads, so a key reruns the rules that read it and what depends on their outputs.
"""

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

SYSTEMS = ["base", "fewshot", "rag", "ft", "rag_ft"]
EDITED = "pests/amka-midge.txt"


@pytest.fixture
def work(tiny_run, tmp_path):
    return copy_run(tiny_run, tmp_path / "work")


def chunk_texts(work) -> dict[str, str]:
    return {c["id"]: c["text"] for c in map(json.loads, (work / "results/demo/chunks.jsonl").read_text().splitlines())}


def test_a_rerun_with_nothing_changed_runs_nothing(work):
    assert planned_jobs(work) == []
    proc = snakemake(work, "--summary")  # every output: status ok, plan no update
    rows = [line.split("\t") for line in proc.stdout.splitlines() if line.startswith(("results/", "resources/"))]
    assert len(rows) > 40 and {(r[4], r[5]) for r in rows} == {("ok", "no update")}


def test_editing_one_document_reembeds_only_its_chunks(work):
    doc = work / "data/corpus" / EDITED
    text = doc.read_text()
    doc.write_text(text.replace(" is ", " is also ", 1))
    # everything downstream of that corpus's documents reruns; the base model is not rebuilt
    expected = ["chunk", "embed[1,1]", "finetune[qlora]", "finetune_data[qlora]", "hybrid_weights", "index_bm25",
                "index_dense", "ingest", "report", "report_retrieval", "retrieval_eval", "review_sheet", "split_qa",
                *(f"evaluate[{s}]" for s in SYSTEMS)]
    jobs = planned_jobs(work)
    assert job_names(jobs) == sorted(expected)
    assert dict((r, why) for r, _, why in jobs)["ingest"].startswith("Updated input files: data/corpus/" + EDITED)

    before, docs_before = chunk_texts(work), (work / "results/demo/docs.jsonl").read_text().splitlines()
    proc = snakemake(work, "results/demo/index/dense")  # ingest, chunk, embed, index
    assert proc.returncode == 0, proc.stderr[-3000:]
    after = chunk_texts(work)
    new = {t for t in after.values()} - set(before.values())
    changed = {cid for cid, t in after.items() if t in new}
    assert new and {cid.split("#")[0] for cid in changed} == {EDITED}  # only that document's chunks changed
    log = (work / "logs/demo/embed/1-of-1.log").read_text()
    distinct = len(set(after.values()))
    assert f"{distinct} distinct chunk texts: embedded {len(new)}, from the cache {distinct - len(new)}" in log
    meta = json.loads((work / "results/demo/index/dense/meta.json").read_text())
    assert meta["embedding"]["embedded"] == len(new) and meta["count"] == len(after)
    # every other document is byte for byte what it was
    docs_after = (work / "results/demo/docs.jsonl").read_text().splitlines()
    assert [json.loads(x)["id"] for x, y in zip(docs_after, docs_before) if x != y] == [EDITED]


def test_an_evaluation_key_reruns_only_evaluation_and_report(work):
    config = read_config(work)
    config["retrieval"] = {**config.get("retrieval", {}), "k": 2}
    write_config(work, config)
    jobs = planned_jobs(work)
    # closed-book systems do not read k; the review sheet shows the new answers
    assert job_names(jobs) == ["evaluate[rag]", "evaluate[rag_ft]", "report", "review_sheet"]
    assert all(why.startswith("Params have changed") for rule, _, why in jobs if rule == "evaluate")


def test_a_training_key_reruns_training_evaluation_and_report_only(work):
    config = read_config(work)
    config["finetune"]["recipes"]["qlora"]["lr"] = 0.003
    write_config(work, config)
    jobs = planned_jobs(work)
    # not ingest, chunking, embedding, the training data or the systems without the adapter
    assert job_names(jobs) == ["evaluate[ft]", "evaluate[rag_ft]", "finetune[qlora]", "report", "review_sheet"]
    assert dict((r, why) for r, _, why in jobs)["finetune"].startswith("Params have changed")


def test_an_index_key_rebuilds_the_index_without_reembedding(work):
    config = read_config(work)
    config["index"] = {"factory": "HNSW32"}
    write_config(work, config)
    # the dense index and what searches it (tiny.yaml's `retrieval` builder reads it for training data too);
    # not ingest, chunking, embedding or BM25
    assert job_names(planned_jobs(work)) == [
        "evaluate[ft]", "evaluate[rag]", "evaluate[rag_ft]", "finetune[qlora]", "finetune_data[qlora]",
        "hybrid_weights", "index_dense", "report", "report_retrieval", "retrieval_eval", "review_sheet"]


@pytest.mark.parametrize("key,value", [("bootstrap", 300), ("references", ["base"]), ("headline", ["f1"])])
def test_a_statistics_key_reruns_only_the_report(work, key, value):
    config = read_config(work)
    config.setdefault("report", {})[key] = value
    write_config(work, config)
    jobs = planned_jobs(work)
    # intervals and p-values are the report's: no evaluation reruns for them
    assert job_names(jobs) == ["report"] and jobs[0][2].startswith("Params have changed")


def test_the_training_data_reads_the_dense_index_only_for_the_retrieval_builder(work):
    config = read_config(work)
    config["finetune"]["data"]["retrieval"]["enabled"] = False
    write_config(work, config)
    proc = snakemake(work, "-n", "--forceall", "results/demo/finetune/qlora/train.jsonl")
    assert proc.returncode == 0, proc.stderr[-3000:]
    job = proc.stdout.split("rule finetune_data:", 1)[1].split("\n\n", 1)[0]
    inputs = next(line for line in job.splitlines() if line.strip().startswith("input:"))
    assert "results/demo/chunks.jsonl" in inputs and "index" not in inputs
    config["finetune"]["data"]["retrieval"]["enabled"] = True
    write_config(work, config)
    proc = snakemake(work, "-n", "--forceall", "results/demo/finetune/qlora/train.jsonl")
    assert "results/demo/index/dense" in proc.stdout.split("rule finetune_data:", 1)[1].split("\n\n", 1)[0]
