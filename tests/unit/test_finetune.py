import json
from pathlib import Path

import pytest

from ragft import finetune
from ragft.models import load_tokenizer

CHUNKS = [{"id": f"d{i}.md#0000", "text": f"The sowing window of Variety{i} is early May."} for i in range(6)]
QUESTIONS = [{"id": f"q{i}", "question": f"What is the sowing window of Variety{i}?", "answers": ["early May"]} for i in range(4)]
RECIPE = {"quantization": "nf4", "r": 4, "alpha": 8, "dropout": 0.0, "target_modules": "all-linear", "lr": 0.01,
          "scheduler": "constant", "warmup_ratio": 0.0, "epochs": 1, "max_steps": 6, "batch_size": 2, "grad_accum": 1,
          "max_length": 64, "log_every": 2, "save_every": 3}


def test_builders_weights_and_order():
    data = finetune.build_train_data(CHUNKS, QUESTIONS, {"chunks": {"weight": 2}, "qa": {"weight": 1}}, seed=1)
    assert len(data) == 2 * 6 + 4
    assert {e["builder"] for e in data} == {"chunks", "qa"}
    assert data == finetune.build_train_data(CHUNKS, QUESTIONS, {"chunks": {"weight": 2}, "qa": {"weight": 1}}, seed=1)
    qa = next(e for e in data if e["id"] == "qa:q0")
    assert (qa["prompt"], qa["completion"]) == ("Question: What is the sowing window of Variety0?\nAnswer:", " early May\n")
    assert finetune.build_train_data(CHUNKS, QUESTIONS, {"qa": {"enabled": False}, "chunks": {}}, 1)[0]["builder"] == "chunks"
    with pytest.raises(ValueError, match="unknown builder"):
        finetune.build_train_data(CHUNKS, QUESTIONS, {"raft": {}}, seed=1)


def test_collator_masks_prompt_and_padding(tiny_model_dir):
    tok = load_tokenizer(tiny_model_dir)
    collate = finetune.Collator(tok, max_length=64)
    batch = collate([{"prompt": "Question: Q?\nAnswer:", "completion": " yes\n"}, {"prompt": "", "completion": "a b c d e f g h\n"}])
    n_answer = len(tok(" yes\n", add_special_tokens=False)["input_ids"]) + 1  # + eos
    labels = batch["labels"][0]
    assert int((labels != -100).sum()) == n_answer
    assert labels[-1].item() == tok.eos_token_id or labels[int(batch["attention_mask"][0].sum()) - 1].item() == tok.eos_token_id
    assert int((batch["labels"][1] != -100).sum()) == int(batch["attention_mask"][1].sum())


def test_qlora_trains_on_4bit_base_saves_safetensors_and_resumes(tiny_model_dir, tmp_path):
    import bitsandbytes as bnb

    model = finetune.load_for_training(tiny_model_dir, RECIPE)
    assert any(isinstance(m, bnb.nn.Linear4bit) for m in model.modules())
    data = finetune.build_train_data(CHUNKS, QUESTIONS, {"chunks": {}, "qa": {}}, seed=0)
    out = {k: tmp_path / k for k in ("adapter", "log.jsonl", "ckpt")}
    summary = finetune.train(tiny_model_dir, data, RECIPE, out["adapter"], out["log.jsonl"], out["ckpt"], seed=0)
    assert summary["steps"] == 6 and summary["resumed_from"] is None and summary["train_tokens"] > 0
    assert (out["adapter"] / "adapter_model.safetensors").is_file()
    rows = [json.loads(x) for x in out["log.jsonl"].read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 4, 6]
    assert set(rows[0]) == {"step", "loss", "learning_rate", "tokens", "tokens_per_s", "peak_memory_mb"}
    assert finetune.latest_checkpoint(out["ckpt"]).endswith("checkpoint-6")
    # a rerun finds the complete checkpoint and resumes from it instead of starting over
    again = finetune.train(tiny_model_dir, data, RECIPE, tmp_path / "a2", tmp_path / "l2.jsonl", out["ckpt"], seed=0)
    assert again["resumed_from"].endswith("checkpoint-6")


def test_latest_checkpoint_ignores_incomplete(tmp_path):
    (tmp_path / "checkpoint-10").mkdir()
    (tmp_path / "checkpoint-5").mkdir()
    (tmp_path / "checkpoint-5" / "trainer_state.json").write_text("{}")
    assert Path(finetune.latest_checkpoint(tmp_path)).name == "checkpoint-5"
    assert finetune.latest_checkpoint(tmp_path / "none") is None


def test_retrieval_builder_puts_retrieved_chunks_before_the_question():
    hits = [[("d1.md#0000", 0.9), ("d0.md#0000", 0.5)]] + [[] for _ in QUESTIONS[1:]]
    data = finetune.build_train_data(CHUNKS, QUESTIONS, {"retrieval": {"k": 2}}, seed=0, hits=hits)
    ex = next(e for e in data if e["id"] == "retrieval:q0")
    assert ex["prompt"] == ("Context:\nThe sowing window of Variety1 is early May.\n\nThe sowing window of Variety0 is early May."
                            "\n\nQuestion: What is the sowing window of Variety0?\nAnswer:")
    assert ex["completion"] == " early May\n" and len(data) == len(QUESTIONS)


def test_checkpoints_of_another_run_are_discarded(tmp_path):
    ckpt = tmp_path / "ckpt"
    finetune.prepare_checkpoints(ckpt, "run-a", log=lambda m: None)
    (ckpt / "checkpoint-5").mkdir()
    (ckpt / "checkpoint-5" / "trainer_state.json").write_text("{}")
    finetune.prepare_checkpoints(ckpt, "run-a", log=lambda m: None)
    assert finetune.latest_checkpoint(ckpt) is not None          # same run: kept for resuming
    said = []
    finetune.prepare_checkpoints(ckpt, "run-b", log=said.append)
    assert finetune.latest_checkpoint(ckpt) is None and "different run" in said[0]
    assert (ckpt / "run_fingerprint.txt").read_text() == "run-b\n"


def test_fingerprint_changes_with_data_recipe_and_seed(tiny_model_dir):
    data = [{"id": "a", "prompt": "", "completion": "x"}]
    f = finetune.run_fingerprint(tiny_model_dir, data, RECIPE, 0)
    assert f == finetune.run_fingerprint(tiny_model_dir, data, RECIPE, 0)
    assert f != finetune.run_fingerprint(tiny_model_dir, data + data, RECIPE, 0)
    assert f != finetune.run_fingerprint(tiny_model_dir, data, {**RECIPE, "r": 8}, 0)
    assert f != finetune.run_fingerprint(tiny_model_dir, data, RECIPE, 1)
