"""The workflow runs with the model hub switched off (HF_HUB_OFFLINE=1) and every network connection
blocked: the session's tiny run (tests/conftest.py) is made that way, with tests/netguard recording
each attempt, in Snakemake and in every job it starts."""

import subprocess
import sys

import pytest
from workdirs import offline_env

pytestmark = pytest.mark.workflow


def test_the_guard_blocks_and_records_a_connection(tmp_path):
    log = tmp_path / "network.log"
    code = ("import socket, urllib.request\n"
            "for attempt in (lambda: socket.socket().connect(('93.184.215.14', 80)),\n"
            "                lambda: urllib.request.urlopen('https://huggingface.co', timeout=5)):\n"
            "    try:\n        attempt()\n    except OSError as e:\n        print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=offline_env(log)).stdout
    assert out.count("blocked by the ragft offline test") == 2, out
    assert "connect ('93.184.215.14', 80)" in log.read_text() and "getaddrinfo 'huggingface.co'" in log.read_text()


def test_the_tiny_run_attempted_no_network_call(tiny_run):
    log = tiny_run.parent / "network.log"
    assert log.is_file() and log.read_text() == ""
    assert (tiny_run / "results/demo/report/comparison.md").is_file()  # and it ran to the end
