"""Checkpoint markers record every file's sha256, so that a checkpoint damaged after it was written
stops a resume with one line naming it."""

import pytest

from ragft.finetune.checkpoints import (
    COMPLETE,
    CorruptCheckpoint,
    latest_checkpoint,
    mark_complete,
    verify_checkpoint,
)


def checkpoint(tmp_path, step=4):
    ckpt = tmp_path / f"checkpoint-{step}"
    (ckpt / "sub").mkdir(parents=True)
    (ckpt / "optimizer.pt").write_bytes(b"\x00" * 64)
    (ckpt / "sub" / "adapter_model.safetensors").write_bytes(b"weights")
    mark_complete(ckpt, step)
    return ckpt


def test_a_whole_checkpoint_verifies(tmp_path):
    ckpt = checkpoint(tmp_path)
    verify_checkpoint(ckpt)
    assert latest_checkpoint(tmp_path) == str(ckpt)
    assert '"step": 4' in (ckpt / COMPLETE).read_text()


def test_a_changed_file_is_named(tmp_path):
    ckpt = checkpoint(tmp_path)
    (ckpt / "optimizer.pt").write_bytes(b"\x00" * 63 + b"\x01")
    with pytest.raises(CorruptCheckpoint, match=rf"^{ckpt}: corrupt checkpoint, optimizer.pt does not match its "
                                                r"recorded sha256; delete this folder to resume from an earlier"):
        verify_checkpoint(ckpt)


def test_a_missing_file_is_named(tmp_path):
    ckpt = checkpoint(tmp_path)
    (ckpt / "sub" / "adapter_model.safetensors").unlink()
    with pytest.raises(CorruptCheckpoint, match=r"corrupt checkpoint, sub/adapter_model.safetensors is missing"):
        verify_checkpoint(ckpt)


def test_a_marker_of_an_older_ragft_is_not_checked(tmp_path):
    ckpt = checkpoint(tmp_path)
    (ckpt / COMPLETE).write_text("4\n")
    (ckpt / "optimizer.pt").write_bytes(b"changed")
    verify_checkpoint(ckpt)  # nothing recorded to check against
