"""A one-node SLURM cluster on localhost for the tests: Debian's slurm-wlm and munge (installed with
apt-get when missing), every file in one temporary folder, nothing under /etc touched.

The settings are those DESIGN.md lists as working on these machines: slurmctld and slurmd on
127.0.0.1, no accounting store (so Snakemake asks squeue, not sacct, for job states), process
tracking by /proc, no task plugin. The node declares at least 4 CPUs, 64 GB and one GPU whatever the
machine has (SlurmdParameters=config_overrides; the GPU is a stand-in, /dev/null): the profile's
requests then fit, and jobs run on the CPU as they would locally. Clients find the cluster through
$SLURM_CONF; inside a job, Snakemake's jobstep plugin drops every SLURM_* variable before its `srun`
(a real cluster's nodes have /etc/slurm/slurm.conf), so `srun` is wrapped, on the PATH of the
cluster's environment, by a two-line script that sets it again. `stop()` cancels the jobs and
stops the three daemons it started, by their process ids.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

PACKAGES = ("slurm-wlm", "munge")
BINARIES = ("slurmctld", "slurmd", "munged", "sbatch", "squeue", "scontrol", "scancel", "sinfo")


def missing_binaries() -> list[str]:
    return [b for b in BINARIES if shutil.which(b) is None and not Path("/usr/sbin", b).exists()]


def install() -> None:
    """apt-get install slurm-wlm and munge (an index update first when the plain install fails)."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES]
    if subprocess.run(cmd, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, check=True)
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"apt-get install {' '.join(PACKAGES)} failed: {proc.stderr[-2000:]}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _binary(name: str) -> str:
    return shutil.which(name) or str(Path("/usr/sbin", name))


class Cluster:
    """slurmctld, slurmd and munged of a one-node cluster rooted at `root`."""

    partition = "debug"

    def __init__(self, root: Path):
        self.root = root
        self.procs: dict[str, subprocess.Popen] = {}
        self.host = socket.gethostname().split(".")[0]
        self.conf = root / "slurm.conf"
        self.env = {**os.environ, "SLURM_CONF": str(self.conf),
                    "PATH": f"{root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}

    # ---- set-up --------------------------------------------------------------------------

    def write_config(self) -> None:
        r = self.root
        for sub in ("munge", "state", "spool", "log", "bin"):
            (r / sub).mkdir(parents=True, exist_ok=True)
        srun = r / "bin" / "srun"
        srun.write_text(f'#!/bin/sh\nSLURM_CONF={self.conf} exec {_binary("srun")} "$@"\n')
        srun.chmod(0o755)
        (r / "munge").chmod(0o700)
        key = r / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        cpus = max(4, os.cpu_count() or 1)
        (r / "gres.conf").write_text(f"NodeName={self.host} Name=gpu File=/dev/null\n")
        self.conf.write_text(f"""\
ClusterName=ragfttest
SlurmctldHost={self.host}(127.0.0.1)
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={r}/munge/munge.sock
StateSaveLocation={r}/state
SlurmdSpoolDir={r}/spool
SlurmctldPidFile={r}/slurmctld.pid
SlurmdPidFile={r}/slurmd.pid
SlurmctldLogFile={r}/log/slurmctld.log
SlurmdLogFile={r}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
MpiDefault=none
ReturnToService=2
JobFileAppend=1
KillWait=20
MinJobAge=600
GresTypes=gpu
NodeName={self.host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory=65536 Gres=gpu:1 State=UNKNOWN
PartitionName={self.partition} Nodes=ALL Default=YES MaxTime=INFINITE State=UP
""")

    def start(self, timeout: float = 60) -> None:
        """Start munged, slurmctld and slurmd in the foreground (as our children) and wait for the node."""
        self.write_config()
        r = self.root
        log = open(r / "log" / "daemons.out", "ab")
        self.procs["munged"] = subprocess.Popen(
            [_binary("munged"), "--foreground", "--force", f"--socket={r}/munge/munge.sock",
             f"--key-file={r}/munge/munge.key", f"--log-file={r}/log/munged.log",
             f"--pid-file={r}/munge/munged.pid", f"--seed-file={r}/munge/munged.seed"],
            stdout=log, stderr=log)
        self._wait(lambda: (r / "munge" / "munge.sock").exists(), timeout, "munged")
        self.procs["slurmctld"] = subprocess.Popen([_binary("slurmctld"), "-D", "-f", str(self.conf)],
                                                   stdout=log, stderr=log, env=self.env)
        self._wait(lambda: self.run("scontrol", "ping").returncode == 0 and "UP" in self.run("scontrol", "ping").stdout,
                   timeout, "slurmctld")
        self.procs["slurmd"] = subprocess.Popen([_binary("slurmd"), "-D", "-f", str(self.conf)],
                                                stdout=log, stderr=log, env=self.env)
        self._wait(lambda: self.run("sinfo", "-h", "-o", "%T").stdout.strip() == "idle", timeout, "slurmd")

    def _wait(self, ready, timeout: float, what: str) -> None:
        deadline = time.time() + timeout
        while not ready():
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}; see {self.root / 'log'}")
            if time.time() > deadline:
                raise RuntimeError(f"{what} not ready after {timeout} s; see {self.root / 'log'}")
            time.sleep(0.5)

    # ---- use -----------------------------------------------------------------------------

    def run(self, *cmd: str) -> subprocess.CompletedProcess:
        """A SLURM client command against this cluster."""
        return subprocess.run([_binary(cmd[0]), *cmd[1:]], capture_output=True, text=True, env=self.env, timeout=60)

    def jobs(self) -> list[dict]:
        """Every job the controller knows (finished ones too): id, state, name, comment, restarts."""
        out = self.run("squeue", "-h", "--states=all", "-o", "%i|%T|%j|%k|%r").stdout
        return [dict(zip(("id", "state", "name", "comment", "reason"), line.split("|"))) for line in out.splitlines() if line]

    def job_info(self, job_id: str) -> dict:
        """`scontrol show job` as a dict (Restarts, JobState, ...)."""
        out = self.run("scontrol", "-o", "show", "job", job_id).stdout
        return dict(field.split("=", 1) for field in out.split() if "=" in field)

    # ---- tear-down ---------------------------------------------------------------------

    def stop(self) -> None:
        """Cancel every job of this cluster, then stop the daemons it started (SIGTERM, then SIGKILL)."""
        if self.procs.get("slurmctld") and self.procs["slurmctld"].poll() is None:
            self.run("scancel", "--user", "root")
            deadline = time.time() + 30
            while time.time() < deadline and any(j["state"] in ("RUNNING", "COMPLETING", "PENDING") for j in self.jobs()):
                time.sleep(1)
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self.procs.get(name)
            if proc is None or proc.poll() is not None:
                continue
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(15)
