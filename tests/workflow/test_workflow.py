"""The whole workflow end to end on a tiny config, in a temporary directory."""

import csv
import json
from pathlib import Path

import pytest
import yaml
from workdirs import snakemake

SYSTEMS = ["base", "fewshot", "rag", "ft", "rag_ft"]

pytestmark = pytest.mark.workflow


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# `run` (the workflow run once on tiny.yaml, shared by every workflow test) is in conftest.py.


def test_ingest_accounts_for_every_file(run):
    res = run / "results" / "demo"
    docs = jsonl(res / "docs.jsonl")
    assert len(docs) == 200
    assert [list(d) for d in docs[:1]] == [["id", "source", "title", "text", "sha256", "meta"]]
    assert [d["id"] for d in docs] == sorted(d["id"] for d in docs)
    assert "varieties/amcal-fenith.md" in {d["id"] for d in docs}
    assert jsonl(res / "rejected.jsonl") == [
        {"source": "notes/empty.txt", "reason": "empty", "detail": "no text after normalisation"},
        {"source": "pests/katal-rust-copy.txt", "reason": "exact_duplicate", "detail": "same text as pests/katal-rust.txt"},
    ]
    manifest = json.loads((res / "ingest_manifest.json").read_text())
    assert (manifest["items_seen"], manifest["accepted"], manifest["rejected"], manifest["invariant_ok"]) == (202, 200, 2, True)


def test_split_chunks_and_retrieval(run):
    res = run / "results" / "demo"
    train, ev = jsonl(res / "qa" / "train.jsonl"), jsonl(res / "qa" / "eval.jsonl")
    assert (len(train), len(ev)) == (942 - 24, 24)
    assert not {q["id"] for q in train} & {q["id"] for q in ev}
    docs = {d["id"]: d["text"] for d in jsonl(res / "docs.jsonl")}
    chunks = jsonl(res / "chunks.jsonl")
    assert all(docs[c["doc_id"]][c["start"] : c["end"]] == c["text"] and c["n_tokens"] <= 64 for c in chunks)
    assert {c["doc_id"] for c in chunks} == set(docs)
    metrics = json.loads((res / "retrieval" / "metrics.json").read_text())
    assert set(metrics) == {"dense", "bm25", "hybrid"}
    # every demo question names its entity, so both retrievers find the gold doc in the top 5
    assert metrics["bm25"]["recall@5"] == 1.0 and metrics["dense"]["recall@5"] >= 0.9
    assert 0 < metrics["dense"]["mrr@10"] <= 1
    assert metrics["hybrid"]["mrr@10"] >= max(metrics["dense"]["mrr@10"], metrics["bm25"]["mrr@10"]) - 0.01
    hybrid = json.loads((res / "index" / "hybrid.json").read_text())
    assert hybrid["n"] == 942 - 24 and 0 <= hybrid["weight"] <= 1  # chosen on the train split
    table = (res / "report" / "retrieval.md").read_text()
    assert table.startswith("| retriever   |") and "| hybrid " in table
    assert (res / "report" / "plots" / "recall_at_k.png").stat().st_size > 10_000


def test_finetune_outputs(run):
    ft = run / "results" / "demo" / "finetune" / "qlora"
    assert (ft / "adapter" / "adapter_model.safetensors").stat().st_size > 0
    rows = jsonl(ft / "train_log.jsonl")
    assert [r["step"] for r in rows] == [2, 4, 6, 8, 10, 12]
    assert json.loads((ft / "train_summary.json").read_text())["steps"] == 12
    report = json.loads((ft / "data_report.json").read_text())
    assert report["per_builder"]["qa"] == 942 - 24


def test_every_system_scored_on_the_same_questions(run):
    res = run / "results" / "demo"
    eval_ids = [q["id"] for q in jsonl(res / "qa" / "eval.jsonl")]
    for system in SYSTEMS:
        preds = jsonl(res / "eval" / system / "predictions.jsonl")
        assert [p["id"] for p in preds] == eval_ids
        assert list(preds[0]) == ["id", "question", "answers", "prediction", "contexts", "prompt_tokens", "latency_s", "gold_nll",
                                  "truncated_tokens", "cut", "doc_hit", "answer_hit"]
        metrics = json.loads((res / "eval" / system / "metrics.json").read_text())
        # means only: the intervals are the report's, so that report.bootstrap reruns nothing else
        assert metrics["n"] == 24 and list(metrics["gold_nll"]) == ["mean"] and metrics["gold_nll"]["mean"] > 0
    rag = jsonl(res / "eval" / "rag" / "predictions.jsonl")
    assert all(len(p["contexts"]) == 3 for p in rag)
    base = jsonl(res / "eval" / "base" / "predictions.jsonl")
    assert all(p["contexts"] == [] for p in base)
    assert rag[0]["prompt_tokens"] > base[0]["prompt_tokens"]


def test_comparison_table(run):
    report = run / "results" / "demo" / "report"
    rows = list(csv.DictReader((report / "comparison.csv").open()))
    assert [r["system"] for r in rows] == SYSTEMS
    assert list(rows[0])[0] == "system"
    assert rows[3]["adapter"] == "qlora (on the 4-bit NF4 base)" and rows[2]["retriever"] == "dense"
    assert float(rows[3]["train_tokens"]) > 0
    md = (report / "comparison.md").read_text()
    table = md[md.index("| system "):]  # under the title and the warnings that apply (one training seed, at least)
    assert md.startswith("**Systems compared on demo**\n\n- **Warning:** ") and table.count("\n") == 2 + len(SYSTEMS)
    assert "\\toprule" in (report / "comparison.tex").read_text()


def test_rerun_does_nothing(run):
    proc = snakemake(run, "-n")
    assert proc.returncode == 0
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_config_mistake_stops_before_any_job(run, tmp_path):
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["retrieval"] = {"k": 0}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    proc = snakemake(tmp_path)
    assert proc.returncode != 0
    assert "ragft: config key 'retrieval.k': 0 is less than the minimum of 1" in proc.stderr
    assert not (tmp_path / "results").exists()
