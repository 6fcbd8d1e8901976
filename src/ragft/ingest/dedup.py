"""Duplicate detection over doc references: exact (same normalised text) and near (MinHash LSH).

Both keep the first doc in `priority` order (shortest id, then id: `report.txt` beats
`report-copy.txt`) and reject the others naming the kept doc. Near duplicates: a doc's word n-gram
set is summarised by a MinHash signature (datasketch's affine32 scheme); LSH banding, with the bands
and rows datasketch chooses for the threshold (tuned for recall), proposes as candidates the earlier
docs that share a band; a candidate counts only if it was kept and the signatures' estimated Jaccard
similarity reaches the threshold, so each rejected doc names a kept one. The band index is a sorted
numpy array per band, 8 bytes per doc and band: datasketch's MinHashLSH holds about 6 KB per doc.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import xxhash
from datasketch import MinHash, MinHashLSH

SEED = 1  # MinHash permutations derive from this fixed seed, so signatures are reproducible
_CHUNK = 2048  # shingles per MinHash update: keeps the (shingles x permutations) work array in cache
_POLY = np.uint64(0x100000001B3)  # odd multiplier that folds n word hashes into one shingle hash
MAX_CANDIDATES = 64  # earlier docs of one band bucket that a doc is compared with


class DocKey(NamedTuple):
    """What dedup needs of a doc: its id and text hash, and (for near dedup) its MinHash values."""

    id: str
    sha256: str
    signature: np.ndarray | None = None


class Duplicate(NamedTuple):
    """A doc found to duplicate a kept one; `similarity` is 1.0 for an exact duplicate."""

    id: str
    kept: str
    reason: str
    similarity: float


def priority(doc_id: str) -> tuple[int, str]:
    """Dedup order: shorter ids first, then by id."""
    return len(doc_id), doc_id


def shingle_hashes(text: str, ngram: int) -> np.ndarray:
    """32-bit hashes of the text's word n-grams (lower-cased, split on whitespace).

    A text shorter than `ngram` words is one shingle; an empty text has none."""
    words = text.lower().split()
    if not words:
        return np.zeros(0, dtype=np.uint32)
    hashes = _word_hashes(words)
    n = min(ngram, len(words))
    count = len(words) - n + 1
    shingles = hashes[:count].copy()
    for k in range(1, n):  # polynomial rolling combination, wrapping modulo 2**64
        shingles = shingles * _POLY + hashes[k : k + count]
    return ((shingles >> np.uint64(32)) ^ shingles).astype(np.uint32)


_WORD_HASHES: dict[str, int] = {}  # per process: most words recur across a corpus's docs
_WORD_CACHE_MAX = 500_000  # entries (about 70 MB); the cache starts afresh when it would grow past


def _word_hashes(words: list[str]) -> np.ndarray:
    """64-bit xxhash of each word, computed once per distinct word and process."""
    cache = _WORD_HASHES
    new = set(words).difference(cache)
    if len(cache) + len(new) > _WORD_CACHE_MAX:
        cache.clear()
        new = set(words)
    for word in new:
        cache[word] = xxhash.xxh64_intdigest(word.encode("utf-8", "surrogatepass"))
    return np.fromiter(map(cache.__getitem__, words), dtype=np.uint64, count=len(words))


@dataclass(frozen=True)
class Signer:
    """MinHash signatures of word n-gram sets, `num_perm` 32-bit values each.

    The values are those of datasketch's `MinHash(num_perm, seed=SEED, scheme="affine32")` updated
    with the shingle hashes (tests/unit/ingest/test_dedup.py checks it); `update_batch` calls a Python
    function per shingle, so the same arithmetic is done here on whole numpy arrays."""

    num_perm: int = 128
    ngram: int = 5

    def signature(self, text: str) -> np.ndarray:
        """The text's MinHash values (uint32, length num_perm); all 2**32-1 for an empty text."""
        a, b = _permutations(self.num_perm)
        values = np.full(self.num_perm, np.iinfo(np.uint32).max, dtype=np.uint32)
        shingles = _fmix32(shingle_hashes(text, self.ngram))
        for start in range(0, len(shingles), _CHUNK):
            permuted = shingles[start : start + _CHUNK, None] * a + b  # wraps modulo 2**32
            np.minimum(values, permuted.min(axis=0), out=values)
        return values


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer, which datasketch's affine32 scheme applies before permuting."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


