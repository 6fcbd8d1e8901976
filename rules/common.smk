import os
import sys

from snakemake.utils import validate

from ragft.config import (
    REPLICATE_SUFFIX,
    ConfigError,
    check,
    qa_file,
    recipe_defaults,
    replicate_names,
    review_files,
    split_replicate,
    unwritable,
)
from ragft.ingest.sources import discover
from ragft.qa.review import sheet_corpora
from ragft.models.specs import built_dir, gpu_present, llm_host_mb
from ragft.retrieval.files import index_files
from ragft.retrieval.window import chunk_size_error


# A config mistake stops the run here, before any job, in one line naming the key.
try:
    check(config, workflow.source_path("../config/config.schema.yaml"))
except ConfigError as err:
    sys.exit(f"ragft: {err}")
validate(config, "../config/config.schema.yaml")  # fills in defaults
# So does a chunk longer than the embedder reads (max_seq_length less special tokens and prompt).
if message := chunk_size_error(config):
    sys.exit(f"ragft: {message}")

REVIEW_FILES = review_files(config)  # qa.review, as a list
RECIPE_DEFAULTS = recipe_defaults(workflow.source_path("../config/config.schema.yaml"))
CORPORA = list(config["corpora"])
SYSTEMS = list(config["systems"])
REPLICATES = config["finetune"]["replicates"]
# `rerank` (the first stage's top n reordered by a cross-encoder) only where a reranker is configured
RETRIEVERS = ["dense", "bm25", "hybrid"] + (["rerank"] if config["retrieval"]["reranker"].get("model") else [])
# An output folder that cannot be written stops the run here too, before any job half-writes.
if message := unwritable(["results", *(f"results/{c}" for c in CORPORA), "logs", "benchmarks/rules"]):
    sys.exit(f"ragft: {message}")


wildcard_constraints:
    corpus="|".join(CORPORA),
    system=f"({'|'.join(SYSTEMS)}){REPLICATE_SUFFIX}",  # `ft.r2`: replicate 2 of system ft
    recipe=f"[A-Za-z0-9_-]+{REPLICATE_SUFFIX}",
    retriever="|".join(RETRIEVERS),
    shard=r"\d+",
    shards=r"\d+",


def corpus_files(wildcards):
    """Every input file of a corpus, so that editing one reruns ingest."""
    return [f.path for f in discover(config["corpora"][wildcards.corpus]["source"])]


def corpus_qa(wildcards):
    """A corpus's questions: its gold file (its `qa`, or its source when that is one SQuAD-style
    .json), else the questions rule generate_qa writes from its chunks."""
    gold = qa_file(config["corpora"][wildcards.corpus])
    return gold or rules.generate_qa.output.questions.format(corpus=wildcards.corpus)


def generation_manifest(wildcards):
    """generate_qa's counts (split_manifest.json reports them) where a corpus's questions are generated."""
    gold = qa_file(config["corpora"][wildcards.corpus])
    return [] if gold else [rules.generate_qa.output.manifest.format(corpus=wildcards.corpus)]


def review_sheets(wildcards):
    """The qa.review sheets with rows of a corpus: editing one reruns that corpus's split (and what
    follows), not the split of a corpus it has no row of."""
    return [path for path in REVIEW_FILES if wildcards.corpus in sheet_corpora(path)]


def embed_shards(wildcards):
    """The embedding shard files of a corpus: `embed.shards` of them, merged in order by index_dense."""
    n = config["embed"]["shards"]
    return [f"results/{wildcards.corpus}/embed/{i}-of-{n}.npz" for i in range(1, n + 1)]


def backend_choice(wildcards):
    """The backend `embed.backend: auto` chose for a corpus (by embed_backend), which every shard
    embeds with; nothing when a backend is configured."""
    return f"results/{wildcards.corpus}/embed/backend.json" if config["embed"]["backend"] == "auto" else []


