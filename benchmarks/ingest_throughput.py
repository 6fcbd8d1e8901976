"""Ingest throughput: ragft's ingest against datatrove's reader + exact dedup + MinHash dedup.

    env -u PYTHONDONTWRITEBYTECODE .venv/bin/python benchmarks/ingest_throughput.py --mb 200 --cores 2

Generates a corpus of JSONL shards (mixed document sizes; 5% exact and 5% near duplicates), then
runs on it, with the same cores and dedup settings (word 5-grams, 128 MinHash values in 16 bands of
8), (1) ragft.ingest.run_ingest and (2) datatrove's equivalent pipeline: JsonlReader ->
ExactDedupSignature / ExactFindDedups / ExactDedupFilter -> JsonlWriter, then JsonlReader ->
MinhashDedupSignature / Buckets / Cluster / Filter -> JsonlWriter (uncompressed, fork workers,
words split on whitespace).
It prints MB/s and docs/s for both, their ratio, and the duplicates each found. ragft also cleans
(repair, normalisation, quality filters) and writes docs sorted by id; datatrove does neither.

datatrove is an optional extra: pip install -e '.[bench]'
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ragft.ingest.dedup import lsh_params
from ragft.ingest.run import run_ingest

NGRAM, NUM_PERM, THRESHOLD = 5, 128, 0.8
MIN_WORDS, MAX_WORDS = 30, 20_000  # document sizes: log-uniform between these word counts
NEAR_MIN_WORDS = 600  # near duplicates are made of documents at least this long
DUP_SHARE = 0.05  # of all documents: this share exact copies, and as many near copies


# --- corpus ----------------------------------------------------------------------------------


def vocabulary(rng: np.random.Generator, size: int = 30_000) -> tuple[list[str], np.ndarray]:
    """Pseudo-words of 2-10 letters and the cumulative Zipf distribution they are drawn from."""
    lengths = rng.integers(2, 11, size * 2)
    letters = "".join(np.array(list("abcdefghijklmnopqrstuvwxyz"))[rng.integers(0, 26, lengths.sum())])
    ends = np.cumsum(lengths).tolist()
    words = list(dict.fromkeys(letters[end - n : end] for end, n in zip(ends, lengths.tolist())))[:size]
    weights = 1.0 / (np.arange(len(words)) + 10.0)
    return words, np.cumsum(weights / weights.sum())


def document(rng: np.random.Generator, words: list[str], cdf: np.ndarray, n: int) -> str:
    """n Zipf-drawn words in sentences of 6-20 words and paragraphs of 3-8 sentences."""
    tokens = [words[i] for i in np.searchsorted(cdf, rng.random(n)).tolist()]
    sentence_lengths = rng.integers(6, 21, n // 6 + 1).tolist()
    paragraph_lengths = rng.integers(3, 9, n // 18 + 1).tolist()
    paragraphs, sentences, start = [], [], 0
    while start < n:
        end = min(n, start + sentence_lengths.pop())
        sentences.append(" ".join(tokens[start:end]).capitalize() + ".")
        start = end
        if len(sentences) >= paragraph_lengths[-1] or start >= n:
            paragraphs.append(" ".join(sentences))
            sentences = []
            paragraph_lengths.pop()
    return "\n\n".join(paragraphs)


def near_copy(rng: np.random.Generator, text: str, words: list[str]) -> str:
    """The text with one word in 300 replaced (word 5-gram Jaccard about 0.97)."""
    tokens = text.split(" ")
    plain = [i for i, t in enumerate(tokens) if t.isalpha() and t.islower()]
    for i in rng.choice(plain, max(1, len(tokens) // 300), replace=False):
        tokens[i] = "zz" + words[int(rng.integers(len(words)))]  # a word no original has
    return " ".join(tokens)


def make_corpus(folder: Path, mb: float, shards: int, seed: int = 0) -> dict:
    """Write the corpus as JSONL shards ({"id", "text"}); return its size and planted duplicates."""
    rng = np.random.default_rng(seed)
    words, cdf = vocabulary(rng)
    target = mb * 2**20
    originals: list[str] = []
    size = 0
    while size < target / (1 + 2 * DUP_SHARE / (1 - 2 * DUP_SHARE)):
        n = int(np.exp(rng.uniform(np.log(MIN_WORDS), np.log(MAX_WORDS))))
        originals.append(document(rng, words, cdf, n))
        size += len(originals[-1])
    n_dups = round(len(originals) * DUP_SHARE / (1 - 2 * DUP_SHARE))
    long_ones = [i for i, t in enumerate(originals) if t.count(" ") >= NEAR_MIN_WORDS]
    near_src = rng.choice(long_ones, n_dups, replace=False)
    exact_src = rng.choice(sorted(set(range(len(originals))) - set(near_src.tolist())), n_dups, replace=False)
    texts = originals + [originals[i] for i in exact_src] + [near_copy(rng, originals[i], words) for i in near_src]
    order = rng.permutation(len(texts))
    folder.mkdir(parents=True)
    handles = [open(folder / f"shard-{k:03d}.jsonl", "w", encoding="utf-8") for k in range(shards)]
    for pos, i in enumerate(order):
        handles[pos % shards].write(json.dumps({"id": f"d{i:07d}", "text": texts[i]}) + "\n")
    for fh in handles:
        fh.close()
    nbytes = sum(p.stat().st_size for p in folder.iterdir())
    return {"docs": len(texts), "bytes": nbytes, "exact": n_dups, "near": n_dups}


# --- the two pipelines -----------------------------------------------------------------------


def run_ragft(corpus: Path, work: Path, cores: int) -> dict:
    """ragft's ingest: read, clean, exact and near dedup, write docs.jsonl."""
    out = [work / "ragft" / n for n in ("docs.jsonl", "rejected.jsonl", "ingest_manifest.json")]
    start = time.perf_counter()
    manifest = run_ingest(
        str(corpus), *out, threads=cores,
        near_dup_threshold=THRESHOLD, near_dup_num_perm=NUM_PERM, near_dup_ngram=NGRAM,
    )
    seconds = time.perf_counter() - start
    reasons = manifest["rejected_by_reason"]
    other = manifest["rejected"] - reasons["exact_duplicate"] - reasons["near_duplicate"]
    return {"seconds": seconds, "kept": manifest["accepted"], "exact": reasons["exact_duplicate"],
            "near": reasons["near_duplicate"], "other_rejections": other}


