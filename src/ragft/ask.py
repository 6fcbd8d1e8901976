"""`ragft ask`: answer one question with one system's built artefacts (its index, the base model and
its adapter under results/), exactly as evaluation prompts and generates, and show the retrieved
sources with their scores."""

from __future__ import annotations

import time
from pathlib import Path

import yaml

from ragft.config import check
from ragft.evaluate.answer import (
    fitted_prompts,
    generate_kwargs,
    generation_settings,
    pick_shots,
    retrieve_contexts,
)
from ragft.jsonl import read_jsonl
from ragft.models import generate
from ragft.retrieval.files import index_files

SCHEMA = Path(__file__).resolve().parents[2] / "config" / "config.schema.yaml"  # a source checkout


def load_config(configfile: str | Path, schema: str | Path | None = None) -> dict:
    """A workflow config file, checked (a mistake raises ConfigError in one line) and with every
    key the file leaves out set to the schema's default, as Snakemake's run sees it."""
    from snakemake.utils import validate

    schema = Path(schema or _find_schema(configfile))
    config = yaml.safe_load(Path(configfile).read_text(encoding="utf-8")) or {}
    check(config, schema)
    validate(config, str(schema.resolve()), set_default=True)
    return config


def _find_schema(configfile: str | Path) -> Path:
    for candidate in (Path(configfile).parent / "config.schema.yaml", Path("config/config.schema.yaml"), SCHEMA):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("config/config.schema.yaml not found; run from the workflow's folder or pass --schema")


def build_hint(corpus: str, system: str) -> str:
    return f"build it first: snakemake --cores all results/{corpus}/eval/{system}/predictions.jsonl"


class Asker:
    """One system of one corpus, loaded once from `root` (the workflow's working directory) and
    asked any number of questions."""

    def __init__(self, config: dict, corpus: str, system: str, root: str | Path = "."):
        from ragft.models.load import load_causal_lm, load_tokenizer
        from ragft.models.specs import resolve
        from ragft.retrieval.index import open_searcher

        if corpus not in config["corpora"]:
            raise KeyError(f"corpus {corpus!r} is not configured (corpora: {', '.join(config['corpora'])})")
        if system not in config["systems"]:
            raise KeyError(f"system {system!r} is not configured (systems: {', '.join(config['systems'])})")
        root = Path(root)
        res = root / "results" / corpus
        self.corpus, self.system = corpus, system
        self.spec = {"retriever": "none", "adapter": "none", "shots": 0, **config["systems"][system]}
        self.k, self.seed = config["retrieval"]["k"], config["seed"]
        self.g = generation_settings(config["model"])

        def need(path: Path) -> Path:
            if not path.exists():
                raise FileNotFoundError(f"{path} is missing; {build_hint(corpus, system)}")
            return path

        chunks = read_jsonl(need(res / "chunks.jsonl"))
        self.chunk_text = {c["id"]: c["text"] for c in chunks}
        self.chunk_doc = {c["id"]: c["doc_id"] for c in chunks}
        retriever = self.spec["retriever"]
        reranker = config["retrieval"]["reranker"]
        paths = {name: str(need(Path(f))) for name, f in index_files(retriever, res, reranker["first_stage"]).items()}
        cache = config["embed"].get("cache")
        self.searcher = open_searcher(retriever, paths, chunk_text=self.chunk_text,
                                      reranker=reranker if retriever == "rerank" else None,
                                      cache_dir=str(root / cache) if cache else None)
        self.shots = pick_shots(read_jsonl(need(res / "qa" / "train.jsonl")), self.spec["shots"], self.seed) \
            if self.spec["shots"] else []
        base = config["model"]["base"]
        path = resolve(base, root)
        adapter = None
        if self.spec["adapter"] != "none":
            adapter = str(need(res / "finetune" / self.spec["adapter"] / "adapter"))
        trust = config["model"]["trust_remote_code"]
        self.tokenizer = load_tokenizer(path, trust)
        self.model = load_causal_lm(path, adapter, config["model"]["dtype"], trust, config["model"]["merge_adapter"])

    def ask(self, question: str, k: int | None = None) -> dict:
        """The answer, the sources retrieved (rank, chunk id, doc id, score, text), the prompt's
        tokens (and how many were cut to fit the window) and the seconds it took."""
        start = time.perf_counter()
        q = {"id": "ask", "question": question, "answers": [""], "doc_ids": []}
        hits = retrieve_contexts(self.searcher, [q], k or self.k)
        fitted, _, _ = fitted_prompts(self.model, self.tokenizer, [q], hits, self.chunk_text, self.shots, self.g)
        (prompt, cut), = fitted
        answer, = generate.generate_answers(self.model, self.tokenizer, [prompt], **generate_kwargs(self.g, self.seed))
        return {
            "corpus": self.corpus,
            "system": self.system,
            "question": question,
            "answer": answer,
            "sources": [{"rank": i, "chunk_id": c, "doc_id": self.chunk_doc[c], "score": round(s, 6),
                         "text": self.chunk_text[c]} for i, (c, s) in enumerate(hits[0], 1)],
            "prompt_tokens": len(self.tokenizer(prompt, add_special_tokens=False)["input_ids"]),
            "truncated_tokens": cut,
            "seconds": round(time.perf_counter() - start, 3),
        }


def format_result(result: dict, width: int = 240) -> str:
    """The answer, then each source: rank, score, chunk id and doc id, and its text (up to `width`
    characters) indented below."""
    lines = [f"Answer: {result['answer'] or '(empty)'}", ""]
    spec = f"{result['corpus']} / {result['system']}"
    if result["sources"]:
        lines.append(f"Sources ({spec}, {len(result['sources'])} retrieved, best first):")
        for s in result["sources"]:
            text = " ".join(s["text"].split())
            lines.append(f"  {s['rank']}. score {s['score']:.4f}  {s['chunk_id']}  (doc {s['doc_id']})")
            lines.append(f"     {text[:width]}{'...' if len(text) > width else ''}")
    else:
        lines.append(f"Sources ({spec}): none, this system answers closed book.")
    cut = f", {result['truncated_tokens']} cut to fit the window" if result["truncated_tokens"] else ""
    lines += ["", f"({result['prompt_tokens']} prompt tokens{cut}; {result['seconds']:.2f} s)"]
    return "\n".join(lines) + "\n"
