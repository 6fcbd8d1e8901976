"""Each job's cost in the estimate, from concrete inputs (the demo's, measured: see calibration.py)."""

import pytest

from ragft.config import recipe_defaults
from ragft.estimate.jobs import builder_tokens, model_facts, model_jobs, prompt_tokens, training

DEMO_RECIPE = {**recipe_defaults(), "max_steps": 24, "batch_size": 8, "max_length": 256}
DEMO_BUILDERS = {"chunks": {"enabled": False, "weight": 1}, "qa": {"enabled": True, "weight": 1},
                 "retrieval": {"enabled": True, "weight": 1, "k": 1, "gold_fraction": 0.8}}
SMOLLM2 = {"spec": "builtin:smollm2", "params": 134.5e6, "weights_mb": 513.0, "hidden": 576, "layers": 30, "vocab": 49152}


def test_builtin_model_facts_before_it_is_built():
    facts = model_facts("builtin:smollm2")
    assert (round(facts["params"] / 1e6), facts["hidden"], facts["layers"]) == (135, 576, 30)
    assert round(model_facts("no/such-hub-id")["params"] / 1e9) == 8  # a hub id counts as an 8B Llama


def test_training_examples_are_the_demos_lengths():
    # the demo's data report: qa examples 56.9 tokens, retrieval examples 121.3 (one 64-token chunk)
    lengths = builder_tokens(DEMO_BUILDERS, 14, 64)
    assert lengths == {"qa": 58, "retrieval": pytest.approx(128.4)}
    plan = training(DEMO_RECIPE, DEMO_BUILDERS, {"qa": 862, "retrieval": 862}, lengths)
    # 24 steps x 8 rows; the demo trained on 17,105 tokens and its longest row had 148
    assert plan == {"steps": 24, "examples": 1724, "slots": 49_152, "tokens": 17_894, "longest": 160}
    # the recipe defaults: 3 epochs of batches of 16
    epochs = training({**recipe_defaults(), "max_length": 256}, DEMO_BUILDERS, {"qa": 862, "retrieval": 862}, lengths)
    assert (epochs["steps"], epochs["slots"]) == (324, 324 * 16 * 256)
    # a retrieval example with 2 chunks of 128 is longer than max_length: it is fitted to 256
    long = training(DEMO_RECIPE, DEMO_BUILDERS, {"qa": 400, "retrieval": 400}, builder_tokens(
        {**DEMO_BUILDERS, "retrieval": {"enabled": True, "weight": 1, "k": 2}}, 30, 128))
    assert (long["tokens"], long["longest"]) == (round(192 * (74 + 256) / 2), 256)


def test_prompt_tokens_of_the_demo_and_10k_systems():
    systems = ({"retriever": "none"}, {"retriever": "none", "shots": 3}, {"retriever": "hybrid"})
    config = {"retrieval": {"k": 1}, "chunk": {"size": 64}, "model": {"max_prompt_tokens": None}}
    # measured on the demo's gold questions: base 51.4, fewshot 116.4, rag 117.0
    assert [prompt_tokens(s, config, "gold") for s in systems] == [51, 117, 121]
    # on the 10-K's cloze questions, 3 chunks of 128: base 64.3, fewshot 193.3, rag 535.0
    tenk = {"retrieval": {"k": 3}, "chunk": {"size": 128}, "model": {"max_prompt_tokens": None}}
    assert [prompt_tokens(s, tenk, "generated") for s in systems] == [67, 196, 489]
    assert prompt_tokens({"retriever": "dense"}, {**config, "model": {"max_prompt_tokens": 80}}, "gold") == 80


def test_the_demos_training_and_evaluation_jobs():
    config = {"finetune": {"replicates": 2}, "model": {"max_new_tokens": 20, "max_prompt_tokens": None, "batch_size": 16},
              "retrieval": {"k": 1}, "chunk": {"size": 64}, "report": {"judge": {"model": None}},
              "systems": {"base": {"retriever": "none", "adapter": "none"}, "rag_ft": {"retriever": "hybrid", "adapter": "qlora"}}}
    inputs = {"questions": {"source": "gold", "total": 942, "eval": 80, "train": 862}}
    plan = {"recipe": DEMO_RECIPE, "tokens": 17_464, "longest": 155}  # (the measured ones: 17,105 and 148)
    jobs = {(j.rule, j.name): j for j in model_jobs(config, "demo", inputs, SMOLLM2, {"qlora": plan})}
    assert sorted(jobs) == [("evaluate", "base"), ("evaluate", "rag_ft"), ("evaluate", "rag_ft.r2"), ("finetune", "qlora"),
                            ("finetune", "qlora.r2"), ("finetune_data", "qlora"), ("report", ""), ("review_sheet", "")]
    ft = jobs["finetune", "qlora"]
    # measured: 157-171 s quiet, 5,232 MB max_rss
    assert (round(ft.seconds), ft.threads, round(ft.mem_mb)) == (165, 2, 5506)
    # measured, two at a time with little other work: rag_ft 53-60 s
    assert round(jobs["evaluate", "base"].seconds) == 66 and round(jobs["evaluate", "rag_ft"].seconds) == 61
    # measured 1,149-1,256 MB: the model and a batch's prompts' logits (16 x 51 tokens x 49,152 x 4 bytes)
    assert round(jobs["evaluate", "base"].mem_mb) == 650 + 513 + 153
