"""What each job declares: every job that runs a causal LM asks for one GPU, so a local run with
`--resources gpu=1` never puts two of them on one GPU, and the host memory its model needs."""

import re

import pytest
from workdirs import ROOT, make_workdir, snakemake, tiny_config

from ragft.models.specs import llm_host_mb

pytestmark = pytest.mark.workflow

RULE = re.compile(r"^(?:local)?rule (\w+):$")
LOADS_LLM = re.compile(r"\b(load_causal_lm|synthetic_qa|write_questions|train)\(")


def llm_rules() -> set[str]:
    """Rules whose script loads a causal LM, found from the scripts themselves."""
    rules = set()
    for smk in (ROOT / "rules").glob("*.smk"):
        for name, body in re.findall(r"^rule (\w+):\n(.*?)(?=^rule |\Z)", smk.read_text(), re.DOTALL | re.MULTILINE):
            script = re.search(r'script:\s*\n\s*"\.\./(scripts/\w+\.py)"', body)
            if script and LOADS_LLM.search((ROOT / script.group(1)).read_text()):
                rules.add(name)
    return rules


def declared(stdout: str) -> list[tuple[str, dict]]:
    """(rule, resources) of each job of a dry run."""
    jobs = []
    for line in stdout.splitlines():
        if m := RULE.match(line.strip()):
            jobs.append((m.group(1), {}))
        elif jobs and line.strip().startswith("resources:"):
            pairs = line.split(":", 1)[1].split(", ")
            jobs[-1][1].update(p.strip().split("=", 1) for p in pairs)
    return jobs


def test_every_job_that_runs_an_llm_asks_for_one_gpu(tmp_path):
    assert llm_rules() == {"evaluate", "judge", "finetune", "finetune_data", "generate_qa"}
    config = tiny_config()
    config["corpora"]["docs"] = {"source": "data/corpus"}  # no questions: an LLM writes them (qa.generate.method llm)
    config["qa"]["generate"] = {"method": "llm"}
    config["model"] = {"base": "builtin:smollm2"}
    config["report"]["judge"] = {"model": "builtin:smollm2"}
    config["finetune"]["data"]["synthetic"] = {"enabled": True}
    work = make_workdir(tmp_path / "work", config)
    proc = snakemake(work, "-n", "--resources", "gpu=1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = declared(proc.stdout)
    on_gpu = {rule for rule, res in jobs if res.get("gpu") == "1"}
    assert on_gpu == llm_rules()
    assert all(res.get("gpu", "0") == "0" for rule, res in jobs if rule not in on_gpu)
    generate = [res for rule, res in jobs if rule == "generate_qa"]
    assert len(generate) == 1 and int(generate[0]["mem_mb"]) == llm_host_mb("resources/models/smollm2")
    # the host memory of smollm2's jobs: its float32 weights and more, not a fixed 8 GB
    evaluate = [int(res["mem_mb"]) for rule, res in jobs if rule == "evaluate"]
    assert set(evaluate) == {llm_host_mb("resources/models/smollm2")} and 2000 < evaluate[0] < 3000
