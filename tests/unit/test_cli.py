"""The `ragft` command line: what it asks for and how it names a corpus that is not configured."""

import json
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


def _results(root: Path, accuracy: list[float], recall: dict[str, float], manifest: dict | None = None) -> Path:
    (root / "report").mkdir(parents=True)
    (root / "retrieval").mkdir()
    rows = "\n".join(f"{s},80,{a},0.5" for s, a in zip(["base", "rag", "ft"], accuracy))
    (root / "report" / "comparison.csv").write_text(f"system,n,accuracy,f1\n{rows}\n")
    (root / "retrieval" / "metrics.json").write_text(json.dumps({r: {"recall@1": v, "n": 80} for r, v in recall.items()}))
    if manifest:
        (root / "qa").mkdir()
        (root / "qa" / "split_manifest.json").write_text(json.dumps(manifest))
    return root


def test_validate_writes_the_markdown_report_and_csv(tmp_path, capsys):
    gold = _results(tmp_path / "demo", [0.1, 0.8, 0.3], {"dense": 0.6, "bm25": 0.9})
    generated = _results(tmp_path / "demo_generated", [0.1, 0.2, 0.3], {"dense": 0.7, "bm25": 0.95},
                         {"source": "generated", "generator": {"kept": 500, "candidates": 900, "method": "cloze"}})
    out = tmp_path / "validation.md"
    assert main(["validate", str(gold), str(generated), "--out", str(out), "--csv", str(tmp_path / "csv")]) == 0
    assert capsys.readouterr().out == ""
    text = " ".join(out.read_text().split())
    assert f"generated: {generated} (80 eval questions; generated questions: 500 kept of 900 candidates; cloze)" in text
    assert "| accuracy | 0.100 / 0.100 | 0.800 / 0.200 | 0.300 / 0.300 |" in text
    # base < ft < rag on gold, base < rag < ft on generated: one swapped pair of three
    assert "| system | accuracy | 3 | 0.333 | 1.000 | |" in text
    assert "| system | f1 | 3 | - | - | undefined: all gold values equal |" in text
    assert "| retriever | recall@1 | 2 | 1.000 | 1.000 | |" in text
    assert "| system | accuracy | rag | ft | 0.500 | -0.100 |" in text
    assert sorted(p.name for p in (tmp_path / "csv").iterdir()) == [
        "agreement.csv", "discordant.csv", "retrievers.csv", "systems.csv", "ties.csv"]
    assert (tmp_path / "csv" / "discordant.csv").read_text().splitlines() == [
        "kind,metric,better on gold,better on generated,gold difference,generated difference",
        "system,accuracy,rag,ft,0.5,-0.1"]
    assert main(["validate", str(gold), str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ragft validate: ") and "nope/report/comparison.csv" in err
