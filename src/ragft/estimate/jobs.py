"""The jobs of a run and each one's cost: seconds on the calibration machine with its threads, and
memory, from the corpus's inputs, the model's size and the config."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import NamedTuple

from ragft.config import BUILT_MODELS, qa_file, recipe_defaults, replicate_names, schema_defaults
from ragft.estimate.calibration import (
    ACTIVATION_BYTES,
    BACKEND_S,
    BM25_CHAR_S,
    BUILD_S,
    CHECKPOINTING_TIME,
    CHUNK_CHAR_MB,
    CHUNK_CHAR_S,
    CHUNK_LM_TOKENS,
    CLOZE_CHUNK_S,
    DECODE_S,
    EMBED_TOKEN_S,
    EVAL_PROMPT_TOKENS,
    FT_ANSWER_TOKENS,
    INDEX_CHUNK_S,
    JOB_MB,
    JUDGE_PROMPT_TOKENS,
    LLM_QUESTION_S,
    LOAD_S_PER_GB,
    MEMORY_BASE_MB,
    PDF_PAGE_S,
    PREFILL_S,
    PROMPT_TOKENS,
    QUESTION_S,
    QUESTION_TOKENS,
    REPORT_S,
    ROW_MAX,
    SHOT_TOKENS,
    SMOLLM2_PARAMS,
    STARTUP_S,
    TEXT_MB_S,
    TINY_STEP_S,
    TORCH_STARTUP_S,
    TRAIN_GFLOPS,
    VOCAB,
)
from ragft.models.specs import built_dir, model_shape


class Job(NamedTuple):
    """One job's estimate: seconds on the calibration machine with its threads, memory in MB."""

    rule: str
    corpus: str  # "" for a job of the whole run (a model build, the corpora report)
    name: str  # the system, recipe or embedding shard it is for; "" for the rest
    seconds: float
    threads: int
    mem_mb: float


def model_facts(spec: str) -> dict:
    """Parameters, float32 megabytes, shape and vocabulary of a causal LM spec (a built-in's before
    it is built; a hub id counts as an 8B Llama 3)."""
    folder = built_dir(spec) or spec
    mb, (hidden, layers, _heads) = model_shape(folder)
    config = Path(folder, "config.json")
    vocab = json.loads(config.read_text()).get("vocab_size") if config.is_file() else None
    return {"spec": spec, "params": mb * 2**20 / 4, "weights_mb": mb, "hidden": hidden, "layers": layers,
            "vocab": vocab or VOCAB.get(spec, VOCAB["hub"])}


def builder_tokens(builders: dict, question_tokens: int, size: int) -> dict[str, float]:
    """Mean tokens of a training example of each enabled builder (demo: qa 56.9, retrieval 121.3)."""
    qa = PROMPT_TOKENS + question_tokens
    chunk = size * CHUNK_LM_TOKENS
    lengths = {"qa": qa, "synthetic": qa, "chunks": chunk, "retrieval": qa + chunk * builders.get("retrieval", {}).get("k", 2)}
    return {name: lengths[name] for name, spec in builders.items() if spec.get("enabled", True)}


def training(recipe: dict, builders: dict, examples: dict[str, int], lengths: dict[str, float]) -> dict:
    """A recipe's steps, the token slots it may fill (steps x batch x max_length), the tokens it
    trains on (rows padded to their batch's longest) and its longest row."""
    per_step = recipe["batch_size"] * recipe["grad_accum"]
    n = sum(examples.get(b, 0) * builders[b].get("weight", 1) for b in lengths)
    steps = recipe["max_steps"] or math.ceil(recipe["epochs"] * math.ceil(max(1, n) / per_step))
    cap = recipe["max_length"]
    if recipe["packing"] or not lengths:
        mean = longest = cap
    else:
        weights = {b: examples.get(b, 0) * builders[b].get("weight", 1) for b in lengths}
        total = sum(weights.values()) or 1
        mean = sum(min(cap, lengths[b]) * w for b, w in weights.items()) / total
        longest = min(cap, ROW_MAX * max(lengths.values()))
    return {"steps": steps, "examples": n, "slots": steps * per_step * cap, "tokens": round(steps * per_step * mean),
            "longest": round(longest)}


def prompt_tokens(system: dict, config: dict, source: str) -> int:
    """Mean prompt tokens of a system's questions, gold or generated (builtin:smollm2 on the demo: base
    51, fewshot 116, rag 117; on the 10-K: base 64, fewshot 193, rag with 3 chunks 535)."""
    question_tokens = QUESTION_TOKENS[source]
    tokens = EVAL_PROMPT_TOKENS + question_tokens + system.get("shots", 0) * SHOT_TOKENS[source]
    if system.get("retriever", "none") != "none":
        tokens += config["retrieval"]["k"] * config["chunk"]["size"] * CHUNK_LM_TOKENS
    cap = config["model"].get("max_prompt_tokens")
    return round(min(tokens, cap) if cap else tokens)


