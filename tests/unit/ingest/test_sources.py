"""Walking a source folder: hidden names skipped, symlink loops survived, files in name order."""

import os

from ragft.ingest.sources import discover

from .docgen import BODY, write


def test_walk_skips_hidden_names_and_survives_symlink_loops(tmp_path):
    write(tmp_path / "c/a.txt", BODY)
    write(tmp_path / "c/.git/config", "x")
    write(tmp_path / "c/.hidden.txt", "x")
    os.symlink(tmp_path / "c", tmp_path / "c/loop")
    files = discover(str(tmp_path / "c"))
    assert [f.rel for f in files] == ["a.txt"]


def test_walk_yields_files_in_name_order_across_folders(tmp_path):
    for rel in ["b.txt", "a/z.txt", "a/b/c.txt", "c/a.txt", "a0.txt"]:
        write(tmp_path / rel, BODY)
    assert [f.rel for f in discover(str(tmp_path))] == ["a/b/c.txt", "a/z.txt", "a0.txt", "b.txt", "c/a.txt"]
