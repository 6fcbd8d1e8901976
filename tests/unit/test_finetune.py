import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from ragft.finetune.checkpoints import (
    COMPLETE,
    latest_checkpoint,
    prepare_checkpoints,
    run_fingerprint,
)
from ragft.finetune.collate import Collator, EpochSampler
from ragft.finetune.data_report import contamination, data_report, format_data_report
from ragft.finetune.examples import build_train_data
from ragft.finetune.synthetic import check_pair, parse_qa_pairs, synthetic_qa
from ragft.finetune.trainer import Preempted, load_for_training, train
from ragft.models.batches import pack, pack_lengths, scored_loss
from ragft.models.load import load_tokenizer

CHUNKS = [{"id": f"d{i}.md#0000", "doc_id": f"d{i}.md", "text": f"The sowing window of Variety{i} is early May."} for i in range(6)]
QUESTIONS = [{"id": f"q{i}", "question": f"What is the sowing window of Variety{i}?", "answers": ["early May"],
              "doc_ids": [f"d{i}.md"]} for i in range(4)]
RECIPE = {"quantization": "nf4", "r": 4, "alpha": 8, "dropout": 0.0, "target_modules": "all-linear", "lr": 0.01,
          "scheduler": "constant", "warmup_ratio": 0.0, "epochs": 1, "max_steps": 6, "batch_size": 2, "grad_accum": 1,
          "max_length": 64, "log_every": 2, "save_every": 3}


def build(builders, **kw):
    return build_train_data(CHUNKS, QUESTIONS, builders, seed=kw.pop("seed", 0), **kw)


# -- builders -----------------------------------------------------------------------------------

def test_builders_weights_and_order():
    data, stats = build({"chunks": {"weight": 2}, "qa": {"weight": 1}}, seed=1)
    assert len(data) == 2 * 6 + 4
    assert {e["builder"] for e in data} == {"chunks", "qa"}
    assert data == build({"chunks": {"weight": 2}, "qa": {"weight": 1}}, seed=1)[0]
    assert stats == {"format_errors": {"chunks": {}, "questions": {}}}
    qa = next(e for e in data if e["id"] == "qa:q0")
    assert (qa["prompt"], qa["completion"]) == ("Question: What is the sowing window of Variety0?\nAnswer:", " early May\n")
    assert build({"qa": {"enabled": False}, "chunks": {}})[0][0]["builder"] == "chunks"
    with pytest.raises(ValueError, match="unknown builder"):
        build({"raft": {}})


def test_format_errors_are_counted_and_dropped():
    chunks = CHUNKS + [{"id": "bad.md#0000", "doc_id": "bad.md", "text": "  "}, {"text": "no id"}]
    questions = QUESTIONS + [{"id": "qx", "question": "Why?", "answers": []}, {"id": "qy", "question": "", "answers": ["a"]}]
    data, stats = build_train_data(chunks, questions, {"chunks": {}, "qa": {}}, seed=0)
    assert stats["format_errors"] == {"chunks": {"empty_text": 1, "missing_id": 1}, "questions": {"empty_question": 1, "no_answer": 1}}
    assert len(data) == 6 + 4


def test_qa_builders_refuse_eval_questions():
    with pytest.raises(ValueError, match=r"1 training question\(s\) are eval questions \(q2\)"):
        build({"qa": {}}, eval_ids={"q2", "e9"})


def test_chat_template_wraps_qa_prompts(tiny_model_dir):
    tok = load_tokenizer(tiny_model_dir)
    tok.chat_template = "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}\n{% endfor %}<|assistant|>"
    data, _ = build({"qa": {"chat_template": True}}, tokenizer=tok)
    qa = next(e for e in data if e["id"] == "qa:q1")
    assert qa["prompt"] == "<|user|>Question: What is the sowing window of Variety1?\nAnswer:\n<|assistant|>"
    assert qa["completion"] == "early May"  # the collator ends it with the end-of-turn (eos) token
    plain, _ = build({"qa": {"chat_template": False}}, tokenizer=tok)
    assert next(e for e in plain if e["id"] == "qa:q1")["prompt"].startswith("Question:")


