"""BM25 retrieval on the AgXQA sample (a SQuAD-style agricultural QA set), where it is available."""

from pathlib import Path

import pytest

from ragft.ingest.run import run_ingest
from ragft.jsonl import read_jsonl
from ragft.models.specs import minilm_path
from ragft.qa.gold import doc_index, load_gold, split_questions
from ragft.retrieval.chunk import chunk_docs
from ragft.retrieval.index import BM25Searcher, build_bm25
from ragft.retrieval.metrics import retrieval_metrics

SAMPLE = Path(__file__).resolve().parents[4] / "shared" / "data" / "agxqa" / "agxqa_sample.json"

pytestmark = pytest.mark.skipif(not SAMPLE.is_file(), reason=f"{SAMPLE} is not on this machine")


def test_bm25_on_the_agxqa_sample_as_the_workflow_runs_it(tmp_path):
    from transformers import AutoTokenizer

    run_ingest(str(SAMPLE), tmp_path / "docs.jsonl", tmp_path / "rejected.jsonl", tmp_path / "manifest.json")
    questions, _ = load_gold(str(SAMPLE), doc_index(str(tmp_path / "docs.jsonl")))
    _, evaluation = split_questions(questions, 0.2, 8, 500)  # the schema's defaults, seed 7 + 1
    chunks = chunk_docs(read_jsonl(tmp_path / "docs.jsonl"), AutoTokenizer.from_pretrained(minilm_path()), 128, 16)
    assert (len(questions), len(evaluation), len(chunks)) == (570, 114, 191)
    build_bm25([c["text"] for c in chunks], [c["id"] for c in chunks], tmp_path / "bm25")
    runs = BM25Searcher(tmp_path / "bm25").search([q["question"] for q in evaluation], 20)
    m = retrieval_metrics(runs, evaluation, {c["id"]: c["doc_id"] for c in chunks}, {c["id"]: c["text"] for c in chunks})
    # the split groups near-identical questions since issue 23 (another 114 eval questions than before)
    assert (m["recall@1"], m["recall@5"], m["answer_recall@10"], m["mrr@10"]) == (0.947368, 0.982456, 0.991228, 0.960317)
