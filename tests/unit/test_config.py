import copy
import re
from pathlib import Path

import pytest
import yaml

from ragft.config import ConfigError, check, qa_file, recipe_defaults, schema_defaults

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "config" / "config.schema.yaml"


@pytest.fixture
def config(monkeypatch):
    monkeypatch.chdir(ROOT)
    return yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


def test_demo_config_is_valid(config):
    check(config, SCHEMA)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda c: c["retrieval"].update(k=0), "config key 'retrieval.k': 0 is less than the minimum of 1"),
        (lambda c: c["chunk"].update(strategy="pages"), "config key 'chunk.strategy': 'pages' is not one of ['sentences', 'tokens', 'markdown']"),
        (lambda c: c["systems"]["rag"].update(retriever="rerank"), "config key 'systems.rag.retriever': rerank needs retrieval.reranker.model"),
        (lambda c: c["embed"].update(backend="torch", quantize="int8"), "config key 'embed.quantize': int8 needs embed.backend onnx, openvino or auto"),
        (lambda c: c["embed"].update(query_prompt=3), "config key 'embed.query_prompt': 3 is not of type 'string', 'null'"),
        (lambda c: c["index"].update(factory=7), "config key 'index.factory': 7 is not of type 'string'"),
        (lambda c: c["retrieval"]["hybrid"].update(metric="map"), "config key 'retrieval.hybrid.metric': 'map' does not match"),
        (lambda c: c.update(retreival={"k": 3}), "config key 'retreival': unknown key"),
        (lambda c: c["systems"]["ft"].update(adapter="qlroa"), "config key 'systems.ft.adapter': 'qlroa' is not a recipe"),
        (lambda c: c["corpora"]["demo"].update(source="no/such/dir"), "config key 'corpora.demo.source': 'no/such/dir' matches no file"),
        (lambda c: c["chunk"].update(overlap=64), "config key 'chunk.overlap': 64 must be smaller than chunk.size (64)"),
        (lambda c: c["corpora"].update({"../x": c["corpora"]["demo"]}), "config key 'corpora': '../x' does not match"),
        (lambda c: c["clean"].update(near_dup_threshold=1.5), "config key 'clean.near_dup_threshold': 1.5 is greater than the maximum of 1"),
        (lambda c: c["clean"].update(max_symbol_ratio="high"), "config key 'clean.max_symbol_ratio': 'high' is not of type 'number'"),
        (lambda c: c["corpora"]["demo"].update(jsonl_fields={"body": "text"}), "config key 'corpora.demo.jsonl_fields.body': unknown key"),
    ],
)
def test_a_mistake_is_one_line_naming_the_key(config, edit, message):
    bad = copy.deepcopy(config)
    edit(bad)
    with pytest.raises(ConfigError) as err:
        check(bad, SCHEMA)
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_recipe_defaults_come_from_the_schema():
    d = recipe_defaults(SCHEMA)
    assert (d["quantization"], d["r"], d["alpha"], d["target_modules"], d["max_steps"]) == ("nf4", 16, 32, "all-linear", 0)


def test_qa_may_be_left_out_or_generate(config, tmp_path):
    from ragft.config import qa_file

    bench = tmp_path / "bench.json"
    bench.write_text('{"data": []}')
    squad = copy.deepcopy(config)
    squad["corpora"] = {"bench": {"source": str(bench)}}
    check(squad, SCHEMA)
    assert qa_file(squad["corpora"]["bench"]) == str(bench)  # a SQuAD file's own questions
    folder = copy.deepcopy(config)
    del folder["corpora"]["demo"]["qa"]
    check(folder, SCHEMA)  # a folder of documents: its questions are generated
    assert qa_file(folder["corpora"]["demo"]) is None
    folder["corpora"]["demo"]["qa"] = "generate"
    check(folder, SCHEMA)
    assert qa_file(folder["corpora"]["demo"]) is None
    assert qa_file({"source": "data/*.json"}) is None  # a glob is not one SQuAD file
    assert qa_file(config["corpora"]["demo"]) == "resources/demo/qa.jsonl"
    folder["corpora"]["demo"]["qa"] = "no/such/qa.jsonl"
    with pytest.raises(ConfigError, match="config key 'corpora.demo.qa': 'no/such/qa.jsonl' is not a file"):
        check(folder, SCHEMA)