def test_retrieval_builder_mixes_gold_and_distractors_raft_style():
    hits = [[("d1.md#0000", 0.9), ("d0.md#0000", 0.5), ("d2.md#0000", 0.4)]] + [[("d5.md#0000", 0.3)] for _ in QUESTIONS[1:]]
    data, stats = build({"retrieval": {"k": 2, "gold_fraction": 1.0}}, hits=hits)
    ex = next(e for e in data if e["id"] == "retrieval:q0")
    # the gold chunk takes a seeded place among the distractors
    assert ex["prompt"] == ("Context:\nThe sowing window of Variety1 is early May.\n\nThe sowing window of Variety0 is early May."
                            "\n\nQuestion: What is the sowing window of Variety0?\nAnswer:")
    assert ex["completion"] == " early May\n" and len(data) == len(QUESTIONS)
    # q1 retrieved only a distractor: its gold chunk comes from its doc
    assert next(e for e in data if e["id"] == "retrieval:q1")["prompt"].startswith(
        "Context:\nThe sowing window of Variety1 is early May.\n\nThe sowing window of Variety5 is early May.")
    assert stats["retrieval"] == {"with_gold": 4, "without_gold": 0, "no_gold_chunk": 0}
    data, stats = build({"retrieval": {"k": 2, "gold_fraction": 0.0}}, hits=hits)
    ex = next(e for e in data if e["id"] == "retrieval:q0")
    assert ex["prompt"].startswith("Context:\nThe sowing window of Variety1 is early May.\n\nThe sowing window of Variety2 is early May.")
    assert stats["retrieval"] == {"with_gold": 0, "without_gold": 4, "no_gold_chunk": 0}
    data, stats = build({"retrieval": {"k": 1, "gold_fraction": 0.5}}, hits=hits, seed=3)
    assert stats["retrieval"] == {"with_gold": 3, "without_gold": 1, "no_gold_chunk": 0}
    orphan = {"id": "q9", "question": "When is Variety7 harvested?", "answers": ["late June"], "doc_ids": ["d7.md"]}
    data, stats = build_train_data(CHUNKS, [orphan], {"retrieval": {"k": 2}}, seed=0, hits=[[("d5.md#0000", 0.3)]])
    assert stats["retrieval"] == {"with_gold": 0, "without_gold": 1, "no_gold_chunk": 1}
    assert data[0]["prompt"].startswith("Context:\nThe sowing window of Variety5 is early May.\n\nQuestion: When")


# -- synthetic QA -------------------------------------------------------------------------------

def test_parse_qa_pairs_good_and_malformed():
    assert parse_qa_pairs("Question: When is Variety3 sown?\nAnswer: early May\n\nQuestion: Who bred it?\nAnswer: the Vell Institute") == [
        ("When is Variety3 sown?", "early May"), ("Who bred it?", "the Vell Institute")]
    assert parse_qa_pairs("1. Q: What colour is the leaf? A: dark green") == [("What colour is the leaf?", "dark green")]
    assert parse_qa_pairs("question:Why?  answer: because") == [("Why?", "because")]
    assert parse_qa_pairs("Question: When?\nIt is sown in May.\nAnswer: May") == []
    assert parse_qa_pairs("Answer: May\nQuestion: dangling") == []
    assert parse_qa_pairs("the the the of of") == []
    assert parse_qa_pairs("Question: What?\nAnswer:") == [("What?", "")]
    text = "The sowing window of Variety3 is early May."
    assert check_pair("When is Variety3 sown?", "early May.", text) is None
    assert check_pair("When is Variety3 sown?", "late June", text) == "answer_not_in_chunk"
    assert check_pair("What?", " ", text) == "empty"


