"""Tiny-config workflow runs shared by the workflow, rerun, fault and SLURM tests.

A work directory holds its own copy of the demo corpus (so that a test may edit a document),
`config.yaml` (tests/workflow/tiny.yaml with paths relative to it) and, after a run, everything
the workflow wrote, `.snakemake/` metadata included: a copy made with `copy_run` keeps file times,
so Snakemake finds it up to date and a test can change one thing and see what reruns.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
NETGUARD = ROOT / "tests" / "netguard"
# Rules whose CPU training is bit-for-bit repeatable only on one thread (README: "Same config,
# same seed, same bytes"). --set-threads is not a param: it triggers no rerun.
SERIAL = ("build_tiny=1", "finetune=1")


def tiny_config() -> dict:
    """tests/workflow/tiny.yaml with the corpus and questions read from the work directory."""
    config = yaml.safe_load((ROOT / "tests" / "workflow" / "tiny.yaml").read_text())
    config["corpora"]["demo"].update(source="data/corpus", qa="data/qa.jsonl")
    return config


def make_workdir(workdir: Path, config: dict | None = None) -> Path:
    """A fresh work directory: the demo corpus and questions under data/, and config.yaml."""
    workdir.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "resources" / "demo" / "corpus", workdir / "data" / "corpus")
    shutil.copy2(ROOT / "resources" / "demo" / "qa.jsonl", workdir / "data" / "qa.jsonl")
    write_config(workdir, config or tiny_config())
    return workdir


def write_config(workdir: Path, config: dict) -> None:
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def read_config(workdir: Path) -> dict:
    return yaml.safe_load((workdir / "config.yaml").read_text())


def copy_run(src: Path, dst: Path) -> Path:
    """A copy of a finished run's work directory, file times and Snakemake metadata kept."""
    shutil.copytree(src, dst, symlinks=True, ignore=shutil.ignore_patterns("locks", "incomplete"))
    return dst


def command(workdir: Path, *args: str, cores: int | None = 2) -> list[str]:
    """The snakemake command line for a work directory; `args` (targets, options) come before
    --configfile, which would otherwise take the targets for config files. `cores=None` leaves
    --cores out (a cluster executor counts jobs instead). The two training rules run on one thread
    (`SERIAL`): with two, about one CPU training run in twenty differed from the others in the last
    bits of its weights, and these runs are compared byte for byte."""
    return [str(SNAKEMAKE), "-s", str(ROOT / "Snakefile"), "--directory", str(workdir), "--set-threads", *SERIAL,
            *(["--cores", str(cores)] if cores else []), *args, "--configfile", str(workdir / "config.yaml")]


def snakemake(workdir: Path, *args: str, env: dict | None = None, timeout: int = 1800) -> subprocess.CompletedProcess:
    return subprocess.run(command(workdir, *args), check=False, capture_output=True, text=True, timeout=timeout,
                          env=env, cwd=ROOT)


def offline_env(log: Path) -> dict:
    """An environment with the hub switched off and every network attempt blocked and recorded in `log`."""
    log.touch()
    path = os.pathsep.join(p for p in (str(NETGUARD), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": path, "RAGFT_NETGUARD_LOG": str(log)}


JOB = re.compile(r"^(?:local)?rule (\w+):$")


def planned_jobs(workdir: Path, *args: str) -> list[tuple[str, dict, str]]:
    """The jobs a dry run (`snakemake -n`) would run: (rule, wildcards, reason), in its order."""
    proc = snakemake(workdir, "-n", *args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs: list[tuple[str, dict, str]] = []
    for line in proc.stdout.splitlines():
        if m := JOB.match(line.strip()):
            jobs.append((m.group(1), {}, ""))
        elif jobs and line.strip().startswith("wildcards:"):
            pairs = line.split(":", 1)[1].split(", ")
            jobs[-1][1].update(p.strip().split("=", 1) for p in pairs)
        elif jobs and line.strip().startswith("reason:"):
            jobs[-1] = (jobs[-1][0], jobs[-1][1], line.split(":", 1)[1].strip())
    return [j for j in jobs if j[0] != "all"]


def job_names(jobs) -> list[str]:
    """Jobs as sorted `rule` or `rule[wildcard values]` names, to compare with an expected list."""
    names = []
    for rule, wildcards, _ in jobs:
        values = ",".join(v for k, v in sorted(wildcards.items()) if k != "corpus")
        names.append(f"{rule}[{values}]" if values else rule)
    return sorted(names)


def parsed_rules(workdir: Path, config: dict | None = None) -> dict:
    """The workflow's rules as Snakemake parses them for a fresh work directory, no job run: name ->
    snakemake's Rule, with the conda env and the params (those set at parse time) its jobs get."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.enums import Quietness
    from snakemake.settings.types import (
        ConfigSettings,
        OutputSettings,
        ResourceSettings,
    )

    make_workdir(workdir, config)
    with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
        parsed = api.workflow(ResourceSettings(), ConfigSettings(configfiles=[workdir / "config.yaml"]),
                              snakefile=ROOT / "Snakefile", workdir=workdir)
        return {rule.name: rule for rule in parsed._workflow.rules}  # the API has no public accessor