def test_qa_generate_keys_are_checked_and_defaulted(config):
    assert schema_defaults("qa.generate") == {"method": "cloze", "model": "builtin:smollm2", "questions": 500, "per_chunk": 1,
                                              "min_words": 6, "max_words": 40, "max_bare_share": 0.05,
                                              "max_candidates": 0, "round_trip_f1": 0.4,
                                              "max_new_tokens": 40, "batch_size": 16, "template": None}
    assert config["qa"]["generate"] == {"method": "cloze", "questions": 500, "per_chunk": 1, "min_words": 6,
                                        "max_words": 40}  # the demo's choice
    bad = copy.deepcopy(config)
    bad["qa"]["generate"]["method"] = "gpt"
    with pytest.raises(ConfigError, match=r"config key 'qa.generate.method': 'gpt' is not one of \['llm', 'cloze'\]"):
        check(bad, SCHEMA)
    bad["qa"]["generate"]["method"] = "llm"
    bad["qa"]["generate"]["model"] = "builtin:giant"
    with pytest.raises(ConfigError, match="qa.generate.model"):
        check(bad, SCHEMA)


def test_a_config_of_only_corpora_gets_the_five_systems_and_a_cpu_sized_recipe(tmp_path, monkeypatch):
    from ragft.ask import load_config

    monkeypatch.chdir(ROOT)
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump({"corpora": {"mydocs": {"source": "resources/demo/corpus/pests"}}}))
    config = load_config(path, SCHEMA)
    assert config["systems"] == {"base": {"retriever": "none", "adapter": "none", "shots": 0},
                                 "fewshot": {"retriever": "none", "adapter": "none", "shots": 3},
                                 "rag": {"retriever": "hybrid", "adapter": "none", "shots": 0},
                                 "ft": {"retriever": "none", "adapter": "qlora", "shots": 0},
                                 "rag_ft": {"retriever": "hybrid", "adapter": "qlora", "shots": 0}}
    # the demo's recipe, minutes on a CPU: 24 steps of 8 x 256 tokens, on closed-book and RAFT-style QA
    qlora = {**recipe_defaults(SCHEMA), **config["finetune"]["recipes"]["qlora"]}
    assert list(config["finetune"]["recipes"]) == ["qlora"]
    assert (qlora["quantization"], qlora["max_steps"], qlora["batch_size"], qlora["max_length"], qlora["lr"],
            qlora["log_every"], qlora["save_every"]) == ("nf4", 24, 8, 256, 0.0005, 4, 8)
    demo = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    same = {k: v for k, v in demo["finetune"]["recipes"]["qlora"].items() if k != "epochs"}  # ignored with max_steps
    assert {k: qlora[k] for k in same} == same
    assert {b: spec["enabled"] for b, spec in config["finetune"]["data"].items()} == {
        "chunks": False, "qa": True, "retrieval": True}
    assert config["qa"]["generate"]["method"] == "cloze"  # questions in seconds on a CPU; llm on a GPU
    # systems of one's own that name the default recipe need no finetune section
    check({"corpora": {"mydocs": {"source": "resources/demo/corpus"}}, "systems": {"ft": {"adapter": "qlora"}}}, SCHEMA)


def test_the_starting_config_is_the_schemas_defaults_spelled_out(monkeypatch):
    from snakemake.utils import validate

    monkeypatch.chdir(ROOT)
    mine = yaml.safe_load((ROOT / "config" / "my_corpus.yaml").read_text())
    assert mine["corpora"] == {"mydocs": {"source": "path/to/pdfs/"}}
    with pytest.raises(ConfigError, match="config key 'corpora.mydocs.source': 'path/to/pdfs/' matches no file"):
        check(mine, SCHEMA)
    mine["corpora"]["mydocs"]["source"] = "resources/demo/corpus"
    check(mine, SCHEMA)
    bare = {"corpora": mine["corpora"]}
    validate(mine, str(SCHEMA))
    validate(bare, str(SCHEMA))
    assert mine == bare


def test_clean_defaults_come_from_the_schema():
    from ragft.ingest.run import make_options

    opts = make_options()
    assert (opts.min_chars, opts.max_symbol_ratio, opts.max_repeated_lines, opts.max_file_mb, opts.near_dup_threshold,
            opts.near_dup_num_perm, opts.near_dup_ngram) == (50, 0.3, 0.3, 256, 0.8, 128, 5)
    assert make_options(min_chars=10).min_chars == 10
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    assert config["clean"] == schema_defaults("clean")


