from pathlib import Path

import pytest
import yaml

from ragft.ask import format_result, load_config
from ragft.config import ConfigError

ROOT = Path(__file__).resolve().parents[2]
RESULT = {
    "corpus": "demo", "system": "rag", "question": "What is the soil pH range of Ithmar District?", "answer": "6.7 to 7.9",
    "sources": [{"rank": 1, "chunk_id": "bulletins.jsonl:b001#0005", "doc_id": "bulletins.jsonl:b001", "score": 0.917712,
                 "text": "The soil pH range of Ithmar District is\\n6.7 to 7.9."}],
    "prompt_tokens": 196, "truncated_tokens": 0, "seconds": 2.237,
}


def test_format_result_prints_answer_and_scored_sources():
    assert format_result(RESULT) == (
        "Answer: 6.7 to 7.9\n"
        "\n"
        "Sources (demo / rag, 1 retrieved, best first):\n"
        "  1. score 0.9177  bulletins.jsonl:b001#0005  (doc bulletins.jsonl:b001)\n"
        "     The soil pH range of Ithmar District is\\n6.7 to 7.9.\n"
        "\n"
        "(196 prompt tokens; 2.24 s)\n"
    )
    closed = format_result({**RESULT, "system": "base", "sources": [], "answer": "", "truncated_tokens": 12})
    assert "Answer: (empty)" in closed and "none, this system answers closed book" in closed
    assert "(196 prompt tokens, 12 cut to fit the window; 2.24 s)" in closed


def test_load_config_fills_schema_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"corpora": {"demo": {"source": "resources/demo/corpus", "qa": "resources/demo/qa.jsonl"}}}))
    config = load_config(path)
    assert list(config["systems"]) == ["base", "fewshot", "rag", "ft", "rag_ft"]
    assert config["systems"]["base"] == {"retriever": "none", "adapter": "none", "shots": 0}
    assert config["model"]["stop"] == ["\n"] and config["model"]["chat_template"] == "auto"
    assert config["report"]["references"] == ["base", "rag"] and config["report"]["judge"]["model"] is None
    path.write_text(yaml.safe_dump({"corpora": {"demo": {"source": "resources/demo/corpus", "qa": "resources/demo/qa.jsonl"}},
                                    "report": {"judge": {"model": "https://api.example.com/v1"}}}))
    with pytest.raises(ConfigError, match="report.judge.model.*not a local model directory"):
        load_config(path)
