import os
import sys

from snakemake.utils import validate

from ragft.config import ConfigError, check, recipe_defaults
from ragft.ingest import discover


# A config mistake stops the run here, before any job, in one line naming the key.
try:
    check(config, workflow.source_path("../config/config.schema.yaml"))
except ConfigError as err:
    sys.exit(f"ragft: {err}")
validate(config, "../config/config.schema.yaml")  # fills in defaults

RECIPE_DEFAULTS = recipe_defaults(workflow.source_path("../config/config.schema.yaml"))
CORPORA = list(config["corpora"])
SYSTEMS = list(config["systems"])
RETRIEVERS = ["dense", "bm25"]


wildcard_constraints:
    corpus="|".join(CORPORA),
    system="|".join(SYSTEMS),
    recipe="[A-Za-z0-9_-]+",
    retriever="|".join(RETRIEVERS),


def corpus_files(wildcards):
    """Every input file of a corpus, so that editing one reruns ingest."""
    return [f.path for f in discover(config["corpora"][wildcards.corpus]["source"])]


def corpus_qa(wildcards):
    """A corpus's gold questions: its `qa` file, else its source when that is one SQuAD-style .json."""
    corpus = config["corpora"][wildcards.corpus]
    return corpus.get("qa") or corpus["source"]


def base_model():
    """Input of the base causal LM: the built tiny model, or the configured directory."""
    base = config["model"]["base"]
    if base == "builtin:tiny":
        return "resources/models/tiny"
    return base if os.path.isdir(base) else []


def base_model_path(wildcards, input):
    """What the scripts load: the base model's input directory, or else its hub id."""
    return input.model if input.get("model") else config["model"]["base"]


def system(wildcards):
    """The config of one system, with defaults."""
    return {"retriever": "none", "adapter": "none", "shots": 0, **config["systems"][wildcards.system]}


def system_inputs(wildcards):
    """The files a system needs: its index and its adapter."""
    spec = system(wildcards)
    inputs = {}
    if spec["retriever"] != "none":
        inputs["index"] = f"results/{wildcards.corpus}/index/{spec['retriever']}"
    if spec["adapter"] != "none":
        inputs["adapter"] = f"results/{wildcards.corpus}/finetune/{spec['adapter']}/adapter"
        inputs["train_summary"] = f"results/{wildcards.corpus}/finetune/{spec['adapter']}/train_summary.json"
    return inputs


def recipe(wildcards):
    """The config of one fine-tuning recipe, schema defaults filled in."""
    return {**RECIPE_DEFAULTS, **config["finetune"]["recipes"][wildcards.recipe]}


def generation(keys=("dtype", "trust_remote_code", "max_new_tokens", "batch_size", "templates")):
    """The model settings that evaluation depends on (not how builtin:tiny is built)."""
    return {k: config["model"].get(k) for k in keys}
