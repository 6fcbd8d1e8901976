"""(Q)LoRA training: adapters saved as safetensors, resuming from complete checkpoints after a kill or
SIGTERM, the last step's checkpoint restored without training further, starting from an adapter,
packing, gradient accumulation equal to one large batch (several devices too); and a CUDA step
where there is a GPU."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

from ragft.config import recipe_defaults
from ragft.finetune.checkpoints import COMPLETE, latest_checkpoint
from ragft.finetune.collate import Collator
from ragft.finetune.trainer import (
    Preempted,
    encode_dataset,
    load_for_training,
    make_trainer,
    train,
)
from ragft.models.batches import scored_loss
from ragft.models.load import load_tokenizer

from .common import CHUNKS, RECIPE, build


def test_qlora_trains_on_4bit_base_saves_safetensors_and_resumes(tiny_model_dir, tmp_path):
    import bitsandbytes as bnb

    model = load_for_training(tiny_model_dir, RECIPE)
    assert any(isinstance(m, bnb.nn.Linear4bit) for m in model.modules())
    data, _ = build({"chunks": {}, "qa": {}})
    out = {k: tmp_path / k for k in ("adapter", "log.jsonl", "ckpt", "tb")}
    summary = train(tiny_model_dir, data, RECIPE, out["adapter"], out["log.jsonl"], out["ckpt"], seed=0,
                             tensorboard_dir=out["tb"])
    assert summary["steps"] == 6 and summary["resumed_from"] is None and summary["train_tokens"] > 0
    assert summary["device"] == "cpu" and summary["tokens_per_s"] > 0
    assert (out["adapter"] / "adapter_model.safetensors").is_file()
    rows = [json.loads(x) for x in out["log.jsonl"].read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 4, 6]
    assert set(rows[0]) == {"step", "loss", "learning_rate", "tokens", "tokens_per_s", "peak_memory_mb"}
    assert rows[-1]["tokens"] == summary["train_tokens"] and rows[0]["tokens_per_s"] > 0
    assert [p.name.startswith("events.out.tfevents") for p in out["tb"].iterdir()] == [True]
    assert latest_checkpoint(out["ckpt"]).endswith("checkpoint-6")
    # a rerun finds the complete checkpoint and resumes from it instead of starting over; it is the
    # last step's, so nothing more is trained (the Trainer alone would take a 7th step after it)
    said = []
    again = train(tiny_model_dir, data, RECIPE, tmp_path / "a2", tmp_path / "l2.jsonl", out["ckpt"], seed=0, log=said.append)
    assert again["resumed_from"].endswith("checkpoint-6") and again["steps"] == 6
    assert again["train_tokens"] == summary["train_tokens"]
    assert any("is the last step's checkpoint: nothing left to train" in s for s in said)
    assert [json.loads(x)["step"] for x in (tmp_path / "l2.jsonl").read_text().splitlines()] == [2, 4, 6]
    first, second = (load_file(d / "adapter_model.safetensors") for d in (out["adapter"], tmp_path / "a2"))
    assert set(first) == set(second) and all(torch.equal(first[k], second[k]) for k in first)


def test_lora_recipe_packs_and_continues_from_an_adapter(tiny_model_dir, tmp_path):
    import bitsandbytes as bnb

    data, _ = build({"chunks": {}, "qa": {}})
    train(tiny_model_dir, data, {**RECIPE, "max_steps": 2}, tmp_path / "first", tmp_path / "l1.jsonl", tmp_path / "c1", seed=0)
    lora = {**RECIPE, "quantization": "none", "r": 8, "max_steps": 2, "packing": True, "init_adapter": str(tmp_path / "first")}
    model = load_for_training(tiny_model_dir, lora)
    assert not any(isinstance(m, bnb.nn.Linear4bit) for m in model.modules())
    saved = load_file(tmp_path / "first" / "adapter_model.safetensors")
    state = {k.replace(".default", ""): v for k, v in model.state_dict().items() if "lora_" in k}
    assert set(saved) == set(state) and all(torch.equal(saved[k], state[k]) for k in saved)
    assert all(p.requires_grad for n, p in model.named_parameters() if "lora_" in n)
    said = []
    summary = train(tiny_model_dir, data, lora, tmp_path / "second", tmp_path / "l2.jsonl", tmp_path / "c2", seed=0, log=said.append)
    assert summary["steps"] == 2
    assert f"starting from adapter {tmp_path / 'first'} (its own rank and target modules)" in said
    packed = [s for s in said if s.startswith("packed 10 examples into ")]
    assert len(packed) == 1 and packed[0].endswith(" rows of at most 64 tokens")


KILLED_RUN = """
import json, sys, time
import torch
from transformers import TrainerCallback
from ragft.finetune.checkpoints import COMPLETE, latest_checkpoint, prepare_checkpoints, run_fingerprint
from ragft.finetune.collate import Collator, EpochSampler
from ragft.finetune.trainer import Preempted, load_for_training, train
from ragft.finetune.examples import build_train_data
from ragft.finetune.synthetic import check_pair, parse_qa_pairs, synthetic_qa
from ragft.finetune.data_report import contamination, data_report, format_data_report
from ragft.models.batches import pack, pack_lengths, scored_loss

