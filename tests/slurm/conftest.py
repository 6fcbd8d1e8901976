"""The one-node SLURM cluster of the SLURM tests, started once per session and always stopped."""

import os
import shutil

import pytest
from cluster import Cluster, install, missing_binaries


def _unavailable() -> str | None:
    """Why a local cluster cannot be started here, or None."""
    if not missing_binaries():
        return None
    if os.geteuid() != 0:
        return f"slurm-wlm/munge are not installed ({', '.join(missing_binaries())} missing) and installing them needs root"
    if shutil.which("apt-get") is None:
        return "slurm-wlm/munge are not installed and there is no apt-get to install them"
    return None


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory):
    """A running one-node cluster (see cluster.py). Off CI the tests skip when it cannot be had; under
    CI=true they fail instead, so that CI always runs them."""
    reason = _unavailable() or (None if os.geteuid() == 0 else "slurmd must run as root")
    if reason:
        (pytest.fail if os.environ.get("CI") else pytest.skip)(reason)
    if missing_binaries():
        install()
    cluster = Cluster(tmp_path_factory.mktemp("slurm"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
