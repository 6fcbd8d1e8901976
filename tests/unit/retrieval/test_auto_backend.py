"""`embed.backend: auto`: on a CPU each installed backend is timed on the same sample of the texts
and the fastest wins; on a GPU torch, untimed; a choice is cached per machine and reused."""

import json

import pytest

from ragft.retrieval import auto_backend
from ragft.retrieval.auto_backend import candidates, choose_backend, sample_texts
from ragft.retrieval.export import installed

TEXTS = [f"Variety {i} is sown in week {i % 9} and harvested {i % 5} months later." for i in range(300)]


class FixedRates:
    """A `measure` that gives each backend a fixed rate and records what it timed, on which sample."""

    def __init__(self, rates):
        self.rates, self.timed = rates, []

    def __call__(self, embedder, sample):
        self.timed.append((embedder.backend, embedder.quantize, embedder.device, tuple(sample)))
        return self.rates[embedder.backend]


@pytest.fixture
def on_cpu(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.fixture
def all_installed(monkeypatch):
    monkeypatch.setattr(auto_backend, "installed", lambda backend: True)


def test_on_cpu_every_installed_backend_is_timed_on_one_sample_and_the_fastest_wins(on_cpu, all_installed):
    measure = FixedRates({"torch": 40.0, "onnx": 61.25, "openvino": 55.0})
    choice = choose_backend("builtin:minilm", TEXTS, measure=measure)
    assert (choice["backend"], choice["device"], choice["reused"]) == ("onnx", "cpu", False)
    assert choice["rates"] == {"torch": 40.0, "onnx": 61.2, "openvino": 55.0}
    assert [(b, q, d) for b, q, d, _ in measure.timed] == [("torch", "none", "cpu"), ("onnx", "none", "cpu"),
                                                          ("openvino", "none", "cpu")]
    samples = {s for *_, s in measure.timed}
    assert len(samples) == 1 and len(next(iter(samples))) == 256  # the same 256 texts for each
    assert list(next(iter(samples))) == sample_texts(list(reversed(TEXTS)))  # whatever the order of the texts
    measure = FixedRates({"torch": 70.0, "onnx": 61.0, "openvino": 70.0})
    assert choose_backend("builtin:minilm", TEXTS, measure=measure)["backend"] == "torch"  # a tie: the first


def test_only_installed_backends_are_timed_and_int8_leaves_torch_out(on_cpu, monkeypatch):
    monkeypatch.setattr(auto_backend, "installed", lambda backend: backend != "openvino")
    measure = FixedRates({"torch": 80.0, "onnx": 30.0})
    assert choose_backend("builtin:minilm", TEXTS, measure=measure)["rates"] == {"torch": 80.0, "onnx": 30.0}
    measure = FixedRates({"torch": 80.0, "onnx": 30.0})
    choice = choose_backend("builtin:minilm", TEXTS, quantize="int8", measure=measure)
    assert (choice["backend"], choice["rates"], measure.timed[0][1]) == ("onnx", {"onnx": 30.0}, "int8")
    monkeypatch.setattr(auto_backend, "installed", lambda backend: backend == "torch")
    with pytest.raises(RuntimeError, match="int8 needs the onnx or openvino backend"):
        choose_backend("builtin:minilm", TEXTS, quantize="int8", measure=measure)


def test_a_backend_that_fails_is_recorded_and_passed_over(on_cpu, all_installed):
    def measure(embedder, sample):
        if embedder.backend == "onnx":
            raise RuntimeError("no such provider")
        return {"torch": 20.0, "openvino": 25.0}[embedder.backend]

    choice = choose_backend("builtin:minilm", TEXTS, measure=measure)
    assert (choice["backend"], choice["rates"]) == ("openvino", {"torch": 20.0, "openvino": 25.0})
    assert choice["errors"] == {"onnx": "RuntimeError: no such provider"}


def test_on_a_gpu_torch_is_chosen_without_timing(monkeypatch, all_installed):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)

    def measure(embedder, sample):
        raise AssertionError("timed on a GPU")

    choice = choose_backend("builtin:minilm", TEXTS, measure=measure)
    assert (choice["backend"], choice["device"], choice["rates"]) == ("torch", "cuda", {})
    # a configured cpu device is timed even on a machine with a GPU
    assert choose_backend("builtin:minilm", TEXTS, device="cpu", measure=FixedRates(
        {"torch": 1.0, "onnx": 3.0, "openvino": 2.0}))["backend"] == "onnx"


def test_a_cached_choice_is_reused_without_timing(on_cpu, all_installed, tmp_path):
    first = choose_backend("builtin:minilm", TEXTS, cache_dir=tmp_path,
                           measure=FixedRates({"torch": 10.0, "onnx": 12.0, "openvino": 11.0}))
    saved = list((tmp_path / "backends").glob("*.json"))
    assert len(saved) == 1 and json.loads(saved[0].read_text())["backend"] == "onnx"
    never = FixedRates({})  # KeyError if anything were timed
    again = choose_backend("builtin:minilm", TEXTS[:50], cache_dir=tmp_path, measure=never)
    assert never.timed == [] and again == {**first, "reused": True}
    # another quantisation (or model, CPU, thread count) is a machine-and-model pair of its own
    int8 = choose_backend("builtin:minilm", TEXTS, "int8", cache_dir=tmp_path,
                          measure=FixedRates({"onnx": 9.0, "openvino": 14.0}))
    assert (int8["backend"], int8["reused"]) == ("openvino", False)
    assert len(list((tmp_path / "backends").glob("*.json"))) == 2


def test_auto_on_minilm_times_the_installed_backends_for_real(on_cpu, tmp_path):
    choice = choose_backend("builtin:minilm", TEXTS[:24], cache_dir=tmp_path, batch_size=8)
    assert sorted(choice["rates"]) == sorted(candidates("none")) == sorted(b for b in ("torch", "onnx", "openvino")
                                                                          if installed(b))
    assert choice["backend"] == max(choice["rates"], key=choice["rates"].get)
    assert all(rate > 0 for rate in choice["rates"].values()) and choice["sample_texts"] == 24