class Slow(TrainerCallback):  # room to kill it between checkpoints
    def on_step_end(self, args, state, control, **kwargs):
        time.sleep(0.6)

a = json.load(open(sys.argv[1]))
torch.set_num_threads(a["threads"])  # as the reference run's, so that sums add up in the same order
train(a["base"], a["data"], a["recipe"], a["adapter"], a["log"], a["ckpt"], a["seed"], callbacks=[Slow()])
"""


def test_killed_run_resumes_to_the_adapter_of_an_uninterrupted_one(tiny_model_dir, tmp_path):
    # prompts fitted to max_length as the data rule fits them (the retrieval ones lose a chunk)
    data, _ = build({"chunks": {}, "qa": {}, "retrieval": {"enabled": True, "k": 2, "gold_fraction": 1.0}},
                    hits=[[(c["id"], 1.0) for c in CHUNKS[:3]]] * 4, tokenizer=load_tokenizer(tiny_model_dir),
                    max_length=RECIPE["max_length"])
    recipe = {**RECIPE, "dropout": 0.1, "max_steps": 0, "epochs": 2, "save_every": 4, "scheduler": "cosine"}  # 14 steps
    reference = train(tiny_model_dir, data, recipe, tmp_path / "ref", tmp_path / "ref.jsonl", tmp_path / "ref_ckpt", seed=0)
    ckpt = tmp_path / "ckpt"
    args = {"base": tiny_model_dir, "data": data, "recipe": recipe, "adapter": str(tmp_path / "adapter"),
            "log": str(tmp_path / "log.jsonl"), "ckpt": str(ckpt), "seed": 0, "threads": torch.get_num_threads()}
    (tmp_path / "args.json").write_text(json.dumps(args))
    (tmp_path / "run.py").write_text(KILLED_RUN)
    with open(tmp_path / "killed.out", "w") as out:
        proc = subprocess.Popen([sys.executable, str(tmp_path / "run.py"), str(tmp_path / "args.json")], stdout=out,
                                stderr=subprocess.STDOUT, env={**os.environ, "PYTHONDONTWRITEBYTECODE": ""})
        deadline = time.time() + 300
        while not (ckpt / "checkpoint-8" / COMPLETE).is_file():  # in the second epoch (7 steps each)
            assert proc.poll() is None, (tmp_path / "killed.out").read_text()[-3000:]
            assert time.time() < deadline
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert not (tmp_path / "adapter").exists()
    (ckpt / "checkpoint-12").mkdir(exist_ok=True)  # as if killed while writing the next checkpoint
    (ckpt / "checkpoint-12" / "adapter_model.safetensors").write_bytes(b"partial")
    at_kill = load_file(ckpt / "checkpoint-8" / "adapter_model.safetensors")
    said = []
    resumed = train(tiny_model_dir, data, recipe, tmp_path / "adapter", tmp_path / "log.jsonl", ckpt, seed=0, log=said.append)
    assert f"resuming from {ckpt / 'checkpoint-8'}" in said
    assert f"{ckpt / 'checkpoint-12'}: incomplete checkpoint (interrupted while written); removed" in said
    assert resumed["resumed_from"] == str(ckpt / "checkpoint-8") and resumed["steps"] == reference["steps"] == 14
    assert resumed["train_tokens"] == reference["train_tokens"]
    a, b = load_file(tmp_path / "ref" / "adapter_model.safetensors"), load_file(tmp_path / "adapter" / "adapter_model.safetensors")
    assert set(a) == set(b) and all(torch.allclose(a[k], b[k], atol=1e-6, rtol=1e-5) for k in a)
    assert not all(torch.equal(a[k], at_kill[k]) for k in a)  # the resumed run did train further
    ref_rows = [json.loads(x) for x in (tmp_path / "ref.jsonl").read_text().splitlines()]
    rows = [json.loads(x) for x in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [r["step"] for r in ref_rows] == [2, 4, 6, 8, 10, 12, 14]
    # checkpoints fall on logging steps, so every row averages the same steps as the reference's
    assert all(abs(r["loss"] - q["loss"]) < 1e-4 for r, q in zip(rows, ref_rows))


def test_sigterm_saves_a_checkpoint_and_a_rerun_resumes(tiny_model_dir, tmp_path):
    from transformers import TrainerCallback

    class Preempt(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 2:
                os.kill(os.getpid(), signal.SIGTERM)

    data, _ = build({"chunks": {}, "qa": {}})
    recipe = {**RECIPE, "save_every": 100}
    said = []
    with pytest.raises(Preempted, match="stopped by signal SIGTERM at step 3"):
        train(tiny_model_dir, data, recipe, tmp_path / "a", tmp_path / "l.jsonl", tmp_path / "c", seed=0,
                       log=said.append, callbacks=[Preempt()])
    assert said[-1] == "stopped by signal SIGTERM at step 3; checkpoint-3 saved, a rerun resumes"
    assert latest_checkpoint(tmp_path / "c").endswith("checkpoint-3") and not (tmp_path / "a").exists()
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    summary = train(tiny_model_dir, data, recipe, tmp_path / "a", tmp_path / "l.jsonl", tmp_path / "c", seed=0)
    assert summary["resumed_from"].endswith("checkpoint-3") and summary["steps"] == 6


# completions of different lengths, so the two micro-batches of an accumulated step score different numbers of tokens
UNEVEN = [{"prompt": f"Question: When is Variety{i} sown?\nAnswer:", "completion": " early May" + ", after the frost" * i}
          for i in range(4)]


def one_step(model_dir: str, tmp_path, batch: int, accum: int, quantization: str) -> tuple[dict, dict]:
    """The logged row and the adapter after one optimiser step on UNEVEN, as `batch` x `accum`."""
    from transformers import TrainerCallback

    class Keep(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            rows.append(dict(logs))

    rows, out = [], tmp_path / f"{batch}x{accum}"
    recipe = {**RECIPE, "quantization": quantization, "batch_size": batch, "grad_accum": accum, "max_steps": 1,
              "log_every": 1, "group_by_length": False, "dropout": 0.0}
    train(model_dir, UNEVEN, recipe, out / "adapter", out / "log.jsonl", out / "ckpt", seed=0, callbacks=[Keep()])
    return next(r for r in rows if "loss" in r), load_file(out / "adapter" / "adapter_model.safetensors")


@pytest.mark.parametrize("kind", ["llama", "gemma2"])
def test_accumulated_step_equals_one_large_batch(kind, tiny_model_dir, gemma2_dir, tmp_path):
    """2 micro-batches of 2 accumulated give the loss, gradient and update of one batch of 4 (the same
    4 examples in the same order), on the decoder path (Llama, QLoRA) and the full-logits one (Gemma2)."""
    model_dir = tiny_model_dir if kind == "llama" else gemma2_dir
    quantization = "nf4" if kind == "llama" else "none"
    whole, whole_adapter = one_step(model_dir, tmp_path, 4, 1, quantization)
    accumulated, adapter = one_step(model_dir, tmp_path, 2, 2, quantization)
    assert 4.0 < whole["loss"] < 9.0  # about ln(vocabulary): an untrained model
    assert abs(accumulated["loss"] - whole["loss"]) <= 1e-5
    assert accumulated["grad_norm"] == pytest.approx(whole["grad_norm"], rel=1e-4)
    assert set(adapter) == set(whole_adapter)
    assert all(torch.allclose(adapter[k], whole_adapter[k], atol=1e-6, rtol=1e-4) for k in adapter)


def test_devices_sharing_a_step_average_to_the_loss_of_one(tiny_model_dir, tmp_path, monkeypatch):
    """With 2 devices the step's scored-token count spans both and their gradients are averaged: each
    device's loss is scaled so that their mean is the loss of the whole batch on one device."""
    from accelerate import Accelerator

    recipe = {**recipe_defaults(), **RECIPE, "quantization": "none"}
    collator = Collator(load_tokenizer(tiny_model_dir), recipe["max_length"])
    dataset = encode_dataset(collator, UNEVEN, recipe)
    model = load_for_training(tiny_model_dir, recipe)
    trainer, _ = make_trainer(model, dataset, collator, recipe, 0, tmp_path / "ckpt", None)
    whole = scored_loss(model, collator(dataset))
    count = collator(dataset)["labels"].ne(-100).sum()  # as Trainer counts it, gathered over the devices
    monkeypatch.setattr(Accelerator, "num_processes", property(lambda self: 2))
    halves = [trainer.compute_loss(model, collator(dataset[i : i + 2]), num_items_in_batch=count) for i in (0, 2)]
    assert torch.allclose((halves[0] + halves[1]) / 2, whole, atol=1e-6)
    assert not torch.allclose(halves[0], halves[1], atol=1e-3)  # the halves score different token counts


@pytest.mark.gpu
def test_qlora_step_on_cuda(tiny_model_dir, tmp_path):
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    model = load_for_training(tiny_model_dir, RECIPE)
    assert model.get_base_model().config._attn_implementation == "sdpa"
    data, _ = build({"chunks": {}, "qa": {}})
    summary = train(tiny_model_dir, data, {**RECIPE, "max_steps": 1}, tmp_path / "a", tmp_path / "l.jsonl", tmp_path / "c", seed=0)
    assert summary["device"] == "cuda" and summary["steps"] == 1 and summary["peak_memory_mb"] > 0
    assert (tmp_path / "a" / "adapter_model.safetensors").is_file()
