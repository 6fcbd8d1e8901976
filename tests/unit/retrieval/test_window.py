"""chunk.size against the embedder's window: max_seq_length less special tokens and passage prompt."""

import json
import shutil
from pathlib import Path

import pytest
import yaml

from ragft.models.specs import minilm_path
from ragft.retrieval.window import chunk_size_error, max_seq_length, passage_room

ROOT = Path(__file__).resolve().parents[3]


def config(size, model="builtin:minilm", passage_prompt=None):
    return {"chunk": {"size": size, "overlap": 16}, "embed": {"model": model, "passage_prompt": passage_prompt}}


@pytest.fixture
def short_embedder(tmp_path):
    """MiniLM's tokenizer in a model folder that reads 64 tokens and puts "passage: " before chunks."""
    folder = tmp_path / "short"
    folder.mkdir()
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json", "config.json"):
        shutil.copy(Path(minilm_path()) / name, folder / name)
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 64}))
    (folder / "config_sentence_transformers.json").write_text(json.dumps({"prompts": {"passage": "passage: "}}))
    return folder


def test_minilm_reads_254_tokens_of_a_chunk():
    assert passage_room("builtin:minilm") == {"max_seq_length": 256, "special": 2, "prompt": 0, "chunk": 254}
    assert chunk_size_error(config(254)) is None


def test_a_chunk_size_above_the_window_is_one_line_naming_the_key_and_both_numbers():
    message = chunk_size_error(config(512))
    assert message == ("config key 'chunk.size': 512 tokens is more than the embedder builtin:minilm reads of a "
                       "chunk, 254 (its max_seq_length 256 less 2 special tokens); the end of a longer chunk would "
                       "be cut from its vector: set chunk.size to at most 254")
    assert chunk_size_error(config(255)).startswith("config key 'chunk.size': 255 tokens is more than")


def test_the_passage_prompt_takes_its_tokens_from_the_window(short_embedder):
    # 64 - [CLS] [SEP] - "passage" ":" = 60; the model's own prompt counts unless one is configured
    assert passage_room(str(short_embedder))["chunk"] == 60
    assert chunk_size_error(config(60, str(short_embedder))) is None
    assert "less 2 special tokens and 2 of the passage prompt" in chunk_size_error(config(61, str(short_embedder)))
    assert chunk_size_error(config(62, str(short_embedder), passage_prompt="")) is None


def test_without_sentence_bert_config_the_window_is_the_models_and_tokenizers_smaller(short_embedder):
    (short_embedder / "sentence_bert_config.json").unlink()
    (short_embedder / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 128}))
    assert max_seq_length(short_embedder) == 128  # config.json: max_position_embeddings 512
    (short_embedder / "tokenizer_config.json").write_text(json.dumps({}))
    assert max_seq_length(short_embedder) is None


def test_an_embedder_whose_files_are_not_here_is_not_checked():
    assert chunk_size_error(config(512, "nobody/no-such-embedder")) is None


def test_the_demo_and_the_schema_default_fit_builtin_minilm():
    demo = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    schema = yaml.safe_load((ROOT / "config" / "config.schema.yaml").read_text())
    assert chunk_size_error(demo) is None
    assert chunk_size_error(config(schema["properties"]["chunk"]["properties"]["size"]["default"])) is None