def text_of(doc) -> str:
    """The content datatrove's exact dedup hashes."""
    return doc.text


def run_datatrove(corpus: Path, work: Path, cores: int, shards: int) -> dict:
    """datatrove's reader, exact dedup and MinHash dedup stages, run one after the other."""
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup import (
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.dedup.exact_dedup import (
        ExactDedupConfig,
        ExactDedupFilter,
        ExactDedupSignature,
        ExactFindDedups,
    )
    from datatrove.pipeline.dedup.minhash import MinhashConfig
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    from datatrove.utils.word_tokenizers import WordTokenizer

    class SplitTokenizer(WordTokenizer):
        """Words split on whitespace, as ragft shingles them. datatrove's own tokenizers need spaCy
        or NLTK, which would only make it slower; its simplify_text has already taken punctuation out."""

        def word_tokenize(self, text: str) -> list[str]:
            return text.split()

        def sent_tokenize(self, text: str) -> list[str]:
            return [text]

        def span_tokenize(self, text: str) -> list[tuple[int, int]]:
            return [(0, len(text))]

    _xxhash_accepts_str()
    w = work / "datatrove"
    bands, rows = lsh_params(THRESHOLD, NUM_PERM)
    minhash = MinhashConfig(n_grams=NGRAM, num_buckets=bands, hashes_per_bucket=rows)
    exact = ExactDedupConfig(content_getter=text_of)

    def stage(name: str, pipeline: list, tasks: int) -> None:
        LocalPipelineExecutor(pipeline, tasks=tasks, workers=min(cores, tasks), logging_dir=str(w / "logs" / name),
                              start_method="fork", skip_completed=False).run()

    def reader(folder: Path):
        return JsonlReader(str(folder), glob_pattern="*.jsonl")

    start = time.perf_counter()
    stage("exact_sig", [reader(corpus), ExactDedupSignature(str(w / "exact_sigs"), exact)], shards)
    stage("exact_find", [ExactFindDedups(str(w / "exact_sigs"), str(w / "exact_dups"), exact)], 1)
    stage("exact_filter", [reader(corpus), ExactDedupFilter(str(w / "exact_dups"), exact),
                           JsonlWriter(str(w / "exact_out"), compression=None)], shards)
    stage("mh_sig", [reader(w / "exact_out"), MinhashDedupSignature(str(w / "mh_sigs"), minhash, language=SplitTokenizer())], shards)
    stage("mh_buckets", [MinhashDedupBuckets(str(w / "mh_sigs"), str(w / "mh_buckets"), config=minhash)], bands)
    stage("mh_cluster", [MinhashDedupCluster(str(w / "mh_buckets"), str(w / "mh_ids"), config=minhash)], 1)
    stage("mh_filter", [reader(w / "exact_out"), MinhashDedupFilter(str(w / "mh_ids")),
                        JsonlWriter(str(w / "final"), compression=None)], shards)
    seconds = time.perf_counter() - start
    after_exact, kept = _count_lines(w / "exact_out"), _count_lines(w / "final")
    return {"seconds": seconds, "kept": kept, "after_exact": after_exact}


def _xxhash_accepts_str() -> None:
    """datatrove 0.9 hands str to xxhash, which since xxhash 4 wants bytes: encode first (as its
    sha1 path does), in the parent, so that the forked workers inherit it."""
    import xxhash
    from datatrove.utils.hashes import xxhash as dt_xxhash

    dt_xxhash.xxhash32 = lambda data: xxhash.xxh32_intdigest(data.encode() if isinstance(data, str) else data)
    dt_xxhash.xxhash64 = lambda data: xxhash.xxh64_intdigest(data.encode() if isinstance(data, str) else data)


def _count_lines(folder: Path) -> int:
    return sum(sum(1 for _ in open(p, "rb")) for p in glob.glob(str(folder / "**" / "*.jsonl"), recursive=True))


# --- report ----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=200, help="corpus size in MiB (default 200)")
    parser.add_argument("--cores", type=int, default=os.cpu_count(), help="processes for both pipelines")
    parser.add_argument("--shards", type=int, default=32, help="JSONL files the corpus is written as")
    parser.add_argument("--workdir", help="where to build the corpus and outputs (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="ragft-bench-"))
    start = time.perf_counter()
    try:
        return report(work, args)
    finally:
        print(f"total: {time.perf_counter() - start:.0f} s")
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def report(work: Path, args) -> int:
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; using {args.cores} cores")
    t = time.perf_counter()
    corpus = make_corpus(work / "corpus", args.mb, args.shards)
    mb, docs = corpus["bytes"] / 2**20, corpus["docs"]
    print(f"corpus: {mb:.1f} MiB, {docs} docs in {args.shards} JSONL shards, planted {corpus['exact']} exact "
          f"and {corpus['near']} near duplicates (generated in {time.perf_counter() - t:.0f} s)")
    bands, rows = lsh_params(THRESHOLD, NUM_PERM)
    print(f"dedup: word {NGRAM}-grams, {NUM_PERM} MinHash values, LSH {bands} bands x {rows} rows, threshold {THRESHOLD}")

    ours = run_ragft(work / "corpus", work, args.cores)
    print_row("ragft", mb, docs, ours["seconds"], ours["exact"], ours["near"])
    if ours["other_rejections"]:
        print(f"  (ragft also rejected {ours['other_rejections']} docs for other reasons)")
    try:
        import datatrove  # noqa: F401
    except ImportError:
        print("datatrove is not installed; for the comparison run: pip install -e '.[bench]'  (datatrove==0.9.0, orjson==3.13.0)")
        return 2
    theirs = run_datatrove(work / "corpus", work, args.cores, args.shards)
    t_exact, t_near = docs - theirs["after_exact"], theirs["after_exact"] - theirs["kept"]
    print_row("datatrove", mb, docs, theirs["seconds"], t_exact, t_near)
    ratio = theirs["seconds"] / ours["seconds"]
    same = (ours["exact"], ours["near"]) == (t_exact, t_near)
    print(f"ratio (ragft / datatrove throughput): {ratio:.2f}; same duplicates found: {'yes' if same else 'no'}")
    return 0


def print_row(name: str, mb: float, docs: int, seconds: float, exact: int, near: int) -> None:
    print(f"{name:>10}: {seconds:7.1f} s  {mb / seconds:6.2f} MiB/s  {docs / seconds:8.1f} docs/s  "
          f"exact duplicates {exact}, near duplicates {near}")


if __name__ == "__main__":
    sys.exit(main())
