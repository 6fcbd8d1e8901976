"""The `ragft` command line: what it asks for and how it names a corpus that is not configured."""

from pathlib import Path

import pytest

from ragft.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_cli_asks_for_a_system_when_several(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    with pytest.raises(SystemExit, match="choose --system among: base, fewshot, rag"):
        main(["ask", "--corpus", "demo", "--configfile", "config/config.yaml", "What?"])
    assert main(["ask", "--corpus", "nope", "--system", "base", "--directory", str(ROOT), "What?"]) == 2
    assert "corpus 'nope' is not configured (corpora: demo)" in capsys.readouterr().err