def model_input(spec):
    """Input of a causal LM spec: a built-in's folder (the workflow builds it), a local directory, or
    nothing (a hub id)."""
    return built_dir(spec) or (spec if spec and os.path.isdir(spec) else [])


def base_model():
    """Input of the base causal LM."""
    return model_input(config["model"]["base"])


# A job that runs a causal LM declares one GPU (`gpu=1`: a local run with --resources gpu=N runs at
# most N of them at once; SLURM gives each its own) and the host memory its model needs.
ON_GPU = gpu_present()


def llm_mem_mb(wildcards, input, recipe=None):
    """Host memory (MB) of a job that loads the causal LM in input.model (or a hub id's guess), and
    trains it with `recipe`'s batches when one is given."""
    rows = (recipe["batch_size"], recipe["max_length"]) if recipe else (0, 0)
    return llm_host_mb(input.get("model") or None, ON_GPU, *rows)


SYNTHETIC = config["finetune"]["data"].get("synthetic", {}).get("enabled", False)  # runs an LLM over the chunks
RETRIEVAL_DATA = config["finetune"]["data"].get("retrieval", {}).get("enabled", False)  # reads the dense index


QA_LLM = config["qa"]["generate"]["method"] == "llm"  # generated questions are written by an LLM


def qa_generator():
    """Input of the question-generating LLM (method llm) when some corpus has no gold questions."""
    generated = any(qa_file(c) is None for c in config["corpora"].values())
    return model_input(config["qa"]["generate"]["model"]) if QA_LLM and generated else []


def qa_generation():
    """The qa.generate keys the chosen method reads (so a cloze run ignores the LLM's keys)."""
    keys = ["method", "questions", "per_chunk", "min_words", "max_words", "max_bare_share"]
    keys += ["model", "max_candidates", "round_trip_f1", "max_new_tokens", "batch_size", "template"] if QA_LLM else []
    return {k: config["qa"]["generate"][k] for k in keys}


def synthetic_model():
    """Input of the synthetic-QA generator when it is another model than the base (and the builder is on)."""
    spec = config["finetune"]["data"].get("synthetic", {})
    return model_input(spec["model"]) if spec.get("enabled") and spec.get("model") else []


def base_model_path(wildcards, input):
    """What the scripts load: the base model's input directory, or else its hub id."""
    return input.model if input.get("model") else config["model"]["base"]


def system(wildcards):
    """The config of one system (or of its replicate `ft.rK`, whose adapter is `{recipe}.rK`), with defaults."""
    name, k = split_replicate(wildcards.system)
    spec = {"retriever": "none", "adapter": "none", "shots": 0, **config["systems"][name]}
    if k > 1:
        if spec["adapter"] == "none" or k > REPLICATES:
            raise ValueError(f"{wildcards.system}: only fine-tuned systems have replicates, {REPLICATES} of them")
        spec["adapter"] = f"{spec['adapter']}.r{k}"
    return spec


def system_runs(name):
    """The evaluation runs of a system: one per training-seed replicate when it has an adapter."""
    fine_tuned = config["systems"][name].get("adapter", "none") != "none"
    return replicate_names(name, REPLICATES if fine_tuned else 1)


RUNS = [run for name in SYSTEMS for run in system_runs(name)]  # every eval/{run} folder the report reads


def retriever_inputs(corpus, *retrievers):
    """The files the retrievers search: `dense` and `bm25` index folders, the `hybrid` weights and
    the `reranker` folder, as each retriever needs them."""
    reranker = config["retrieval"]["reranker"]
    inputs = {}
    for retriever in retrievers:
        inputs.update(index_files(retriever, f"results/{corpus}", reranker["first_stage"]))
        if retriever == "rerank" and os.path.isdir(reranker["model"]):
            inputs["reranker"] = reranker["model"]
    return inputs


def reranker_settings(*retrievers):
    """The reranker settings where a retriever reranks, else None (so they rerun nothing else)."""
    return config["retrieval"]["reranker"] if "rerank" in retrievers else None


