"""The workflow plans generated questions for a corpus without gold ones (a dry run: nothing runs)."""

from workdirs import make_workdir, planned_jobs, tiny_config


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
