"""FAISS index scaling: build time, memory, queries/s and recall@10 against exact search for Flat,
HNSW32, IVF-PQ and `auto` at 10k, 100k and 1M vectors.

    env -u PYTHONDONTWRITEBYTECODE .venv/bin/python benchmarks/index_scaling.py --sizes 10000 100000 1000000

The vectors are synthetic, seeded and 384-dimensional, shaped like sentence embeddings rather than
like uniform noise (on which no approximate index works): 20,000 topic centres around 200 broader
themes; each vector is its topic's centre (norm 1) plus a part in a shared 48-dimensional subspace
(norm ~0.5) plus isotropic noise (norm ~0.5), normalised. A query's nearest vector then has cosine
~0.70, its 10th ~0.45, a random one ~0: neighbourhoods that span topics, as text embeddings do.
Queries (1,000; `--queries`) are drawn the same way and are not in the index. Every index is
searched with inner product on all queries at once with all cores (after a warm-up, best of up to
three runs); exact search gives the true top 10. Build time includes training and the tuning of nprobe/efSearch to recall@10 >= 0.95
(`ragft.retrieval.index.build_index`: 200 vectors held out as queries, added afterwards); memory is the
serialised index's size.
- Flat: exact search, the baseline of queries/s;
- HNSW32: `HNSW32`, efSearch tuned (skipped above `--hnsw-max` vectors: its build is the slowest);
- IVF-PQ: `IVF{4*sqrt(n) as a power of 2},PQ96x4fs` (96 4-bit codes: 48 bytes a vector, FAISS's
  SIMD fast-scan PQ; 8-bit `PQ48` trains for minutes here), nprobe tuned (PQ's own error caps its
  recall, so the tuning takes the best it reaches);
- auto: `ragft.retrieval.index.choose_factory(n)`, tuned as the workflow does.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from ragft.retrieval.index import (  # noqa: E402
    build_index,
    choose_factory,
    exact_neighbours,
    recall_at_k,
)

D = 384


def synthetic(n: int, seed: int, topics: np.ndarray, basis: np.ndarray, block: int = 100_000) -> np.ndarray:
    """`n` normalised float32 vectors: a topic centre (norm 1) + a part in a shared low-rank
    subspace (norm about 0.5) + isotropic noise (norm about 0.5)."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, D), dtype=np.float32)
    for lo in range(0, n, block):
        m = min(block, n - lo)
        x = topics[rng.integers(0, len(topics), m)]
        x += rng.standard_normal((m, basis.shape[0]), dtype=np.float32) @ basis
        x += (0.5 / math.sqrt(D)) * rng.standard_normal((m, D), dtype=np.float32)
        out[lo : lo + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def topics_and_basis(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """20,000 topic centres around 200 broader themes, and the shared 48-dimensional subspace."""
    rng = np.random.default_rng(seed)
    themes = rng.standard_normal((200, D), dtype=np.float32) / math.sqrt(D)
    topics = themes[rng.integers(0, 200, 20_000)] + rng.standard_normal((20_000, D), dtype=np.float32) / math.sqrt(D)
    topics /= np.linalg.norm(topics, axis=1, keepdims=True)
    return topics, rng.standard_normal((48, D), dtype=np.float32) * (0.5 / math.sqrt(48 * D))


def queries_per_s(index, xq: np.ndarray) -> tuple[float, np.ndarray]:
    """Throughput of searching all queries at once (after a warm-up; best of up to 3 runs within ~3 s)."""
    index.search(xq[:16], 10)
    best, spent, found = float("inf"), 0.0, None
    for _ in range(3):
        start = time.time()
        _, found = index.search(xq, 10)
        took = time.time() - start
        best, spent = min(best, took), spent + took
        if spent > 3:
            break
    return len(xq) / best, found


def measure(name: str, factory: str, xb: np.ndarray, xq: np.ndarray, truth: np.ndarray, target: float) -> dict:
    import faiss

    start = time.time()
    built = build_index(xb, factory, target_recall=target)
    build = time.time() - start
    index = built["index"]
    memory = faiss.serialize_index(index).nbytes
    qps, found = queries_per_s(index, xq)
    found = np.where(found >= 0, built["order"][np.maximum(found, 0)], -1)  # index position -> vector row
    return {"index": name, "factory": built["factory"], "params": built["search_params"] or "-", "build_s": build,
            "memory_mb": memory / 2**20, "qps": qps, "recall@10": recall_at_k(found, truth, 10)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--hnsw-max", type=int, default=100_000, help="largest size that builds HNSW32")
    parser.add_argument("--target", type=float, default=0.95, help="recall@10 the tuning aims at")
    parser.add_argument("--indexes", nargs="+", default=["Flat", "HNSW32", "IVF-PQ", "auto"],
                        help="which to build (Flat is always measured: it is the baseline)")
    args = parser.parse_args()

    import faiss

    print(f"faiss {faiss.__version__}, {faiss.omp_get_max_threads()} threads, cores {os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    topics, basis = topics_and_basis()
    xq = synthetic(args.queries, 1, topics, basis)
    rows = []
    for n in args.sizes:
        xb = synthetic(n, 2, topics, basis)
        start = time.time()
        truth = exact_neighbours(xq, xb, 10)
        exact_s = time.time() - start
        lists = 2 ** round(math.log2(4 * math.sqrt(n)))
        plan = [("Flat", "Flat"), ("HNSW32", "HNSW32"), ("IVF-PQ", f"IVF{lists},PQ96x4fs"), ("auto", "auto")]
        for name, factory in plan:
            if name != "Flat" and name not in args.indexes:
                continue
            if name == "HNSW32" and n > args.hnsw_max:
                print(f"n={n:>9,} {name:7} skipped (n > --hnsw-max {args.hnsw_max:,})", flush=True)
                continue
            r = {"n": n, **measure(name, factory, xb, xq, truth, args.target)}
            rows.append(r)
            print(f"n={n:>9,} {name:7} {r['factory']:22} {r['params']:32} build {r['build_s']:7.1f} s  "
                  f"memory {r['memory_mb']:8.1f} MB  {r['qps']:9.0f} queries/s  recall@10 {r['recall@10']:.3f}",
                  flush=True)
        flat = next(r for r in rows if r["n"] == n and r["index"] == "Flat")
        auto = next((r for r in rows if r["n"] == n and r["index"] == "auto"), None)
        if auto:
            print(f"n={n:>9,} auto = {choose_factory(n)}: {auto['qps'] / flat['qps']:.1f}x Flat's queries/s at "
                  f"recall@10 {auto['recall@10']:.3f} (exact top-10 of {len(xq)} queries: {exact_s:.1f} s)\n", flush=True)
        del xb

    print("| n | index | factory | search | build s | memory MB | queries/s | x Flat | recall@10 |")
    print("|---|---|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        flat = next(f for f in rows if f["n"] == r["n"] and f["index"] == "Flat")
        print(f"| {r['n']:,} | {r['index']} | `{r['factory']}` | {r['params']} | {r['build_s']:.1f} | "
              f"{r['memory_mb']:.1f} | {r['qps']:.0f} | {r['qps'] / flat['qps']:.1f} | {r['recall@10']:.3f} |")


if __name__ == "__main__":
    main()
