"""Loading models for inference: causal LMs with their tokenizers (an adapter merged in), and
sentence-transformers embedders. Safetensors only; `trust_remote_code` stays off unless configured.
"""

from __future__ import annotations

from ragft.models.specs import require_safetensors, resolve


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
