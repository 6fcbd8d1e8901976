"""Same config, same seed, CPU: two clean runs in different directories give the same results byte
for byte. The runs are the session's (`tiny_run`) and `second_run` (tests/conftest.py), which was
also killed once with SIGKILL while it embedded and then run to the end: its results are those of
an uninterrupted run all the same.

Timings cannot repeat, so they are left out of the comparison, and only they: the `latency_s`
field of predictions and the table columns that measure time or speed (`latency_s`,
`train_seconds`, `device_hours`, ...). Files that record timings or memory peaks beside their
content (train_log.jsonl, train_summary.json, meta.json, data_report.json) are not compared. The
embedding shard is compared by its vectors: its counts record that the killed run took some from
the cache.
"""

import csv
import hashlib
import io
import json

import pytest

from ragft.retrieval.embed import read_shard

pytestmark = pytest.mark.workflow

BYTE_IDENTICAL = [
    "resources/models/tiny/model.safetensors", "resources/models/tiny/tokenizer.json",
    *(f"results/demo/{rel}" for rel in (
        "docs.jsonl", "rejected.jsonl", "ingest_manifest.json", "chunks.jsonl",
        "qa/train.jsonl", "qa/eval.jsonl", "qa/split_manifest.json",
        "index/dense/index.faiss", "index/dense/ids.json",
        "finetune/qlora/train.jsonl", "finetune/qlora/adapter/adapter_model.safetensors",
        "finetune/qlora/adapter/adapter_config.json")),
]
SYSTEMS = ["base", "fewshot", "rag", "ft", "rag_ft"]
TIMING = ("latency", "seconds", "hours", "per_s", "qps", "memory")


def without_timing(record: dict) -> dict:
    return {k: v for k, v in record.items() if not any(t in k for t in TIMING)}


def first_difference(ours: list[dict], ref: list[dict]) -> str | None:
    """Where two lists of records first differ, in a line (pytest's own diff of them takes ages)."""
    if len(ours) != len(ref):
        return f"{len(ours)} records, not {len(ref)}"
    for i, (a, b) in enumerate(zip(ours, ref)):
        if a != b:
            keys = sorted(k for k in {*a, *b} if a.get(k) != b.get(k))
            return f"record {i}: " + "; ".join(f"{k}: {a.get(k)!r} != {b.get(k)!r}" for k in keys[:4])
    return None


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_documents_chunks_splits_index_and_models_are_byte_identical(tiny_run, second_run):
    work, _ = second_run
    differ = [rel for rel in BYTE_IDENTICAL if digest(work / rel) != digest(tiny_run / rel)]
    assert differ == []
    # the embedding shard holds the same vectors; its counts differ, the killed run's rerun took some from the cache
    (keys, vecs, _), (ref_keys, ref_vecs, _) = (read_shard(d / "results/demo/embed/1-of-1.npz") for d in (work, tiny_run))
    assert keys == ref_keys and hashlib.sha256(vecs.tobytes()).digest() == hashlib.sha256(ref_vecs.tobytes()).digest()


def test_predictions_are_identical_but_for_latency(tiny_run, second_run):
    work, _ = second_run
    for system in SYSTEMS:
        ours, ref = ([json.loads(x) for x in (d / f"results/demo/eval/{system}/predictions.jsonl").read_text().splitlines()]
                     for d in (work, tiny_run))
        assert first_difference([without_timing(p) for p in ours], [without_timing(p) for p in ref]) is None, system
        assert [list(p) for p in ours] == [list(p) for p in ref]  # same fields in the same order


def test_comparison_tables_are_identical_but_for_timing_columns(tiny_run, second_run):
    work, _ = second_run
    ours, ref = (list(csv.DictReader(io.StringIO((d / "results/demo/report/comparison.csv").read_text())))
                 for d in (work, tiny_run))
    assert first_difference([without_timing(r) for r in ours], [without_timing(r) for r in ref]) is None
    timing = [c for c in ref[0] if any(t in c for t in TIMING)]
    assert timing and len(ref[0]) - len(timing) > 10  # what was left out are the timing columns alone