def test_synthetic_qa_keeps_span_answers_and_counts_the_rest(monkeypatch):
    import ragft.models.generate

    canned = [" What is the sowing window of Variety0?\nAnswer: early May",
              "early early the of",
              " Q1?\nAnswer: late June\nQuestion: What is the sowing window of Variety0?\nAnswer: early May"]
    monkeypatch.setattr(ragft.models.generate, "generate_answers", lambda model, tok, texts, **kw: canned[: len(texts)])
    records, stats = synthetic_qa(CHUNKS[:3], None, None, {"max_chunks": 0}, seed=0)
    assert stats == {"chunks": 3, "generations": 3, "pairs": 3, "kept": 1,
                     "dropped": {"no_pair": 1, "empty": 0, "answer_not_in_chunk": 1, "duplicate": 1}}
    assert records == [{"id": "d0.md#0000#q0", "question": "What is the sowing window of Variety0?", "answers": ["early May"],
                        "doc_ids": ["d0.md"], "meta": {"chunk_id": "d0.md#0000"}}]
    data, _ = build({"synthetic": {}}, synthetic=records)
    assert [(e["id"], e["builder"], e["completion"]) for e in data] == [("synthetic:d0.md#0000#q0", "synthetic", " early May\n")]


def test_synthetic_qa_on_tiny_model_never_crashes(tiny_model_dir):
    from ragft.models.load import load_causal_lm

    spec = {"max_chunks": 4, "max_new_tokens": 24, "batch_size": 4}
    records, stats = synthetic_qa(CHUNKS, load_causal_lm(tiny_model_dir), load_tokenizer(tiny_model_dir), spec, seed=0)
    assert stats["chunks"] == stats["generations"] == 4
    dropped = stats["dropped"]
    assert stats["pairs"] == stats["kept"] + dropped["empty"] + dropped["answer_not_in_chunk"] + dropped["duplicate"]
    assert stats["kept"] == len(records) and dropped["no_pair"] <= 4
    assert all(r["answers"][0] in next(c["text"] for c in CHUNKS if c["id"] == r["meta"]["chunk_id"]) for r in records)


# -- contamination and data report ---------------------------------------------------------------

EVAL = [
    {"id": "e1", "question": "What is the sowing window of Variety9?", "answers": ["late June"]},
    {"id": "e2", "question": "Which pest attacks the leaves of Variety3 in a wet spring and how do growers control it?",
     "answers": ["the katal rust, with copper sprays"]},
    {"id": "e3", "question": "Who bred Variety4?", "answers": ["the Vell Institute"]},
]


def test_planted_contamination_is_found_with_its_exact_id():
    planted = CHUNKS + [
        {"id": "d9.md#0001", "doc_id": "d9.md", "text": "Growers often ask: What is the sowing window of Variety9? It is late June."},
        {"id": "d3.md#0002", "doc_id": "d3.md", "text": "We note the leaves of Variety3 in a wet spring and how do growers control it, too."},
        # 12 words of e2 only: below the 13-gram, not contamination
        {"id": "d3.md#0003", "doc_id": "d3.md", "text": "leaves of Variety3 in a wet spring and how do growers control"},
    ]
    data, _ = build_train_data(planted, QUESTIONS, {"chunks": {}, "qa": {}}, seed=0)
    rep = contamination(EVAL, data, n=13)
    assert rep["contaminated_ids"] == ["e1", "e2"] and rep["contaminated"] == 2 and rep["eval_questions"] == 3
    assert rep["matches"] == {"e1": ["chunk:d9.md#0001"], "e2": ["chunk:d3.md#0002"]}
    assert rep["by_field"] == {"question": 2, "answer": 0}
    assert rep["train_ids"] == ["chunk:d3.md#0002", "chunk:d9.md#0001"]
    clean, _ = build({"chunks": {}, "qa": {}})
    assert contamination(EVAL, clean, n=13)["contaminated_ids"] == []


