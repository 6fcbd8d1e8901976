"""Embedding throughput: ragft's embed stage with the default `embed.backend: auto` against a plain
sentence-transformers encode of the same texts.

    pip install -e '.[onnx,openvino]'   # the candidates auto times besides torch (optional extras)
    env -u PYTHONDONTWRITEBYTECODE .venv/bin/python benchmarks/embed_throughput.py --threads 1

Texts: the demo corpus's chunks as the workflow makes them (results/demo/chunks.jsonl when the demo
has run, else the demo corpus ingested and chunked with the demo config's settings: sentences of up
to 64 MiniLM tokens, overlap 16), each distinct text once; `--texts long`: windows of 254 tokens
(256 with [CLS] and [SEP], MiniLM's longest input) cut from the same text instead.
Both sides run on the same `--threads` (torch's; ragft gives ONNX Runtime and OpenVINO the same):
- plain: `SentenceTransformer(builtin:minilm).encode(texts, batch_size=64, normalize_embeddings=True)`;
- ragft: what the workflow does with the default config: `choose_backend` (rule embed_backend; timed
  afresh here on these texts, exported models reused from cache/embeddings/models), then
  `embed_texts` with `Embedder("builtin:minilm", <the chosen backend>, batch_size=64)` and a cold
  `EmbeddingCache` (every text embedded, hashed and written to the cache), as rule embed.
Every round runs each side over all the texts, in alternating order, so that a change in machine
load hits both alike. `--variant backend:quantize` adds explicit backends to the comparison.
Quality (unless --no-quality): dense retrieval on the demo's eval questions with ragft's vectors
and with torch's.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from ragft.ingest.run import run_ingest
from ragft.jsonl import read_jsonl
from ragft.models.specs import minilm_path
from ragft.qa.gold import doc_index, load_gold, split_questions
from ragft.retrieval.auto_backend import choose_backend, cpu_name
from ragft.retrieval.chunk import chunk_doc, chunk_docs
from ragft.retrieval.embed import Embedder, EmbeddingCache, embed_texts
from ragft.retrieval.index import DenseSearcher, build_dense
from ragft.retrieval.metrics import retrieval_metrics

CACHE = ROOT / "cache" / "embeddings"


def demo_docs(tmp: Path) -> list[dict]:
    run_ingest(str(ROOT / "resources/demo/corpus"), tmp / "docs.jsonl", tmp / "rejected.jsonl", tmp / "manifest.json")
    return read_jsonl(tmp / "docs.jsonl")


def demo_texts(docs: list[dict], tokenizer, kind: str) -> tuple[list[str], str]:
    """The distinct texts to embed, and where they come from."""
    if kind == "long":
        text = "\n\n".join(d["text"] for d in docs)
        total = len(tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])
        stride = max(1, (total - 254) // 2000)
        chunks = chunk_doc({"id": "all", "text": text}, tokenizer, 254, 254 - stride, strategy="tokens")
        return sorted({c["text"] for c in chunks if c["n_tokens"] == 254})[:2000], "windows of 254 tokens"
    made = ROOT / "results/demo/chunks.jsonl"
    if made.is_file():
        return sorted({c["text"] for c in read_jsonl(made)}), str(made.relative_to(ROOT))
    chunks = chunk_docs(docs, tokenizer, 64, 16, "sentences")
    return sorted({c["text"] for c in chunks}), "the demo corpus chunked as config/config.yaml does"


def demo_quality(embedder: Embedder, docs: list[dict], tokenizer, tmp: Path) -> dict:
    """Dense retrieval metrics on the demo's eval questions (the demo config's chunks and split)."""
    chunks = chunk_docs(docs, tokenizer, 64, 16, "sentences")
    questions, _ = load_gold(str(ROOT / "resources/demo/qa.jsonl"), doc_index(str(tmp / "docs.jsonl")))
    _, evaluation = split_questions(questions, 0.2, 8, 150)
    vecs, _ = embed_texts(embedder, [c["text"] for c in chunks])
    out = tmp / f"index-{embedder.backend}-{embedder.quantize}"
    build_dense(vecs, [c["id"] for c in chunks], out, embedder, "Flat")
    runs = DenseSearcher(out, embedder).search([q["question"] for q in evaluation], 10)
    m = retrieval_metrics(runs, evaluation, {c["id"]: c["doc_id"] for c in chunks},
                          {c["id"]: c["text"] for c in chunks}, ks=(10,))
    return {k: round(m[k], 4) for k in ("answer_recall@10", "recall@10", "mrr@10")}


def machine() -> str:
    flags = next((line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags")), "")
    vnni = "with" if "avx512_vnni" in flags.split() else "without"
    return f"{cpu_name()}, {os.cpu_count()} cores, {vnni} avx512_vnni, load average {os.getloadavg()[0]:.1f}"


def auto_embedder(texts: list[str], tmp: Path) -> tuple[Embedder, dict, float]:
    """rule embed_backend's choice, timed afresh (a new choice cache; exported models from the
    repository's cache), and the Embedder rule embed then uses; and the seconds the choice took."""
    cache = tmp / "choice-cache"
    cache.mkdir()
    (CACHE / "models").mkdir(parents=True, exist_ok=True)
    (cache / "models").symlink_to(CACHE / "models")
    start = time.time()
    choice = choose_backend("builtin:minilm", texts, cache_dir=cache, batch_size=64, log=print)
    return Embedder("builtin:minilm", choice["backend"], batch_size=64, cache_dir=cache), choice, time.time() - start


