"""`embed.backend: auto`: the fastest installed embedding backend on this machine, measured.

On a GPU it is torch, without measuring: onnx and openvino are CPU paths here (openvino and int8
models always run on the CPU, and the `[onnx]` extra installs ONNX Runtime's CPU build). On a CPU
each installed candidate (torch; onnx when onnxruntime and optimum.onnxruntime import; openvino
when openvino and optimum.intel import; with `quantize: int8` only onnx and openvino, quantised)
encodes the same sample of the corpus's own texts after one warm-up batch, and the most texts per
second wins. Backends give vectors that differ in their last digits, so the choice is made once per
corpus (rule `embed_backend`), every shard embeds with it, and the cache key and the index's
meta.json record the resolved backend. The choice is cached by model, quantisation, device, CPU
model, threads, batch size and candidates in `<cache>/backends/`, so reruns and other corpora
reuse it without measuring again.
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from filelock import FileLock

from ragft.jsonl import write_json
from ragft.retrieval.embed import Embedder, model_digest, text_key
from ragft.retrieval.export import BACKENDS, installed

SAMPLE_TEXTS = 256  # texts each candidate encodes while timed: a few seconds each on one core


def candidates(quantize: str) -> list[str]:
    """The installed backends that can embed at `quantize` (int8: onnx and openvino only)."""
    return [b for b in BACKENDS if installed(b) and not (quantize == "int8" and b == "torch")]


def cpu_name() -> str:
    """The CPU's model name (/proc/cpuinfo), else what the platform says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def target_device(device: str | None) -> str:
    """cuda or cpu: `embed.device`, with auto (or None) meaning cuda when torch sees a GPU."""
    if device in (None, "auto"):
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def sample_texts(texts: Sequence[str], n: int = SAMPLE_TEXTS) -> list[str]:
    """Up to `n` distinct texts, the first by the sha256 of the text: a spread of lengths, and the
    same sample for the same set of texts."""
    return sorted(set(texts), key=text_key)[:n]


def measure_rate(embedder: Embedder, texts: Sequence[str]) -> float:
    """Texts per second of embedding `texts` as passages, after one warm-up batch (which also
    loads, and if need be exports, the model)."""
    embedder.encode(list(texts[: embedder.batch_size]))
    start = time.perf_counter()
    embedder.encode(list(texts))
    return len(texts) / max(time.perf_counter() - start, 1e-9)


def choose_backend(spec: str, texts: Sequence[str], quantize: str = "none", device: str | None = None,
                   cache_dir: str | Path | None = None, batch_size: int = 64, passage_prompt: str | None = None,
                   measure: Callable[[Embedder, Sequence[str]], float] = measure_rate, log=None) -> dict:
    """The backend `auto` stands for: `backend`, the `device` it was chosen for, the `reason`, each
    candidate's measured `rates` (texts/s), and whether the choice was `reused` from the cache.
    `measure(embedder, sample)` times one candidate (injectable, for tests)."""
    say = log or (lambda _msg: None)
    device = target_device(device)
    if device == "cuda" and quantize == "none":
        choice = {"backend": "torch", "device": "cuda", "quantize": quantize, "rates": {},
                  "reason": "cuda: torch (onnx and openvino are CPU paths here)", "reused": False}
        say(f"embed.backend auto: torch ({choice['reason']})")
        return choice
    import torch

    names = candidates(quantize)
    if not names:
        raise RuntimeError("embed.quantize int8 needs the onnx or openvino backend: pip install -e '.[onnx]'")
    key = {"sha256": model_digest(spec), "quantize": quantize, "device": "cpu", "cpu": cpu_name(),
           "threads": torch.get_num_threads(), "batch_size": batch_size, "candidates": names}

    def measure_all() -> dict:
        sample = sample_texts(texts)
        rates, errors = {}, {}
        for name in names:
            embedder = Embedder(spec, name, quantize, batch_size, "cpu", cache_dir, passage_prompt=passage_prompt)
            try:
                rates[name] = round(float(measure(embedder, sample)), 1)
            except Exception as err:  # noqa: BLE001 - a broken optional backend is no candidate
                errors[name] = f"{type(err).__name__}: {err}"
            say(f"embed.backend auto: {name} {rates.get(name, errors.get(name))} texts/s")
        if not rates:
            raise RuntimeError(f"embed.backend auto: no backend could embed ({errors})")
        best = max(rates, key=lambda b: (rates[b], -names.index(b)))
        reason = f"cpu: the most texts/s of {', '.join(rates)} on {len(sample)} of the corpus's texts"
        return {"backend": best, "reason": reason, "rates": rates, "sample_texts": len(sample),
                **({"errors": errors} if errors else {}), **key}

    choice = _cached(Path(cache_dir) / "backends" if cache_dir else None, key, measure_all)
    say(f"embed.backend auto: {choice['backend']} ({choice['reason']}{', chosen before' if choice['reused'] else ''}); "
        + ", ".join(f"{b} {r} texts/s" for b, r in choice["rates"].items()))
    return choice


def _cached(folder: Path | None, key: dict, compute: Callable[[], dict]) -> dict:
    """`compute()`, or what it gave before for `key` in `folder`; one process at a time computes,
    under a file lock, so that jobs started together measure once and agree."""
    if folder is None:
        return {**compute(), "reused": False}
    name = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]
    path = folder / f"{name}.json"
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(folder / f"{name}.lock"):
        if path.is_file():
            return {**json.loads(path.read_text()), "reused": True}
        choice = compute()
        write_json(path, choice)
    return {**choice, "reused": False}
