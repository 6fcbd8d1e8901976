import numpy as np
import pytest
from datasketch import MinHash

from ragft.ingest.dedup import (
    SEED,
    DocKey,
    Duplicate,
    Signer,
    band_candidates,
    exact_duplicates,
    lsh_params,
    near_duplicates,
    shingle_hashes,
)

from .docgen import make_prose


def test_shingles_are_word_ngrams_case_blind():
    assert len(shingle_hashes("a b c d e f g", 5)) == 3
    assert len(shingle_hashes("two words", 5)) == 1  # shorter than n: one shingle
    assert len(shingle_hashes("", 5)) == 0
    assert list(shingle_hashes("The Apple  tree", 2)) == list(shingle_hashes("the apple\ntree", 2))
    assert shingle_hashes("a b c", 2).dtype == np.uint32


def test_signature_equals_datasketch_minhash_of_the_same_shingles():
    text = make_prose("signature", 5000)
    mh = MinHash(num_perm=64, seed=SEED, hashfunc=lambda v: v, scheme="affine32")
    mh.update_batch(shingle_hashes(text, 5).tolist())
    assert np.array_equal(Signer(num_perm=64).signature(text), mh.hashvalues)
    assert Signer().signature("").tolist() == [2**32 - 1] * 128


def test_lsh_params_favour_recall():
    assert lsh_params(0.8, 128) == (16, 8)  # P(candidate | Jaccard 0.8) = 1 - (1 - 0.8**8)**16 = 0.95


def keys(texts: dict[str, str], signer=Signer()) -> list[DocKey]:
    return [DocKey(i, str(hash(t)), signer.signature(t)) for i, t in texts.items()]


def test_exact_duplicates_keep_the_shortest_id():
    docs = [DocKey("report-copy.txt", "s1"), DocKey("report.txt", "s1"), DocKey("a-long-name.txt", "s2")]
    kept, dups = exact_duplicates(docs)
    assert [d.id for d in kept] == ["report.txt", "a-long-name.txt"]
    assert dups == [Duplicate("report-copy.txt", "report.txt", "exact_duplicate", 1.0)]


def test_near_duplicates_name_the_kept_doc_and_respect_the_threshold():
    base = make_prose("base", 400).split()
    variant = base.copy()
    variant[200] = "tractor"  # 5 of ~396 shingles change: Jaccard ~0.975
    far = base.copy()
    for i in range(0, 400, 10):
        far[i] = "tractor"  # every shingle changes
    texts = {"b.txt": " ".join(base), "a-variant.txt": " ".join(variant), "c.txt": " ".join(far), "d.txt": make_prose("other", 400)}
    kept, dups = near_duplicates(keys(texts), 0.8, 128)
    assert [d.id for d in kept] == ["b.txt", "c.txt", "d.txt"]
    [dup] = dups
    assert (dup.id, dup.kept, dup.reason) == ("a-variant.txt", "b.txt", "near_duplicate")
    assert dup.similarity == pytest.approx(0.975, abs=0.04)
    kept, dups = near_duplicates(keys(texts), 0.999, 128)
    assert len(kept) == 4 and dups == []


def test_band_candidates_pair_rows_sharing_a_whole_band_with_earlier_rows():
    sigs = np.array([[1, 2, 3, 4], [1, 2, 9, 9], [7, 7, 3, 4], [1, 2, 3, 4], [5, 6, 7, 8]], dtype=np.uint32)
    assert band_candidates(sigs, bands=2, rows=2) == {1: {0}, 2: {0}, 3: {0, 1, 2}}
    assert band_candidates(sigs, bands=1, rows=4) == {3: {0}}
