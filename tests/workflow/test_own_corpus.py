"""The README's own-corpus command, as a new user runs it: `make run CONFIG=my.yaml` with a copy of
config/my_corpus.yaml pointing at a folder of PDFs and no questions, to a comparison table."""

import random
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from unit.ingest.docgen import make_pdf
from workdirs import ROOT, offline_env

pytestmark = pytest.mark.workflow
VENV = Path(sys.executable).parent.parent  # the environment these tests run in (make test's .venv)
PLACES = ["Dunmore", "Ashby Vale", "Kelder", "Brannock", "Westfold", "Orrin Cross", "Talmy", "Fenwick"]
CROPS = ["Korvell Amber", "Sable Russet", "Mirren Gold", "Tarn Pippin", "Lowen Crisp", "Ardle Red"]


def fact_pages(seed: int, pages: int = 2, per_page: int = 12) -> list[list[str]]:
    """Pages of one-line facts, each with a number and its unit that a cloze question can blank."""
    rng = random.Random(seed)
    lines = []
    for _ in range(pages * per_page):
        crop, place = rng.choice(CROPS), rng.choice(PLACES)
        lines.append(rng.choice([
            f"The {crop} orchard near {place} yields {rng.randint(8, 40)} tonnes of fruit per hectare.",
            f"Growers of {crop} in {place} prune their trees to a height of {rng.randint(2, 5)} metres.",
            f"The cooperative store at {place} keeps {crop} apples at {rng.randint(1, 4)} degrees for winter.",
        ]))
    return [lines[i:i + per_page] for i in range(0, len(lines), per_page)]


def make(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """make in the checkout, with the environment the tests run in as its .venv (never reinstalled)."""
    installed = str(VENV / ".installed")
    return subprocess.run(["make", "-o", installed, *args, f"VENV={VENV}"], cwd=cwd, capture_output=True, text=True,
                          timeout=3600, env=offline_env(cwd / "network.log") if cwd != ROOT else None)


def test_make_run_without_a_config_says_what_to_do():
    proc = make("run")
    assert proc.returncode != 0
    assert "make run needs your config file: cp config/my_corpus.yaml my.yaml" in proc.stderr


def test_make_run_on_a_folder_of_pdfs_writes_the_comparison(tmp_path):
    work = tmp_path / "work"
    for name, seed in (("harvest.pdf", 1), ("storage.pdf", 2)):
        (work / "pdfs").mkdir(parents=True, exist_ok=True)
        (work / "pdfs" / name).write_bytes(make_pdf(fact_pages(seed)))
    config = yaml.safe_load((ROOT / "config" / "my_corpus.yaml").read_text())
    config["corpora"]["mydocs"]["source"] = "pdfs/"  # the one line a user edits
    # fast: the workflow's own tiny model, a few training steps, short chunks for more questions
    config["model"] = {"base": "builtin:tiny", "max_new_tokens": 8, "tiny": {"steps": 30, "batch_size": 16,
                                                                            "eval_examples": 20}}
    config["finetune"]["recipes"]["qlora"].update(max_steps=4, batch_size=4, log_every=2, save_every=4)
    config["chunk"] = {"size": 32, "overlap": 8}
    config["embed"] = {"backend": "torch"}
    config["report"] = {"bootstrap": 200}
    (work / "my.yaml").write_text(yaml.safe_dump(config, sort_keys=False))

    proc = make("-C", str(ROOT), "run", f"CONFIG={work / 'my.yaml'}", "CORES=2", f"ARGS=--directory {work}", cwd=work)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    log = proc.stdout + proc.stderr
    # before the first job, the estimate for this machine, with what it was computed from
    assert "ragft estimate (this machine, 2 cores): ~" in log
    pdf_bytes = sum(f.stat().st_size for f in (work / "pdfs").iterdir())  # small text-only PDFs: a character a byte
    assert f"  documents   mydocs: 2 files: 2 pdf ({pdf_bytes / 1024:.1f} KB, 4 pages); ~{pdf_bytes:,} characters" in log
    assert "  evaluation  mydocs: " in log and "5 jobs to run" in log
    assert "gemm_4bit_forward" not in log and "Loading faiss" not in log  # harmless notices, silenced
    table = (work / "results/mydocs/report/comparison.md").read_text()
    rows = [line.split("|")[1].strip() for line in table.splitlines() if line.startswith("| ")][1:]
    assert rows == ["base", "fewshot", "rag", "ft", "rag_ft"]
    manifest = yaml.safe_load((work / "results/mydocs/qa/split_manifest.json").read_text())
    assert manifest["source"] == "generated" and manifest["generator"]["method"] == "cloze"
    assert "generated questions" in table
    assert (work / "network.log").read_text() == ""  # offline, as a first run must be