_PERMUTATIONS: dict[int, np.ndarray] = {}


def _permutations(num_perm: int) -> np.ndarray:
    """datasketch's permutation parameters for (num_perm, SEED), made once per process."""
    if num_perm not in _PERMUTATIONS:
        _PERMUTATIONS[num_perm] = MinHash(num_perm=num_perm, seed=SEED).permutations
    return _PERMUTATIONS[num_perm]


def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) that datasketch picks for `threshold`, weighting missed duplicates 19:1 over
    false candidates (candidates are verified afterwards, misses are not); at least 2 bands."""
    try:
        lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, weights=(0.05, 0.95))
    except ValueError:  # datasketch wants 2 bands or more; thresholds near 1 would give one
        return 2, num_perm // 2
    return lsh.b, lsh.r


def exact_duplicates(docs: Iterable[DocKey]) -> tuple[list[DocKey], list[Duplicate]]:
    """(kept, duplicates): per sha256, the first doc in priority order is kept."""
    kept_id: dict[str, str] = {}
    kept, dups = [], []
    for doc in sorted(docs, key=lambda d: priority(d.id)):
        if doc.sha256 in kept_id:
            dups.append(Duplicate(doc.id, kept_id[doc.sha256], "exact_duplicate", 1.0))
        else:
            kept_id[doc.sha256] = doc.id
            kept.append(doc)
    return kept, dups


def near_duplicates(docs: Iterable[DocKey], threshold: float, num_perm: int) -> tuple[list[DocKey], list[Duplicate]]:
    """(kept, duplicates): a doc whose estimated Jaccard similarity to an earlier kept doc (priority
    order) is at least `threshold` is a duplicate of the most similar one (the earliest on ties)."""
    docs = sorted(docs, key=lambda d: priority(d.id))
    if not docs:
        return [], []
    signatures = np.stack([d.signature for d in docs])
    kept = np.ones(len(docs), dtype=bool)
    dups = []
    for i, earlier in sorted(band_candidates(signatures, *lsh_params(threshold, num_perm)).items()):
        best, best_sim = -1, threshold
        for j in sorted(earlier):
            sim = float(np.mean(signatures[i] == signatures[j]))
            if kept[j] and (sim > best_sim or (best < 0 and sim >= threshold)):
                best, best_sim = j, sim
        if best >= 0:
            kept[i] = False
            dups.append(Duplicate(docs[i].id, docs[best].id, "near_duplicate", best_sim))
    return [d for d, k in zip(docs, kept) if k], dups


def band_candidates(signatures: np.ndarray, bands: int, rows: int) -> dict[int, set[int]]:
    """For each row index i of `signatures`, the earlier rows j < i that agree with it on all `rows`
    values of at least one band (at most MAX_CANDIDATES per band); rows without any are left out."""
    out: dict[int, set[int]] = {}
    for band in range(bands):
        keys = _band_keys(signatures[:, band * rows : (band + 1) * rows])
        order = np.argsort(keys, kind="stable")  # stable: equal keys stay in row (priority) order
        sorted_keys = keys[order]
        starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
        ends = np.r_[starts[1:], len(keys)]
        for start, end in zip(starts[ends - starts > 1], ends[ends - starts > 1]):
            bucket = order[start:end].tolist()
            for pos in range(1, len(bucket)):
                out.setdefault(bucket[pos], set()).update(bucket[: min(pos, MAX_CANDIDATES)])
    return out


def _band_keys(band: np.ndarray) -> np.ndarray:
    """One 64-bit key per row of a band (a polynomial hash of its values; a collision only adds a
    candidate, which verification then drops)."""
    keys = np.zeros(len(band), dtype=np.uint64)
    for col in range(band.shape[1]):
        keys = keys * _POLY + band[:, col].astype(np.uint64)
    return keys
