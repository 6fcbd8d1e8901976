"""A config file of one's own (`--configfile my.yaml`) replaces config/config.yaml: only its corpora
and systems run, every key it leaves out taking the schema's default."""

import shutil
import subprocess

import pytest
from workdirs import ROOT, SNAKEMAKE, job_names, make_workdir, planned_jobs

pytestmark = pytest.mark.workflow


def test_a_config_file_of_ones_own_replaces_the_demo_config(tmp_path):
    mine = {"corpora": {"mine": {"source": "data/corpus/pests", "qa": "data/qa.jsonl"}},
            "model": {"base": "builtin:tiny"},
            "systems": {"base": {"retriever": "none"}, "rag": {"retriever": "bm25"}}}
    work = make_workdir(tmp_path / "work", mine)
    (work / "config").mkdir()
    shutil.copy(ROOT / "config" / "config.yaml", work / "config" / "config.yaml")  # as in a checkout
    jobs = planned_jobs(work)  # with --configfile config.yaml (the one above)
    assert {w["corpus"] for _, w, _ in jobs if "corpus" in w} == {"mine"}
    assert [n for n in job_names(jobs) if n.startswith("evaluate")] == ["evaluate[base]", "evaluate[rag]"]
    assert "build_tiny" in job_names(jobs) and "build_smollm2" not in job_names(jobs)
    # without one, config/config.yaml is the config: the demo's corpus, which this folder lacks
    proc = subprocess.run([str(SNAKEMAKE), "-s", str(ROOT / "Snakefile"), "--directory", str(work), "-n"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode != 0
    assert "ragft: config key 'corpora.demo.source': 'resources/demo/corpus' matches no file or directory" in proc.stderr


def test_a_config_of_only_corpora_compares_the_five_systems(tmp_path):
    """A folder of documents and nothing else: the schema's defaults give cloze questions, the
    CPU-sized QLoRA recipe and the five systems, one evaluation each."""
    work = make_workdir(tmp_path / "work", {"corpora": {"mydocs": {"source": "data/corpus/pests"}}})
    names = job_names(planned_jobs(work))
    assert [n for n in names if n.startswith("evaluate")] == [
        "evaluate[base]", "evaluate[fewshot]", "evaluate[ft]", "evaluate[rag]", "evaluate[rag_ft]"]
    assert {"generate_qa", "finetune[qlora]", "finetune_data[qlora]", "build_smollm2", "report"} <= set(names)