def test_code_defaults_are_the_schema_defaults():
    assert schema_defaults("finetune.data.retrieval") == {"enabled": False, "weight": 1, "k": 2, "gold_fraction": 0.8}
    assert schema_defaults("finetune.recipes.*") == recipe_defaults(SCHEMA)
    assert schema_defaults("model")["stop"] == ["\n"] and schema_defaults("model")["max_new_tokens"] == 40

AGXQA_SAMPLE = ROOT.parent / "shared" / "data" / "agxqa" / "agxqa_sample.json"


@pytest.mark.parametrize("name, base, corpora", [
    ("demo", "config.yaml", {"demo": {"source": "resources/demo/corpus", "qa": "resources/demo/qa.jsonl"},
                             "demo_generated": {"source": "resources/demo/corpus", "qa": "generate"}}),
    ("agxqa", "agxqa_demo.yaml", {"agxqa": {"source": "../shared/data/agxqa/agxqa_sample.json"},
                                  "agxqa_generated": {"source": "../shared/data/agxqa/agxqa_sample.json", "qa": "generate"}}),
])
def test_validation_configs_are_their_base_with_the_corpus_twice(monkeypatch, name, base, corpora):
    from ragft.config import schema_errors

    monkeypatch.chdir(ROOT)
    config = yaml.safe_load((ROOT / "config" / "validation" / f"{name}.yaml").read_text())
    assert schema_errors(config, SCHEMA) == []
    if name == "demo" or AGXQA_SAMPLE.is_file():  # the sources' files too, where they are on this machine
        check(config, SCHEMA)
    assert config["corpora"] == corpora
    assert config["qa"]["generate"]["method"] == "cloze"
    original = yaml.safe_load((ROOT / "config" / base).read_text())
    assert {k: v for k, v in config.items() if k != "corpora"} == {k: v for k, v in original.items() if k != "corpora"}


def test_qa_review_names_marked_sheets_outside_results(config, tmp_path, monkeypatch):
    from ragft.config import review_files

    marked = tmp_path / "marked.csv"
    marked.write_text("corpus,id,verdict\n")
    assert review_files(config) == [] and schema_defaults("qa")["review"] is None
    good = copy.deepcopy(config)
    good["qa"]["review"] = str(marked)
    check(good, SCHEMA)
    assert review_files(good) == [str(marked)]
    good["qa"]["review"] = [str(marked), str(marked)]
    check(good, SCHEMA)
    assert review_files(good) == [str(marked)] * 2
    for value, message in [(3, "config key 'qa.review': 3 is not valid under any of the given schemas"),
                           ("no/such.csv", "config key 'qa.review': 'no/such.csv' is not a file")]:
        bad = copy.deepcopy(config)
        bad["qa"]["review"] = value
        with pytest.raises(ConfigError, match=re.escape(message)):
            check(bad, SCHEMA)
    # the workflow's own sheet: split_qa would need what follows it, so a copy is asked for
    sheet = tmp_path / "results/demo/report/questions_review.csv"
    sheet.parent.mkdir(parents=True)
    sheet.write_text("corpus,id,verdict\n")
    own = copy.deepcopy(config)
    own["corpora"]["demo"] = {"source": str(marked)}
    monkeypatch.chdir(tmp_path)
    for path in ("results/demo/report/questions_review.csv", str(sheet)):
        own["qa"]["review"] = [str(marked), path]
        with pytest.raises(ConfigError, match=f"config key 'qa.review': {re.escape(repr(path))} is the sheet the workflow writes"):
            check(own, SCHEMA)


def test_no_system_is_named_like_a_review_sheet_column(config):
    bad = copy.deepcopy(config)
    bad["systems"]["source"] = bad["systems"]["rag"]
    with pytest.raises(ConfigError, match="config key 'systems.source': 'source' is a column of the review sheet"):
        check(bad, SCHEMA)


def test_the_documents_only_config_is_the_demo_without_its_questions(monkeypatch):
    monkeypatch.chdir(ROOT)
    config = yaml.safe_load((ROOT / "config" / "documents_only.yaml").read_text())
    check(config, SCHEMA)
    assert config["corpora"] == {"demo_docs": {"source": "resources/demo/corpus"}}
    assert qa_file(config["corpora"]["demo_docs"]) is None  # its questions are generated
    original = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    assert {k: v for k, v in config.items() if k != "corpora"} == {k: v for k, v in original.items() if k != "corpora"}
