"""The embedding backends: which are installed, and the export of a model to onnx or openvino.

`torch` is sentence-transformers' own model; `onnx` (ONNX Runtime) and `openvino` load a model
exported once into `<cache>/models/` by sentence-transformers' own export: for onnx with the O2
graph fusions, and for int8 ONNX Runtime's dynamic int8 quantisation of the matrix products; for
openvino (int8: 8-bit weight compression). They need the `[onnx]` / `[openvino]` extras.
"""

from __future__ import annotations

import importlib
import os
import shutil
import tempfile
import time
from pathlib import Path

from ragft.jsonl import write_json
from ragft.models.specs import resolve

BACKENDS = ("torch", "onnx", "openvino")
QUANTIZE = ("none", "int8")
RECIPE = 1  # version of the export and quantisation recipe below; part of every cache key
ONNX_FILE = {"none": "onnx/model_O2.onnx", "int8": "onnx/model_O2_qint8.onnx"}
# what each optional backend imports: its runtime and the optimum part sentence-transformers loads it with
NEEDS = {"onnx": ("onnxruntime", "optimum.onnxruntime"), "openvino": ("openvino", "optimum.intel")}


def installed(backend: str) -> bool:
    """Whether a backend's packages import (torch always does: sentence-transformers needs it)."""
    try:
        for module in NEEDS.get(backend, ()):
            importlib.import_module(module)
    except ImportError:
        return False
    return True


def require(backend: str) -> None:
    """Stop with the command that installs a backend's optional packages when they are missing."""
    if not installed(backend):
        raise RuntimeError(f"embed.backend {backend} needs the optional dependencies: pip install -e '.[{backend}]'")


def exported_model(spec: str, backend: str, quantize: str, identity: dict, folder: Path | None) -> Path:
    """The model exported to onnx or openvino in `folder` (a temporary one when None), built once,
    atomically: a folder with `ragft_export.json` (the `identity` and the export's seconds) is done."""
    require(backend)
    out = Path(tempfile.mkdtemp(prefix="ragft-export-")) / "model" if folder is None else folder
    if (out / "ragft_export.json").is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        start = time.time()
        if backend == "onnx":
            _export_onnx(resolve(spec), tmp, quantize == "int8")
        else:
            _export_openvino(resolve(spec), tmp, quantize == "int8")
        write_json(tmp / "ragft_export.json", {**identity, "seconds": round(time.time() - start, 1)})
        try:
            os.replace(tmp, out)
        except OSError:  # another job exported it first
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def load_kwargs(backend: str, quantize: str, device: str | None, threads: int) -> dict:
    """The `model_kwargs` sentence-transformers loads an exported model with, on `threads` threads
    (torch's own count is set with `torch.set_num_threads`), so that every backend uses the cores
    the job was given, not every core of the machine."""
    if backend == "openvino":
        return {"ov_config": {"INFERENCE_NUM_THREADS": threads}}
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    kwargs = {"file_name": ONNX_FILE[quantize], "session_options": options}
    if device == "cpu":
        kwargs["provider"] = "CPUExecutionProvider"
    return kwargs


def _export_onnx(path: str, out: Path, int8: bool) -> None:
    """ONNX export, O2 graph fusions (attention, layer norm, GELU), then optional dynamic int8."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from sentence_transformers import SentenceTransformer, export_optimized_onnx_model

    model = SentenceTransformer(path, device="cpu", backend="onnx",
                                model_kwargs={"provider": "CPUExecutionProvider"})
    model.save_pretrained(str(out))
    export_optimized_onnx_model(model, "O2", str(out))
    if int8:
        # weights per channel, activations per batch; the fused Attention's projections too
        quantize_dynamic(out / ONNX_FILE["none"], out / ONNX_FILE["int8"], weight_type=QuantType.QInt8,
                         per_channel=True, op_types_to_quantize=["MatMul", "Attention"],
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})


def _export_openvino(path: str, out: Path, int8: bool) -> None:
    """OpenVINO IR export; int8 compresses the weights to 8 bits (NNCF, no calibration data)."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(path, device="cpu", backend="openvino", model_kwargs={"load_in_8bit": int8})
    model.save_pretrained(str(out))