def llm_seconds(model: dict, tokens_in: float, tokens_out: float) -> float:
    """Answering: `tokens_in` prompt tokens read and `tokens_out` generated, batched, by a model
    of model["params"] (costs scale with parameters from the 135M model they were measured on)."""
    return (tokens_in * PREFILL_S + tokens_out * DECODE_S) * model["params"] / SMOLLM2_PARAMS


def load_seconds(model: dict, quantized: bool = False) -> float:
    """Start-up and loading a causal LM (quantising it to 4 bits costs half as much again)."""
    return TORCH_STARTUP_S + LOAD_S_PER_GB * model["weights_mb"] / 1024 * (1.5 if quantized else 1.0)


def model_mb(model: dict, quantized: bool = False) -> float:
    """Memory of a job that runs a causal LM: the libraries, its float32 weights (a 4-bit base is
    quantised from a float copy)."""
    return MEMORY_BASE_MB + model["weights_mb"] * (1.5 if quantized else 1.0)


def prep_jobs(config: dict, corpus: str, inputs: dict) -> list[Job]:
    """A corpus's jobs before any model: ingest, chunk, questions, embedding, indexes, retrieval."""
    f, n_chunks, q = inputs["formats"], inputs["chunks"], inputs["questions"]
    text_mb = sum(v["bytes"] for k, v in f.items() if k != "pdf") / 2**20
    pages = f.get("pdf", {}).get("pages", 0)
    most = f.get("pdf", {}).get("most_pages", 0)  # one file is read by one process: the longest PDF sets a floor
    ingest = STARTUP_S + max(most, pages / 4) * PDF_PAGE_S + text_mb * TEXT_MB_S
    jobs = [Job("ingest", corpus, "", ingest, min(4, max(1, inputs["files"])), JOB_MB["ingest"]),
            Job("chunk", corpus, "", STARTUP_S + inputs["chars"] * CHUNK_CHAR_S, 1,
                JOB_MB["chunk"] + inputs["chars"] * CHUNK_CHAR_MB),
            Job("split_qa", corpus, "", STARTUP_S, 1, JOB_MB["split_qa"])]
    if q["source"] == "generated":
        gen = config["qa"]["generate"]
        if gen["method"] == "llm":
            candidates = min(gen["max_candidates"] or 4 * gen["questions"], n_chunks * gen["per_chunk"])
            model = model_facts(gen["model"])
            jobs.append(Job("generate_qa", corpus, "", load_seconds(model) + candidates * LLM_QUESTION_S, 2, model_mb(model)))
        else:
            jobs.append(Job("generate_qa", corpus, "", STARTUP_S + n_chunks * CLOZE_CHUNK_S, 1, JOB_MB["generate_qa"]))
    embed = config["embed"]
    if embed["backend"] == "auto" and not any(Path(embed.get("cache") or "", "backends").glob("*")):
        jobs.append(Job("embed_backend", corpus, "", BACKEND_S, 2, JOB_MB["embed_backend"]))
    tokens = n_chunks * config["chunk"]["size"] / embed["shards"]
    jobs += [Job("embed", corpus, str(i), TORCH_STARTUP_S + tokens * EMBED_TOKEN_S, 2, JOB_MB["embed"])
             for i in range(1, embed["shards"] + 1)]
    jobs += [Job("index_dense", corpus, "", STARTUP_S + n_chunks * INDEX_CHUNK_S, 2, JOB_MB["index_dense"]),
             Job("index_bm25", corpus, "", STARTUP_S + inputs["chars"] * BM25_CHAR_S, 1, JOB_MB["index_bm25"]),
             Job("hybrid_weights", corpus, "", TORCH_STARTUP_S + q["train"] * QUESTION_S, 1, JOB_MB["hybrid_weights"]),
             Job("retrieval_eval", corpus, "", TORCH_STARTUP_S + q["eval"] * QUESTION_S, 1, JOB_MB["retrieval_eval"]),
             Job("report_retrieval", corpus, "", REPORT_S, 1, JOB_MB["report_retrieval"])]
    return jobs