def test_data_report_counts_tokens_and_estimates(tiny_model_dir):
    tok = load_tokenizer(tiny_model_dir)
    chunks = CHUNKS + [{"id": "bad.md#0000", "text": ""}]
    data, stats = build_train_data(chunks, QUESTIONS, {"chunks": {}, "qa": {}}, seed=0)
    recipe = {**RECIPE, "max_steps": 0, "epochs": 2, "max_length": 12}
    rep = data_report(data, tok, recipe, stats, contamination(EVAL, data), n_params=1000, flops=1e6)
    chunk_len = [len(tok(c["text"] + "\n")["input_ids"]) + 1 for c in CHUNKS]
    assert rep["examples"] == 10 and rep["per_builder"] == {"chunks": 6, "qa": 4}
    assert rep["format_errors"] == {"chunks": {"empty_text": 1}, "questions": {}}
    cs = rep["token_stats"]["chunks"]
    assert cs["examples"] == 6 and cs["tokens"] == sum(min(n, 12) for n in chunk_len)
    assert cs["truncated"] == sum(n > 12 for n in chunk_len) and cs["max_tokens"] <= 12
    assert cs["scored_tokens"] == cs["tokens"] - 6  # every chunk token but the first is scored
    assert rep["estimate"]["steps"] == 10 and rep["estimate"]["examples"] == 20
    assert rep["estimate"]["seconds_at_matmul_peak"] == round(4 * 1000 * rep["estimate"]["train_tokens"] / 1e6, 1)
    assert rep["decontamination"]["contaminated"] == 0 and "train_ids" not in rep["decontamination"]
    text = format_data_report(rep)
    assert "training data: 10 examples" in text and "format errors: chunks.empty_text 1" in text


# -- batches ------------------------------------------------------------------------------------

def test_collator_masks_prompt_first_token_and_padding(tiny_model_dir):
    tok = load_tokenizer(tiny_model_dir)
    collate = Collator(tok, max_length=64)
    batch = collate([{"prompt": "Question: Q?\nAnswer:", "completion": " yes\n"}, {"prompt": "", "completion": "a b c d e f g h\n"}])
    n_answer = len(tok(" yes\n", add_special_tokens=False)["input_ids"]) + 1  # + eos
    labels = batch["labels"][0]
    assert int((labels != -100).sum()) == n_answer
    assert labels[int(batch["attention_mask"][0].sum()) - 1].item() == tok.eos_token_id
    assert int((batch["labels"][1] != -100).sum()) == int(batch["attention_mask"][1].sum()) - 1


def test_packing_keeps_examples_apart(tiny_model_dir):
    from transformers import AutoModelForCausalLM

    tok = load_tokenizer(tiny_model_dir)
    collate = Collator(tok, max_length=64)
    examples = [{"prompt": "Question: What is the sowing window?\nAnswer:", "completion": " early May\n"},
                {"prompt": "", "completion": "The sowing window of Variety1 is early May.\n"},
                {"prompt": "Q?", "completion": " yes\n"}]
    encoded = [collate.encode(e) for e in examples]
    sizes = [len(x) for x, _ in encoded]
    assert pack_lengths(sizes, 64) == [sizes]
    rows = pack(encoded, 64)
    assert len(rows) == 1 and rows[0]["position_ids"] == [p for n in sizes for p in range(n)]
    assert rows[0]["labels"][sizes[0]] == -100  # the second example's first token is not predicted from the first
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    unpacked = scored_loss(model, collate(examples))
    assert torch.allclose(scored_loss(model, collate(rows)), unpacked, atol=1e-6)
    assert torch.allclose(unpacked, model(**collate(examples)).loss, atol=1e-6)
    two = pack(encoded, sizes[0] + sizes[1] - 1)
    assert [len(r["input_ids"]) for r in two] == [sizes[0], sizes[1] + sizes[2]]
    assert torch.allclose(scored_loss(model, collate(two)), unpacked, atol=1e-6)


def test_epoch_sampler_is_seeded_per_epoch_and_groups_lengths():
    grouped = EpochSampler(list(range(1, 33)), batch_size=4, seed=0)
    order = list(grouped)  # lengths 1..32 (index i has length i + 1): one run of 16 batches, sorted, batches shuffled
    batches = [sorted(order[i : i + 4]) for i in range(0, 32, 4)]
    assert all(b == list(range(b[0], b[0] + 4)) and b[0] % 4 == 0 for b in batches)
    assert [b[0] for b in batches] != sorted(b[0] for b in batches) and order == list(grouped)
    grouped.set_epoch(1)
    assert list(grouped) != order
    plain = EpochSampler(list(range(1, 33)), batch_size=4, seed=0, group_by_length=False)
    first = list(plain)
    assert sorted(first) == list(range(32)) and first == list(plain)
    plain.set_epoch(1)
    assert list(plain) != first


