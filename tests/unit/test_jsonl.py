"""Atomic writes: a directory written through `atomic_directory` appears whole or not at all."""

import pytest

from ragft.jsonl import atomic_directory


def test_an_atomic_directory_appears_whole_or_not_at_all(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_directory(tmp_path / "index") as tmp:
            (tmp / "index.faiss").write_bytes(b"half")
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []
    for content in (b"first", b"second"):
        with atomic_directory(tmp_path / "index") as tmp:
            (tmp / "index.faiss").write_bytes(content)
    assert [p.name for p in tmp_path.iterdir()] == ["index"] and (tmp_path / "index/index.faiss").read_bytes() == b"second"
