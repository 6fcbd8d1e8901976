"""Embedding throughput: ragft's embed stage against a plain sentence-transformers loop.

    pip install -e '.[onnx]'          # or '.[openvino]' for --variant openvino:...
    env -u PYTHONDONTWRITEBYTECODE .venv/bin/python benchmarks/embed_throughput.py --chunks 2000

Both sides embed the same chunks of 254 MiniLM tokens (256 with [CLS] and [SEP], MiniLM's
longest input), cut with overlap from the demo corpus's text, on the same cores:
- baseline: `SentenceTransformer(builtin:minilm).encode(texts, batch_size=64)`, as anyone would;
- ragft: `ragft.retrieval.embed.embed_texts` with `Embedder("builtin:minilm", backend, quantize,
  batch_size=64)` and a cold `EmbeddingCache` (so every chunk is embedded, hashed and cached).
The chunks are split into rounds, and each round runs both sides one after the other (in
alternating order), so a change in machine load during the run hits both alike. The exported
model is built before timing (once per machine, kept in the cache; its seconds are printed).
Quality: on the demo (chunks and eval questions as the demo config makes them), answer_recall@10
and recall@10 of dense retrieval with each variant's vectors and with the torch backend's.
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

from ragft.ingest.run import run_ingest  # noqa: E402
from ragft.jsonl import read_jsonl  # noqa: E402
from ragft.models.specs import minilm_path  # noqa: E402
from ragft.qa.gold import doc_index, load_gold, split_questions  # noqa: E402
from ragft.retrieval.chunk import chunk_doc, chunk_docs  # noqa: E402
from ragft.retrieval.embed import Embedder, EmbeddingCache, embed_texts  # noqa: E402
from ragft.retrieval.index import DenseSearcher, build_dense  # noqa: E402
from ragft.retrieval.metrics import retrieval_metrics  # noqa: E402


def demo_docs(tmp: Path) -> list[dict]:
    run_ingest(str(ROOT / "resources/demo/corpus"), tmp / "docs.jsonl", tmp / "rejected.jsonl", tmp / "manifest.json")
    return read_jsonl(tmp / "docs.jsonl")


def long_chunks(docs: list[dict], tokenizer, n: int, size: int = 254) -> list[str]:
    """`n` distinct windows of `size` tokens over the demo's text, overlapping as much as needed."""
    text = "\n\n".join(d["text"] for d in docs)
    total = len(tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])
    stride = max(1, (total - size) // n)
    chunks = chunk_doc({"id": "all", "text": text}, tokenizer, size, size - stride, strategy="tokens")
    return [c["text"] for c in chunks if c["n_tokens"] == size][:n]


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
    return {"answer_recall@10": m["answer_recall@10"], "recall@10": m["recall@10"], "mrr@10": m["mrr@10"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=2000, help="chunks embedded by each side")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds")
    parser.add_argument("--variant", action="append", default=None,
                        help="backend:quantize of ragft's stage (repeatable); default onnx:int8")
    parser.add_argument("--no-quality", action="store_true", help="skip the demo retrieval check")
    args = parser.parse_args()
    variants = [tuple(v.split(":")) for v in (args.variant or ["onnx:int8"])]

    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import AutoTokenizer

    print(f"torch threads {torch.get_num_threads()}, cores {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")
    tmp = Path(tempfile.mkdtemp(prefix="embed-bench-"))
    tokenizer = AutoTokenizer.from_pretrained(minilm_path())
    docs = demo_docs(tmp)
    texts = long_chunks(docs, tokenizer, args.chunks)
    print(f"{len(texts)} chunks of 254 tokens ({np.mean([len(t) for t in texts]):.0f} characters on average)")

    baseline = SentenceTransformer(minilm_path(), device="cpu")
    ours = {}
    for backend, quantize in variants:
        start = time.time()
        embedder = Embedder("builtin:minilm", backend, quantize, batch_size=64, cache_dir=ROOT / "cache/embeddings")
        embedder.model  # export (or load the exported model) before timing
        print(f"ragft {backend}:{quantize}: model ready in {time.time() - start:.1f} s")
        ours[(backend, quantize)] = (embedder, EmbeddingCache(tmp / "cache", embedder))
    warm = texts[:8]
    baseline.encode(warm, batch_size=64)
    for embedder, _ in ours.values():
        embedder.encode(warm)

    seconds = {"baseline": 0.0, **{v: 0.0 for v in ours}}
    vectors = {"baseline": [], **{v: [] for v in ours}}
    per_round = -(-len(texts) // args.rounds)
    for r in range(args.rounds):
        batch = texts[r * per_round : (r + 1) * per_round]
        sides = ["baseline", *ours]
        for side in sides if r % 2 == 0 else reversed(sides):
            start = time.time()
            if side == "baseline":
                vecs = baseline.encode(batch, batch_size=64)
            else:
                embedder, cache = ours[side]
                vecs, stats = embed_texts(embedder, batch, cache)
                assert stats["embedded"] == len(batch), stats
            seconds[side] += time.time() - start
            vectors[side].append(np.asarray(vecs, dtype=np.float32))
        print(f"round {r + 1}/{args.rounds}: " + ", ".join(f"{s if s == 'baseline' else ':'.join(s)} "
              f"{seconds[s]:.1f} s" for s in seconds), flush=True)

    base_rate = len(texts) / seconds["baseline"]
    ref = np.concatenate(vectors["baseline"])
    ref /= np.linalg.norm(ref, axis=1, keepdims=True)
    print(f"\nbaseline SentenceTransformer.encode(batch_size=64): {base_rate:.1f} chunks/s ({seconds['baseline']:.1f} s)")
    for v in ours:
        rate = len(texts) / seconds[v]
        cos = float(np.mean(np.sum(np.concatenate(vectors[v]) * ref, axis=1)))
        print(f"ragft embed {':'.join(v)}: {rate:.1f} chunks/s ({seconds[v]:.1f} s), "
              f"ratio {rate / base_rate:.2f}x, mean cosine to the baseline's vectors {cos:.4f}")

    if not args.no_quality:
        torch_q = demo_quality(Embedder("builtin:minilm"), docs, tokenizer, tmp)
        print(f"\ndemo dense retrieval, torch backend: {torch_q}")
        for v, (embedder, _) in ours.items():
            q = demo_quality(embedder, docs, tokenizer, tmp)
            diff = q["answer_recall@10"] - torch_q["answer_recall@10"]
            print(f"demo dense retrieval, {':'.join(v)}: {q}; answer_recall@10 difference {diff:+.4f}")


if __name__ == "__main__":
    main()
