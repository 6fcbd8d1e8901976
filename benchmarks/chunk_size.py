"""Chunk size against retrieval: answer recall@5 of dense, BM25 and hybrid retrieval on a public QA
set at each chunk.size, and on a long document without questions how many chunks each size makes
and how much of them the embedder's window would cut.

    env -u PYTHONDONTWRITEBYTECODE .venv/bin/python benchmarks/chunk_size.py \
        --squad ../shared/data/agxqa/agxqa_sample.json --pdf ../shared/data/sec/3M_2018_10K.pdf

Everything is ragft's own, as the workflow runs it with the schema's other defaults: ingest (the
PDF with max_repeated_lines 1.0, as its page furniture fails the default filter), `sentences`
chunking at each size with overlap 16 (`--overlaps` tries others), builtin:minilm on torch, an exact FAISS
index, BM25 (bm25s, k1 1.5, b 0.75), and hybrid `score` fusion of each part's top 100 with its
dense weight chosen among 21 by MRR@10. Every answerable question is asked; the hybrid weight of
each question is chosen on the other four fifths of them (5-fold cross-fitting), never on itself.
Columns:
- answer_recall@5: a gold answer (SQuAD-normalised, whole tokens) in one of the top 5 chunks;
- within 512 tokens: the same for the top chunks that fit, together, in 512 tokens of context (at
  least one): bigger chunks hold more text each, so recall@5 alone favours them;
- long contexts: answer_recall@5 of the questions whose context is longer than 254 tokens, the
  only ones that larger chunks can keep in one piece.
For the PDF: chunk count, mean and largest chunk (tokens), and the chunks longer than what
builtin:minilm reads (254 tokens: 256 less [CLS] and [SEP]), with the tokens they lose.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from ragft.ingest.run import ingest
from ragft.models.specs import resolve
from ragft.qa.gold import DocIndex, load_gold
from ragft.retrieval.chunk import chunk_docs, count_tokens, load_offsets_tokenizer
from ragft.retrieval.embed import Embedder, embed_texts
from ragft.retrieval.hybrid import choose_weight, fuse
from ragft.retrieval.index import BM25Searcher, DenseSearcher, build_bm25, build_dense
from ragft.retrieval.metrics import retrieval_metrics
from ragft.retrieval.window import passage_room

DEPTH, FOLDS, BUDGET = 100, 5, 512


class QueryMemo(Embedder):
    """The embedder, each question embedded once for every chunk size."""

    memo: dict

    def encode(self, texts, progress=False, kind="passage"):
        if kind != "query":
            return super().encode(texts, progress, kind)
        self.memo = getattr(self, "memo", {})
        todo = [t for t in dict.fromkeys(texts) if t not in self.memo]
        if todo:
            self.memo.update(zip(todo, super().encode(todo, kind="query")))
        return np.stack([self.memo[t] for t in texts])


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").is_file() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def cross_fitted_hybrid(dense_runs, bm25_runs, questions, chunk_doc, chunk_text) -> tuple[list, list[float]]:
    """Each question's fused top 20, with the weight chosen on the other folds' questions."""
    fused, weights = [None] * len(questions), []
    for fold in range(FOLDS):
        train = [i for i in range(len(questions)) if i % FOLDS != fold]
        choice = choose_weight([dense_runs[i] for i in train], [bm25_runs[i] for i in train],
                               [questions[i] for i in train], chunk_doc, chunk_text)
        weights.append(choice["weight"])
        for i in range(fold, len(questions), FOLDS):
            fused[i] = fuse(dense_runs[i], bm25_runs[i], choice["weight"])[:20]
    return fused, weights


def within_budget(runs, questions, chunks_by_id) -> float:
    """Answer recall over the top chunks that fit together in BUDGET tokens (the first always)."""
    from ragft.answers import holds_answer

    found = []
    for q, hits in zip(questions, runs):
        taken, used = [], 0
        for c, _ in hits:
            n = chunks_by_id[c]["n_tokens"]
            if taken and used + n > BUDGET:
                break
            taken.append(chunks_by_id[c]["text"])
            used += n
        found.append(any(holds_answer(t, q["answers"]) for t in taken))
    return round(sum(found) / len(found), 3)


def measure(size, docs, questions, long_ids, embedder, tokenizer, overlap, tmp) -> dict:
    """Chunk, embed, index and search at one chunk size: recalls per retriever and seconds."""
    start = time.time()
    chunks = chunk_docs(docs, tokenizer, size, overlap, "sentences")
    texts, ids = [c["text"] for c in chunks], [c["id"] for c in chunks]
    vectors, _ = embed_texts(embedder, texts)
    build_dense(vectors, ids, tmp / f"dense{size}", embedder, "Flat")
    build_bm25(texts, ids, tmp / f"bm25{size}")
    asked = [q["question"] for q in questions]
    runs = {"dense": DenseSearcher(tmp / f"dense{size}", embedder).search(asked, DEPTH),
            "bm25": BM25Searcher(tmp / f"bm25{size}").search(asked, DEPTH)}
    chunk_doc, chunk_text = {c["id"]: c["doc_id"] for c in chunks}, dict(zip(ids, texts))
    runs["hybrid"], weights = cross_fitted_hybrid(runs["dense"], runs["bm25"], questions, chunk_doc, chunk_text)
    by_id = {c["id"]: c for c in chunks}
    long = [i for i, q in enumerate(questions) if q["doc_ids"] and q["doc_ids"][0] in long_ids]
    out = {"size": size, "overlap": overlap, "chunks": len(chunks), "weights": weights,
           "mean_tokens": round(float(np.mean([c["n_tokens"] for c in chunks])), 1)}
    for name, run in runs.items():
        out[name] = retrieval_metrics(run, questions, chunk_doc, chunk_text, (5,))["answer_recall@5"]
        out[f"{name}_budget"] = within_budget(run, questions, by_id)
        out[f"{name}_long"] = retrieval_metrics([run[i] for i in long], [questions[i] for i in long],
                                                chunk_doc, chunk_text, (5,))["answer_recall@5"]
    out["n_long"], out["seconds"] = len(long), round(time.time() - start, 1)
    return out


def squad_table(path, sizes, overlaps, spec) -> None:
    start = time.time()
    docs = ingest([path]).docs
    questions, _ = load_gold(str(path), DocIndex.from_docs(docs))
    tokenizer = load_offsets_tokenizer(resolve(spec))
    room = passage_room(spec)["chunk"]
    long_ids = {d["id"] for d, n in zip(docs, count_tokens(tokenizer, [d["text"] for d in docs])) if n > room}
    embedder = QueryMemo(spec, "torch", batch_size=64)
    embedder.encode([q["question"] for q in questions], kind="query")
    print(f"\n{path}: {len(docs)} contexts ({len(long_ids)} longer than {room} tokens), {len(questions)} questions; "
          f"loaded and questions embedded in {time.time() - start:.1f} s")
    print(f"\n| chunk.size | overlap | chunks | mean tokens | answer_recall@5 dense | bm25 | hybrid | within {BUDGET} tokens: "
          "dense | bm25 | hybrid | long contexts (n): dense | bm25 | hybrid | hybrid weights | seconds |")
    print("|" + "---:|" * 15)
    with tempfile.TemporaryDirectory() as tmp:
        for size, overlap in [(s, o) for s in sizes for o in overlaps if o < s]:
            m = measure(size, docs, questions, long_ids, embedder, tokenizer, overlap, Path(tmp) / f"o{overlap}")
            cells = [m["size"], m["overlap"], m["chunks"], m["mean_tokens"], *(f"{m[r]:.3f}" for r in ("dense", "bm25", "hybrid")),
                     *(f"{m[f'{r}_budget']:.3f}" for r in ("dense", "bm25", "hybrid")),
                     f"{m['dense_long']:.3f} ({m['n_long']})", f"{m['bm25_long']:.3f}", f"{m['hybrid_long']:.3f}",
                     "/".join(f"{w:g}" for w in m["weights"]), m["seconds"]]
            print("| " + " | ".join(map(str, cells)) + " |", flush=True)


def pdf_table(path, sizes, overlap, spec) -> None:
    start = time.time()
    docs = ingest([path], max_repeated_lines=1.0).docs
    tokenizer = load_offsets_tokenizer(resolve(spec))
    room = passage_room(spec)
    total = sum(count_tokens(tokenizer, [d["text"] for d in docs]))
    print(f"\n{path}: {len(docs)} doc(s), {total:,} tokens, overlap {overlap}; ingested in {time.time() - start:.1f} s")
    print(f"\n| chunk.size | chunks | mean tokens | largest | chunks over {room['chunk']} | tokens cut from vectors | seconds |")
    print("|" + "---:|" * 7)
    for size in sizes:
        t = time.time()
        counts = [c["n_tokens"] for c in chunk_docs(docs, tokenizer, size, overlap, "sentences")]
        over = [n - room["chunk"] for n in counts if n > room["chunk"]]
        print(f"| {size} | {len(counts)} | {np.mean(counts):.1f} | {max(counts)} | {len(over)} | {sum(over):,} | "
              f"{time.time() - t:.1f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--squad", type=Path, help="a SQuAD-style JSON of contexts and questions")
    parser.add_argument("--pdf", type=Path, help="a long document without questions")
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 192, 256])
    parser.add_argument("--pdf-sizes", type=int, nargs="+", default=[64, 128, 192, 254, 256, 384, 512])
    parser.add_argument("--overlaps", type=int, nargs="+", default=[16], help="each tried at each QA size")
    parser.add_argument("--overlap", type=int, default=16, help="for the PDF")
    parser.add_argument("--embedder", default="builtin:minilm")
    args = parser.parse_args()
    import torch

    print(f"CPU: {cpu_model()}, {torch.get_num_threads()} threads; embedder {args.embedder} (torch)")
    start = time.time()
    if args.squad:
        squad_table(args.squad, args.sizes, args.overlaps, args.embedder)
    if args.pdf:
        pdf_table(args.pdf, args.pdf_sizes, args.overlap, args.embedder)
    print(f"\ntotal {time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