# -- training -----------------------------------------------------------------------------------

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
    # a rerun finds the complete checkpoint and resumes from it instead of starting over
    again = train(tiny_model_dir, data, RECIPE, tmp_path / "a2", tmp_path / "l2.jsonl", out["ckpt"], seed=0)
    assert again["resumed_from"].endswith("checkpoint-6")
    assert [json.loads(x)["step"] for x in (tmp_path / "l2.jsonl").read_text().splitlines()] == [2, 4, 6]


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
    assert said[0] == f"starting from adapter {tmp_path / 'first'} (its own rank and target modules)"
    assert said[1].startswith("packed 10 examples into ") and said[1].endswith(" rows of at most 64 tokens")


def test_latest_checkpoint_ignores_incomplete(tmp_path):
    (tmp_path / "checkpoint-10").mkdir()
    (tmp_path / "checkpoint-10" / "trainer_state.json").write_text("{")  # killed while written
    (tmp_path / "checkpoint-5").mkdir()
    (tmp_path / "checkpoint-5" / COMPLETE).write_text("5\n")
    assert Path(latest_checkpoint(tmp_path)).name == "checkpoint-5"
    assert latest_checkpoint(tmp_path / "none") is None


def test_checkpoints_of_another_run_and_incomplete_ones_are_discarded(tmp_path):
    ckpt = tmp_path / "ckpt"
    prepare_checkpoints(ckpt, "run-a", log=lambda m: None)
    (ckpt / "checkpoint-5").mkdir()
    (ckpt / "checkpoint-5" / COMPLETE).write_text("5\n")
    (ckpt / "checkpoint-10").mkdir()
    said = []
    prepare_checkpoints(ckpt, "run-a", log=said.append)
    assert latest_checkpoint(ckpt).endswith("checkpoint-5")          # same run: kept for resuming
    assert not (ckpt / "checkpoint-10").exists() and said == [f"{ckpt / 'checkpoint-10'}: incomplete checkpoint (interrupted while written); removed"]
    said = []
    prepare_checkpoints(ckpt, "run-b", log=said.append)
    assert latest_checkpoint(ckpt) is None and "different run" in said[0]
    assert (ckpt / "run_fingerprint.txt").read_text() == "run-b\n"


def test_fingerprint_changes_with_data_recipe_and_seed(tiny_model_dir):
    data = [{"id": "a", "prompt": "", "completion": "x"}]
    f = run_fingerprint(tiny_model_dir, data, RECIPE, 0)
    assert f == run_fingerprint(tiny_model_dir, data, RECIPE, 0)
    assert f != run_fingerprint(tiny_model_dir, data + data, RECIPE, 0)
    assert f != run_fingerprint(tiny_model_dir, data, {**RECIPE, "r": 8}, 0)
    assert f != run_fingerprint(tiny_model_dir, data, RECIPE, 1)


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
    data, _ = build({"chunks": {}, "qa": {}, "retrieval": {"k": 2}}, hits=[[(c["id"], 1.0) for c in CHUNKS[:3]]] * 4)
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


def test_loss_curve_png(tmp_path):
    import matplotlib.image

    from ragft.report import plots

    rows = [{"step": s, "loss": 5.0 - 0.1 * s, "learning_rate": 0.002, "tokens": 100 * s} for s in range(10, 110, 10)]
    plots.loss_curve(rows, tmp_path / "loss.png", title="qlora")
    assert (tmp_path / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert matplotlib.image.imread(tmp_path / "loss.png").shape[:2] == (675, 1050)  # 7 x 4.5 in at 150 dpi
    plots.loss_curve([], tmp_path / "empty.png", title="qlora")  # a run too short to log still gets a figure
    assert (tmp_path / "empty.png").stat().st_size > 0


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
