"""The workflow tests share one end-to-end run of the tiny config (it takes minutes), session-wide.
Running Snakemake in a work directory and the tiny config are in tests/workdirs.py."""

import pytest


@pytest.fixture(scope="session")
def run(tiny_run):
    """A working directory in which the whole workflow has run on the tiny config: the session's one
    run (tests/conftest.py), which the rerun, fault and SLURM tests share too."""
    return tiny_run
