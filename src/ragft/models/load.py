"""Loading models: causal LMs with their tokenizers, and sentence-transformers embedders.
Safetensors only; `trust_remote_code` stays off unless configured.

A causal LM loads straight onto its device(s): on CUDA with `device_map` (a model larger than one
GPU spreads over all visible ones), so host memory stays well below the model's size. A fine-tuned
adapter is evaluated on the base it was trained on: a QLoRA adapter on the same 4-bit NF4 base
with the same compute dtype and the same fp32 norms, unmerged, so its logits are bit for bit the
trained model's (`merge=True` merges it into an unquantised base instead: faster, not identical).
"""

from __future__ import annotations

import json
from pathlib import Path

from ragft.models.specs import require_safetensors, resolve

# written into every adapter folder: how its base was loaded for training
BASE_FILE = "ragft_base.json"


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


def resolve_dtype(setting: str = "auto", cuda: bool | None = None):
    """The torch dtype of a setting: `auto` is bfloat16 on a GPU that supports it, float16 on one
    that does not (V100, T4), float32 on a CPU. A half dtype on a CPU is refused for training by
    the Trainer, so only `auto` and float32 are portable."""
    import torch

    cuda = _cuda() if cuda is None else cuda
    if setting == "auto":
        if not cuda:
            return torch.float32
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    try:
        return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[setting]
    except KeyError:
        raise ValueError(f"dtype {setting!r}: expected auto, float32, bfloat16 or float16") from None


def device_map(training: bool = False):
    """Where a model's weights load: nowhere special on a CPU; on CUDA every visible GPU for
    inference (`auto`: one model larger than a GPU spreads over several), this process's GPU for
    training (LOCAL_RANK under torchrun)."""
    import os

    if not _cuda():
        return None
    return {"": int(os.environ.get("LOCAL_RANK", "0"))} if training else "auto"


def load_base(path: str, quantization: str = "none", dtype: str = "auto", trust_remote_code: bool = False,
              training: bool = False):
    """A base causal LM as (Q)LoRA trains on it: `nf4` is 4-bit NF4 with double quantisation,
    computing in `dtype`, its other weights (norms, embeddings) in float32 as peft's
    `prepare_model_for_kbit_training` leaves them; `none` is unquantised in `dtype`."""
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    compute = resolve_dtype(dtype)
    kwargs = {"dtype": compute, "use_safetensors": True, "trust_remote_code": trust_remote_code,
              "device_map": device_map(training)}
    if quantization == "nf4":
        kwargs["quantization_config"] = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                                           bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=compute)
    elif quantization != "none":
        raise ValueError(f"quantization {quantization!r}: expected nf4 or none")
    if _cuda():
        kwargs["attn_implementation"] = "sdpa"
    require_safetensors(path)
    model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    if quantization == "nf4":  # frozen, norms and embeddings in float32: peft's own preparation
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    return model


def write_base_file(adapter_dir: str | Path, quantization: str, dtype: str) -> None:
    """Record in an adapter folder how its base was loaded for training (see `load_causal_lm`)."""
    (Path(adapter_dir) / BASE_FILE).write_text(json.dumps({"quantization": quantization, "dtype": dtype}) + "\n")


def adapter_base(adapter: str | Path) -> dict:
    """How an adapter's base was loaded for training: its `ragft_base.json`, or an unquantised base
    in the default dtype for an adapter trained elsewhere."""
    path = Path(adapter) / BASE_FILE
    return json.loads(path.read_text()) if path.is_file() else {"quantization": "none", "dtype": "auto"}


def load_causal_lm(path: str, adapter: str | None = None, dtype: str = "auto", trust_remote_code: bool = False,
                   merge: bool = False):
    """A causal LM from safetensors for inference, in eval mode. With an adapter: on the base it
    was trained on (its `ragft_base.json`: 4-bit NF4 for QLoRA, in the training dtype), unmerged;
    with `merge`, merged into the base unquantised in `dtype`."""
    require_safetensors(path)
    if adapter is None:
        return load_base(path, "none", dtype, trust_remote_code).eval()
    from peft import PeftModel

    require_safetensors(adapter)
    trained = adapter_base(adapter)
    if merge:
        return PeftModel.from_pretrained(load_base(path, "none", dtype, trust_remote_code), adapter).merge_and_unload().eval()
    base = load_base(path, trained["quantization"], trained["dtype"], trust_remote_code)
    return PeftModel.from_pretrained(base, adapter).eval()


def describe_adapter_load(adapter: str | None, merge: bool = False) -> str | None:
    """How an evaluation ran its adapter: on the base it was trained on (unmerged), merged, or None
    without an adapter; metrics.json and the report say it."""
    if adapter is None:
        return None
    if merge:
        return "merged into the unquantised base"
    return {"nf4": "on the 4-bit NF4 base"}.get(adapter_base(adapter)["quantization"], "on the unquantised base")


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()