def timed_rounds(sides: dict, texts: list[str], rounds: int, tmp: Path) -> tuple[dict, dict]:
    """Seconds and vectors of each side over `rounds` passes of all texts, in alternating order;
    an Embedder side embeds through a cold cache each round, as the workflow's first run does."""
    seconds = {name: 0.0 for name in sides}
    vectors = {}
    for r in range(rounds):
        for name in list(sides) if r % 2 == 0 else reversed(list(sides)):
            side = sides[name]
            start = time.time()
            if isinstance(side, Embedder):
                vecs, stats = embed_texts(side, texts, EmbeddingCache(tmp / f"vectors-{r}", side))
                assert stats["embedded"] == len(texts), stats
            else:
                vecs = side.encode(texts, batch_size=64, normalize_embeddings=True)
            seconds[name] += time.time() - start
            vectors[name] = np.asarray(vecs, dtype=np.float32)
        print(f"round {r + 1}/{rounds}: " + ", ".join(f"{n} {s:.1f} s" for n, s in seconds.items()), flush=True)
    return seconds, vectors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="threads of every side (default: torch's)")
    parser.add_argument("--texts", choices=["chunks", "long"], default="chunks", help="demo chunks or 254-token windows")
    parser.add_argument("--rounds", type=int, default=4, help="passes over all the texts, sides alternating")
    parser.add_argument("--variant", action="append", default=[], help="also ragft with backend:quantize (repeatable)")
    parser.add_argument("--no-quality", action="store_true", help="skip the demo retrieval check")
    args = parser.parse_args()

    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import AutoTokenizer

    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"{machine()}; {torch.get_num_threads()} threads each")
    tmp = Path(tempfile.mkdtemp(prefix="embed-bench-"))
    tokenizer = AutoTokenizer.from_pretrained(minilm_path())
    docs = demo_docs(tmp)
    texts, source = demo_texts(docs, tokenizer, args.texts)
    print(f"{len(texts)} distinct texts ({source}; {np.mean([len(t) for t in texts]):.0f} characters on average)")

    auto, choice, choice_s = auto_embedder(texts, tmp)
    print(f"auto chose {choice['backend']} in {choice_s:.1f} s ({choice['reason']})")
    sides = {"plain encode": SentenceTransformer(minilm_path(), device="cpu"), f"ragft auto ({auto.backend})": auto}
    for variant in args.variant:
        backend, quantize = variant.split(":")
        sides[f"ragft {backend}:{quantize}"] = Embedder("builtin:minilm", backend, quantize, 64, cache_dir=CACHE)
    for side in sides.values():  # load (export) and warm up before timing
        side.encode(texts[:64])
    seconds, vectors = timed_rounds(sides, texts, args.rounds, tmp)

    base, ref = next(iter(sides)), vectors["plain encode"]
    base_rate = args.rounds * len(texts) / seconds[base]
    print(f"\n{base}: {base_rate:.1f} texts/s")
    for name in list(sides)[1:]:
        rate = args.rounds * len(texts) / seconds[name]
        cos = np.sum(vectors[name] * ref, axis=1)
        print(f"{name}: {rate:.1f} texts/s, ratio {rate / base_rate:.2f}x, cosine to plain encode's vectors: "
              f"mean {cos.mean():.5f}, min {cos.min():.5f}")
    print(f"auto's own timing of the candidates (texts/s, {choice['sample_texts']} texts): {choice['rates']}")

    if not args.no_quality:
        print(f"\ndemo dense retrieval, torch: {demo_quality(Embedder('builtin:minilm'), docs, tokenizer, tmp)}")
        for name, side in list(sides.items())[1:]:
            print(f"demo dense retrieval, {name}: {demo_quality(side, docs, tokenizer, tmp)}")


if __name__ == "__main__":
    main()
