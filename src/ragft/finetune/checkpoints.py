"""Checkpoints that a rerun can trust: a checkpoint counts only once its `COMPLETE` marker (its
step and every file's sha256) is written after the Trainer wrote it; a file changed later stops
the rerun naming it; checkpoints of another run (data, recipe, base model) are discarded.
"""

from __future__ import annotations

import json
from pathlib import Path

from ragft.jsonl import write_text

COMPLETE = "COMPLETE"  # written into a checkpoint folder after the Trainer has finished writing it


class CorruptCheckpoint(RuntimeError):
    """A complete checkpoint whose files no longer match the sha256s its marker recorded."""


def mark_complete(checkpoint: str | Path, step: int) -> None:
    """Write the `COMPLETE` marker of a fully written checkpoint: its step and every file's sha256."""
    from ragft.models.specs import sha256_file

    checkpoint = Path(checkpoint)
    files = {f.relative_to(checkpoint).as_posix(): sha256_file(f)
             for f in sorted(checkpoint.rglob("*")) if f.is_file() and f.name != COMPLETE}
    write_text(checkpoint / COMPLETE, json.dumps({"step": step, "sha256": files}, indent=1) + "\n")


def verify_checkpoint(checkpoint: str | Path) -> None:
    """Raise CorruptCheckpoint, naming the checkpoint and the file, when a file its marker lists is
    missing or changed (a marker of an older ragft, only a step number, cannot be checked)."""
    from ragft.models.specs import sha256_file

    checkpoint = Path(checkpoint)
    try:
        recorded = json.loads((checkpoint / COMPLETE).read_text()).get("sha256")
    except (ValueError, AttributeError):
        recorded = None
    if not isinstance(recorded, dict):
        return
    for name, digest in recorded.items():
        f = checkpoint / name
        problem = "is missing" if not f.is_file() else "does not match its recorded sha256" if sha256_file(f) != digest else ""
        if problem:
            raise CorruptCheckpoint(f"{checkpoint}: corrupt checkpoint, {name} {problem}; delete this folder to "
                                    f"resume from an earlier checkpoint (or the whole checkpoints folder to start afresh)")


def latest_checkpoint(checkpoint_dir: str | Path) -> str | None:
    """The newest complete checkpoint (marked COMPLETE after the Trainer wrote it) or None."""
    done = [p for p in Path(checkpoint_dir).glob("checkpoint-*") if (p / COMPLETE).is_file()]
    return str(max(done, key=lambda p: int(p.name.split("-")[1]))) if done else None


def run_fingerprint(base_path: str, data: list[dict], recipe: dict, seed: int) -> str:
    """What identifies a training run: base weights and initial adapter (name, size, mtime), data,
    recipe and seed. Checkpoints of another run are never resumed."""
    import hashlib

    h = hashlib.sha256(json.dumps([recipe, seed, base_path], sort_keys=True, default=str).encode())
    for folder in (base_path, recipe.get("init_adapter")):
        for f in sorted(Path(folder).glob("*.safetensors")) if folder and Path(folder).is_dir() else []:
            st = f.stat()
            h.update(f"{f.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    for e in data:
        h.update(json.dumps(e, sort_keys=True).encode())
    return h.hexdigest()


def prepare_checkpoints(checkpoint_dir: str | Path, fingerprint: str, log=print) -> None:
    """Keep the complete checkpoints of this same run (to resume from); discard those of any other
    run, and checkpoints a kill interrupted while they were written."""
    import shutil

    checkpoint_dir = Path(checkpoint_dir)
    stamp = checkpoint_dir / "run_fingerprint.txt"
    if checkpoint_dir.exists() and (not stamp.is_file() or stamp.read_text().strip() != fingerprint):
        log(f"{checkpoint_dir}: checkpoints of a different run (data, recipe or base model changed); starting afresh")
        shutil.rmtree(checkpoint_dir)
    for partial in sorted(checkpoint_dir.glob("checkpoint-*")):
        if not (partial / COMPLETE).is_file():
            log(f"{partial}: incomplete checkpoint (interrupted while written); removed")
            shutil.rmtree(partial)
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    write_text(stamp, fingerprint + "\n")