def model_jobs(config: dict, corpus: str, inputs: dict, model: dict, recipes: dict) -> list[Job]:
    """A corpus's jobs with the causal LM: training data, fine-tuning (each replicate), evaluating
    every system (each replicate of a fine-tuned one), the judge, the report."""
    q, qtokens = inputs["questions"], QUESTION_TOKENS[inputs["questions"]["source"]]
    gen, replicates = config["model"], config["finetune"]["replicates"]
    jobs = []
    for name, plan in recipes.items():
        jobs.append(Job("finetune_data", corpus, name, TORCH_STARTUP_S + q["train"] * QUESTION_S, 1, JOB_MB["finetune_data"]))
        recipe = plan["recipe"]
        quantized = recipe["quantization"] == "nf4"
        seconds = load_seconds(model, quantized) + plan["tokens"] * 4 * model["params"] / (TRAIN_GFLOPS * 1e9)
        activations = recipe["batch_size"] * plan["longest"] * model["layers"] * model["hidden"] * ACTIVATION_BYTES
        if recipe["gradient_checkpointing"]:  # each layer's input kept, one layer's activations recomputed
            seconds, activations = seconds * CHECKPOINTING_TIME, activations * 2 / model["layers"]
        mem = model_mb(model, quantized) + activations / 2**20
        jobs += [Job("finetune", corpus, run, seconds, 2, mem) for run in replicate_names(name, replicates)]
    for name, system in config["systems"].items():
        adapter = system.get("adapter", "none")
        recipe = recipes.get(adapter, {}).get("recipe", {})
        quantized = recipe.get("quantization") == "nf4" and not gen.get("merge_adapter")
        tokens = prompt_tokens(system, config, inputs["questions"]["source"])
        answer = gen["max_new_tokens"] if adapter == "none" else min(gen["max_new_tokens"], FT_ANSWER_TOKENS)
        seconds = load_seconds(model, quantized) + llm_seconds(model, q["eval"] * tokens, q["eval"] * answer)
        runs = replicate_names(name, replicates if adapter != "none" else 1)
        logits = gen["batch_size"] * tokens * model["vocab"] * 4 / 2**20  # a batch's prompts' float32 logits
        jobs += [Job("evaluate", corpus, run, seconds, 1, model_mb(model, quantized) + logits) for run in runs]
        if config["report"]["judge"].get("model"):
            judge = model_facts(config["report"]["judge"]["model"])
            graded = load_seconds(judge) + llm_seconds(judge, q["eval"] * (JUDGE_PROMPT_TOKENS + qtokens + answer), q["eval"])
            jobs += [Job("judge", corpus, run, graded, 1, model_mb(judge)) for run in runs]
    jobs += [Job("report", corpus, "", REPORT_S, 1, JOB_MB["report"]),
             Job("review_sheet", corpus, "", STARTUP_S, 1, JOB_MB["review_sheet"])]
    return jobs


def recipe_plans(config: dict, inputs: dict) -> dict[str, dict]:
    """Each recipe a system uses, with schema defaults, and what it will train on (`training`)."""
    q, size = inputs["questions"], config["chunk"]["size"]
    builders = {b: {**schema_defaults(f"finetune.data.{b}"), **spec} for b, spec in config["finetune"]["data"].items()}
    synthetic = builders.get("synthetic", {}).get("max_chunks") or inputs["chunks"]
    examples = {"qa": q["train"], "retrieval": q["train"], "chunks": inputs["chunks"],
                "synthetic": min(synthetic, inputs["chunks"])}
    lengths = builder_tokens(builders, QUESTION_TOKENS[q["source"]], size)
    used = sorted({s.get("adapter", "none") for s in config["systems"].values()} - {"none"})
    plans = {}
    for name in used:
        recipe = {**recipe_defaults(), **config["finetune"]["recipes"][name]}
        plans[name] = {"recipe": recipe, **training(recipe, builders, examples, lengths)}
    return plans


def build_jobs(config: dict) -> list[Job]:
    """The built-in causal LMs the run builds (base model, judge, question or synthetic-data writer)."""
    specs = {config["model"]["base"], config["report"]["judge"].get("model"),
             config["finetune"]["data"].get("synthetic", {}).get("model")}
    if any(qa_file(c) is None for c in config["corpora"].values()) and config["qa"]["generate"]["method"] == "llm":
        specs.add(config["qa"]["generate"]["model"])
    jobs = []
    for spec in sorted(s for s in specs if s in BUILT_MODELS):
        seconds = BUILD_S[spec]
        if spec == "builtin:tiny":
            tiny = config["model"]["tiny"]
            seconds += tiny["steps"] * TINY_STEP_S * tiny["batch_size"] / 32 * tiny["max_length"] / 384
        jobs.append(Job(BUILT_MODELS[spec][1], "", "", seconds, 2 if spec == "builtin:tiny" else 1,
                        model_mb(model_facts(spec))))
    return jobs