def system_inputs(wildcards):
    """The files a system needs: its retriever's indexes and its adapter."""
    spec = system(wildcards)
    inputs = retriever_inputs(wildcards.corpus, spec["retriever"])
    if spec["adapter"] != "none":
        inputs["adapter"] = f"results/{wildcards.corpus}/finetune/{spec['adapter']}/adapter"
        inputs["train_summary"] = f"results/{wildcards.corpus}/finetune/{spec['adapter']}/train_summary.json"
    return inputs


def recipe(wildcards):
    """The config of one fine-tuning recipe (a replicate's is its recipe's), schema defaults filled in."""
    return {**RECIPE_DEFAULTS, **config["finetune"]["recipes"][split_replicate(wildcards.recipe)[0]]}


def recipe_seed(wildcards):
    """The training seed of a recipe's replicate: seed for the first, seed + k - 1 for `{recipe}.rK`."""
    return config["seed"] + split_replicate(wildcards.recipe)[1] - 1


def recipe_data(wildcards):
    """The training data of a recipe's replicate: its recipe's (every replicate trains on the same)."""
    return f"results/{wildcards.corpus}/finetune/{split_replicate(wildcards.recipe)[0]}/train.jsonl"


def recipe_shape(wildcards):
    """The recipe keys the data report's estimate needs (not lr, r, ...: those rerun training only)."""
    keys = ("batch_size", "grad_accum", "epochs", "max_steps", "max_length", "packing")
    return {k: recipe(wildcards)[k] for k in keys}


def init_adapter(wildcards):
    """A recipe's starting adapter folder (another recipe's adapter output chains the two), or none."""
    return recipe(wildcards).get("init_adapter") or []


def adapters_used():
    """The recipes that some system uses as its adapter."""
    return sorted({s.get("adapter", "none") for s in config["systems"].values()} - {"none"})


def generation(keys=("dtype", "trust_remote_code", "max_new_tokens", "batch_size", "templates", "stop",
                     "chat_template", "max_prompt_tokens", "do_sample", "temperature", "top_p", "merge_adapter")):
    """The model settings that evaluation depends on (not how builtin:tiny is built)."""
    return {k: config["model"].get(k) for k in keys}


# The report: metrics shown (the LLM judge's verdicts too when a judge model is configured), and
# the references every system gets a paired p-value against.
JUDGE = config["report"]["judge"].get("model") is not None
REPORT_METRICS = list(config["report"]["metrics"]) + (["judge"] if JUDGE else [])


def judge_model():
    """Input of the judge LLM: a built-in or a local directory (never a hosted API)."""
    spec = config["report"]["judge"].get("model")
    return [] if spec is None else model_input(spec)


def judge_inputs(wildcards):
    """Each system's judge verdicts, when a judge is configured."""
    return expand("results/{corpus}/eval/{run}/judge.jsonl", corpus=wildcards.corpus, run=RUNS) if JUDGE else []


def print_estimate():
    """Before the first job of a run on this machine: its estimated wall time and peak memory, for
    the jobs Snakemake is about to run (ragft.estimate). A cluster's jobs run elsewhere: none then.
    An estimate that fails says so in one line and never stops the run."""
    from snakemake.logging import logger

    if not workflow.local_exec:
        return
    try:
        from ragft.estimate import estimate, format_estimate, measure_machine

        planned = set()
        for job in workflow.dag.needrun_jobs():
            wc = dict(job.wildcards_dict or {})
            planned.add((job.rule.name, wc.get("corpus", ""), wc.get("system") or wc.get("recipe") or wc.get("shard") or ""))
        logger.info(format_estimate(estimate(config, workflow.cores, measure_machine(), planned)))
    except Exception as err:  # an estimate is advice: a run never fails for want of one
        logger.info(f"ragft estimate: not available ({type(err).__name__}: {err})")
