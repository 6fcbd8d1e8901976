"""Safety: weights load from safetensors only, pickles only with weights_only=True, no remote code
unless configured, and neither a corpus name nor a document id can make the workflow write
outside results/."""

import re
import shutil
from pathlib import Path

import pytest
import torch
import yaml
from workdirs import parsed_rules, tiny_config

from ragft.config import ConfigError, check
from ragft.finetune.trainer import train
from ragft.ingest.run import run_ingest
from ragft.jsonl import read_jsonl, write_jsonl
from ragft.models.load import load_causal_lm, load_tokenizer
from ragft.models.specs import minilm_path
from ragft.retrieval.chunk import chunk_docs

ROOT = Path(__file__).resolve().parents[2]
CODE = sorted([*ROOT.glob("src/ragft/**/*.py"), *ROOT.glob("scripts/*.py"), *ROOT.glob("rules/*.smk"), ROOT / "Snakefile"])
SCHEMA = ROOT / "config" / "config.schema.yaml"


def test_no_unsafe_loading_in_the_code():
    assert ROOT / "src/ragft/finetune/trainer.py" in CODE and ROOT / "src/ragft/models/load.py" in CODE  # every package
    for path in CODE:
        text = path.read_text()
        for call in re.findall(r"torch\.load\([^)]*\)", text):
            assert "weights_only=True" in call, f"{path.name}: {call}"
        assert "trust_remote_code=True" not in text, path.name
        assert not re.search(r"\bpickle\.loads?\(|allow_pickle=True|use_safetensors=False", text), path.name


def test_trust_remote_code_is_off_unless_configured(tiny_model_dir, tmp_path, monkeypatch):
    schema = yaml.safe_load(SCHEMA.read_text())
    assert schema["properties"]["model"]["properties"]["trust_remote_code"]["default"] is False
    assert yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["model"]["trust_remote_code"] is False

    def handed(rules):  # what the rules that load a causal LM hand their scripts, as Snakemake parsed them
        return {"finetune": rules["finetune"].params.trust_remote_code, "judge": rules["judge"].params.trust_remote_code,
                "evaluate": rules["evaluate"].params.generation["trust_remote_code"]}

    config = tiny_config()
    assert "trust_remote_code" not in config["model"]  # the schema's default
    assert handed(parsed_rules(tmp_path / "default", config)) == {"finetune": False, "judge": False, "evaluate": False}
    config["model"]["trust_remote_code"] = True
    assert handed(parsed_rules(tmp_path / "on", config)) == {"finetune": True, "judge": True, "evaluate": True}

    # ... and the loaders hand it on to transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    asked = []
    for cls in (AutoModelForCausalLM, AutoTokenizer):
        def spy(path, *args, _load=cls.from_pretrained, _name=cls.__name__, **kwargs):
            asked.append((_name, kwargs["trust_remote_code"]))
            return _load(path, *args, **kwargs)

        monkeypatch.setattr(cls, "from_pretrained", spy)
    load_causal_lm(tiny_model_dir), load_tokenizer(tiny_model_dir)
    load_causal_lm(tiny_model_dir, trust_remote_code=True), load_tokenizer(tiny_model_dir, trust_remote_code=True)
    assert asked == [("AutoModelForCausalLM", False), ("AutoTokenizer", False),
                     ("AutoModelForCausalLM", True), ("AutoTokenizer", True)]


def test_a_model_without_safetensors_is_refused(tiny_model_dir, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    pickled = tmp_path / "pickled"
    AutoModelForCausalLM.from_pretrained(tiny_model_dir).save_pretrained(pickled, safe_serialization=False)
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(pickled)
    assert (pickled / "pytorch_model.bin").is_file()
    with pytest.raises(FileNotFoundError, match=f"^{re.escape(str(pickled))}: no .safetensors weights; ragft loads "
                                                "weights from safetensors only"):
        load_causal_lm(str(pickled))


def test_resuming_training_unpickles_with_weights_only(tiny_model_dir, tmp_path, monkeypatch):
    recipe = {"quantization": "none", "r": 4, "alpha": 8, "dropout": 0.0, "target_modules": "all-linear", "lr": 0.01,
              "scheduler": "constant", "warmup_ratio": 0.0, "epochs": 1, "max_steps": 2, "batch_size": 2,
              "grad_accum": 1, "max_length": 32, "log_every": 1, "save_every": 1}
    data = [{"id": f"e{i}", "prompt": f"Question {i}?", "completion": f" answer {i}"} for i in range(6)]
    train(tiny_model_dir, data, recipe, tmp_path / "a", tmp_path / "l.jsonl", tmp_path / "c", seed=0)
    shutil.rmtree(tmp_path / "c" / "checkpoint-2")  # as if killed after step 1: the rerun trains step 2
    calls, real = [], torch.load

    def recording(*args, **kwargs):
        calls.append((kwargs.get("weights_only"), kwargs.get("pickle_module")))
        return real(*args, **kwargs)

    monkeypatch.setattr(torch, "load", recording)
    summary = train(tiny_model_dir, data, recipe, tmp_path / "b", tmp_path / "l2.jsonl", tmp_path / "c", seed=0)
    assert summary["resumed_from"].endswith("checkpoint-1") and summary["steps"] == 2
    # optimizer, scheduler and random states: each unpickled with weights_only, explicit or torch's
    # default (True for torch.load without a pickle_module, unless an environment variable forces it off)
    assert len(calls) >= 3 and all(w is not False and module is None for w, module in calls)
    assert torch.serialization._default_to_weights_only(None) is True


def test_a_corpus_name_cannot_leave_results():
    config = {"corpora": {"../../etc": {"source": "x", "qa": "y"}}}
    with pytest.raises(ConfigError, match=r"^config key 'corpora': '\.\./\.\./etc' does not match"):
        check(config, SCHEMA)


def test_document_ids_are_never_paths(tmp_path):
    """Ids that look like paths out of the results folder become record fields, never files."""
    corpus, out = tmp_path / "corpus", tmp_path / "work" / "results" / "c"
    corpus.mkdir()
    records = [{"id": "../../../../escaped", "text": "The Korvell apple ripens late on the northern terraces. " * 3},
               {"id": "/tmp/absolute", "text": "Ambertal wheat needs light soil and copper in May against rust. " * 3}]
    write_jsonl(corpus / "evil.jsonl", records, sort_key=None)
    run_ingest([str(corpus)], out / "docs.jsonl", out / "rejected.jsonl", out / "manifest.json", threads=2)
    docs = read_jsonl(out / "docs.jsonl")
    assert sorted(d["id"] for d in docs) == ["evil.jsonl:../../../../escaped", "evil.jsonl:/tmp/absolute"]
    from transformers import AutoTokenizer

    chunks = chunk_docs(docs, AutoTokenizer.from_pretrained(minilm_path()), 32, 8)
    write_jsonl(out / "chunks.jsonl", chunks, sort_key=None)
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert written == ["corpus/evil.jsonl", "work/results/c/chunks.jsonl", "work/results/c/docs.jsonl",
                       "work/results/c/manifest.json", "work/results/c/rejected.jsonl"]
    assert not Path("/tmp/absolute").exists()
