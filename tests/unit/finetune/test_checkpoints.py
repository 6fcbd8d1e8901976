"""Checkpoints: a resume takes the latest complete one of the same run (others are discarded), and
markers record every file's sha256, so that a checkpoint damaged after it was written stops a resume
with one line naming it."""

from pathlib import Path

import pytest

from ragft.finetune.checkpoints import (
    COMPLETE,
    CorruptCheckpoint,
    latest_checkpoint,
    mark_complete,
    prepare_checkpoints,
    run_fingerprint,
    verify_checkpoint,
)

from .common import RECIPE


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
    verify_checkpoint(ckpt)  # nothing recorded to check against: no CorruptCheckpoint
    assert latest_checkpoint(tmp_path) == str(ckpt)  # and a resume still starts from it


def test_latest_checkpoint_ignores_incomplete(tmp_path):
    (tmp_path / "checkpoint-10").mkdir()
    (tmp_path / "checkpoint-10" / "trainer_state.json").write_text("{")  # killed while written
    (tmp_path / "checkpoint-5").mkdir()
    (tmp_path / "checkpoint-5" / COMPLETE).write_text("5\n")
    assert Path(latest_checkpoint(tmp_path)).name == "checkpoint-5"
    assert latest_checkpoint(tmp_path / "none") is None


def test_checkpoints_of_another_run_and_incomplete_ones_are_discarded(tmp_path):
    ckpt = tmp_path / "ckpt"
    prepare_checkpoints(ckpt, "run-a", log=lambda m: None)
    (ckpt / "checkpoint-5").mkdir()
    (ckpt / "checkpoint-5" / COMPLETE).write_text("5\n")
    (ckpt / "checkpoint-10").mkdir()
    said = []
    prepare_checkpoints(ckpt, "run-a", log=said.append)
    assert latest_checkpoint(ckpt).endswith("checkpoint-5")          # same run: kept for resuming
    assert not (ckpt / "checkpoint-10").exists() and said == [f"{ckpt / 'checkpoint-10'}: incomplete checkpoint (interrupted while written); removed"]
    said = []
    prepare_checkpoints(ckpt, "run-b", log=said.append)
    assert latest_checkpoint(ckpt) is None and "different run" in said[0]
    assert (ckpt / "run_fingerprint.txt").read_text() == "run-b\n"


def test_fingerprint_changes_with_data_recipe_and_seed(tiny_model_dir):
    data = [{"id": "a", "prompt": "", "completion": "x"}]
    f = run_fingerprint(tiny_model_dir, data, RECIPE, 0)
    assert f == run_fingerprint(tiny_model_dir, data, RECIPE, 0)
    assert f != run_fingerprint(tiny_model_dir, data + data, RECIPE, 0)
    assert f != run_fingerprint(tiny_model_dir, data, {**RECIPE, "r": 8}, 0)
    assert f != run_fingerprint(tiny_model_dir, data, RECIPE, 1)
