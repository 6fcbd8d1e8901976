"""Incremental re-indexing: a full build of a 2,000-doc corpus, then 20 docs added and a rebuild.

    env -u PYTHONDONTWRITEBYTECODE .venv/bin/python benchmarks/incremental.py --docs 2000 --add 20

The corpus is the demo's generator run with ten seeds (200 docs each: crop varieties as markdown,
pests and district bulletins as text; every fact invented), the added docs come from an eleventh
seed. A build is what the workflow's retrieval stages do, in-process: ingest (clean, dedup), chunk
(the demo config: sentences, 64 tokens, overlap 16), embed through the content-addressed cache
(`ragft.retrieval.embed`, the demo's torch backend), then the FAISS index (`auto`) and the BM25 index. It
prints, for the full build and the rebuild, each stage's seconds and the chunks embedded, and the
rebuild's embedding work (chunks and tokens embedded) and wall time as fractions of the full build's.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from ragft.demo_data.handbook import build_entities, render_bulletin, render_pest, render_variety  # noqa: E402
from ragft.ingest.run import run_ingest  # noqa: E402
from ragft.jsonl import read_jsonl, write_text  # noqa: E402
from ragft.models.specs import minilm_path  # noqa: E402
from ragft.retrieval.chunk import chunk_docs  # noqa: E402
from ragft.retrieval.embed import Embedder, EmbeddingCache, embed_texts, text_key  # noqa: E402
from ragft.retrieval.index import build_bm25, build_dense  # noqa: E402


def write_docs(folder: Path, seed: int, limit: int | None = None) -> int:
    """The demo generator's entities of one seed as files under folder/seed{seed}/; how many."""
    rng = random.Random(seed + 1)
    n = 0
    for e in build_entities(seed)[:limit]:
        if e.kind == "variety":
            text, name = render_variety(rng, e), e.doc_id
        elif e.kind == "pest":
            text, name = render_pest(rng, e), e.doc_id
        else:
            b = render_bulletin(rng, e)
            text, name = f"{b['title']}\n\n{b['text']}\n", f"bulletins/{e.slug}.txt"
        write_text(folder / f"seed{seed}" / name, text)
        n += 1
    return n


def build(corpus: Path, out: Path, cache_dir: Path, tokenizer) -> dict:
    """One build of the retrieval stages; seconds per stage and embedding counts."""
    t, start = {}, time.time()
    run_ingest(str(corpus), out / "docs.jsonl", out / "rejected.jsonl", out / "manifest.json", threads=2)
    t["ingest"] = time.time() - start
    mark = time.time()
    docs = read_jsonl(out / "docs.jsonl")
    chunks = chunk_docs(docs, tokenizer, 64, 16, "sentences")
    t["chunk"] = time.time() - mark
    embedder = Embedder("builtin:minilm", batch_size=64, cache_dir=cache_dir)
    cache = EmbeddingCache(cache_dir, embedder)
    texts = [c["text"] for c in chunks]
    counting = time.time()  # only to count the tokens that will be embedded; not part of the build
    known = cache.lookup([text_key(x) for x in texts])
    new = {text_key(c["text"]): c["n_tokens"] for c in chunks if text_key(c["text"]) not in known}
    counting = time.time() - counting
    mark = time.time()
    vectors, stats = embed_texts(embedder, texts, cache)
    t["embed"] = time.time() - mark
    mark = time.time()
    meta = build_dense(vectors, [c["id"] for c in chunks], out / "dense", embedder, "auto")
    build_bm25(texts, [c["id"] for c in chunks], out / "bm25")
    t["index"] = time.time() - mark
    t["total"] = time.time() - start - counting
    return {"seconds": t, "docs": len(docs), "chunks": len(chunks), "factory": meta["factory"], **stats,
            "tokens_embedded": sum(new.values())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=2000, help="docs in the first build (multiples of 200)")
    parser.add_argument("--add", type=int, default=20, help="docs added before the rebuild")
    args = parser.parse_args()

    import torch
    from transformers import AutoTokenizer

    print(f"torch threads {torch.get_num_threads()}, cores {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")
    tmp = Path(tempfile.mkdtemp(prefix="incremental-bench-"))
    corpus, cache_dir = tmp / "corpus", tmp / "cache"
    seeds = range(1, args.docs // 200 + 1)
    n = sum(write_docs(corpus, seed) for seed in seeds)
    tokenizer = AutoTokenizer.from_pretrained(minilm_path())

    full = build(corpus, tmp / "full", cache_dir, tokenizer)
    added = write_docs(corpus, max(seeds) + 1, args.add)
    again = build(corpus, tmp / "rebuild", cache_dir, tokenizer)

    for name, r in (("full build", full), ("rebuild", again)):
        s = r["seconds"]
        print(f"{name}: {r['docs']} docs, {r['chunks']} chunks ({r['factory']}); embedded {r['embedded']}, "
              f"from the cache {r['cached']}, repeated {r['repeated']}; seconds: ingest {s['ingest']:.1f}, "
              f"chunk {s['chunk']:.1f}, embed {s['embed']:.1f}, index {s['index']:.1f}, total {s['total']:.1f}")
    print(f"\nwrote {n} docs, then added {added}")
    work = again["embedded"] / full["embedded"]
    wall = again["seconds"]["total"] / full["seconds"]["total"]
    embed_wall = again["seconds"]["embed"] / full["seconds"]["embed"]
    print(f"rebuild embedding work: {again['embedded']} / {full['embedded']} chunks = {work:.2%}, "
          f"{again['tokens_embedded']} / {full['tokens_embedded']} tokens = "
          f"{again['tokens_embedded'] / full['tokens_embedded']:.2%} of the full build's")
    print(f"rebuild embedding time: {embed_wall:.2%}; rebuild wall time: {wall:.2%} of the full build's")


if __name__ == "__main__":
    main()
