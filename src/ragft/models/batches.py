"""Training batches of a causal LM and their loss, shared by builtin:tiny's pretraining and
fine-tuning: right-padded and packed batches with the loss on the completion only, length
bucketing, and the cross-entropy over the scored positions only.
"""

from __future__ import annotations

import random

import torch


def pad_batch(encoded: list[tuple[list[int], int]], pad: int) -> dict:
    """Right-padded batch tensors from (token ids, loss start) pairs; labels are -100 before each
    example's loss start, on its first token (never a target) and on padding."""
    width = max(len(x) for x, _ in encoded)
    return {
        "input_ids": torch.tensor([x + [pad] * (width - len(x)) for x, _ in encoded]),
        "attention_mask": torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x, _ in encoded]),
        "labels": torch.tensor([[-100] * max(s, 1) + x[max(s, 1):] + [-100] * (width - len(x)) for x, s in encoded]),
    }


def pack_lengths(lengths: list[int], max_length: int) -> list[list[int]]:
    """Greedy packing in order: each row takes examples while their lengths fit in max_length."""
    rows: list[list[int]] = []
    used = max_length
    for n in lengths:
        if used + n > max_length:
            rows.append([])
            used = 0
        rows[-1].append(n)
        used += n
    return rows


def pack(encoded: list[tuple[list[int], int]], max_length: int) -> list[dict]:
    """Rows of several examples each (see `pack_lengths`): position ids restart at every example,
    which keeps attention inside it, and labels mask each example's prompt and first token."""
    rows, i = [], 0
    for sizes in pack_lengths([len(x) for x, _ in encoded], max_length):
        row = {"input_ids": [], "labels": [], "position_ids": []}
        for ids, start in encoded[i : i + len(sizes)]:
            row["input_ids"] += ids
            row["labels"] += [-100] * max(start, 1) + ids[max(start, 1):]
            row["position_ids"] += list(range(len(ids)))
        rows.append(row)
        i += len(sizes)
    return rows


def pad_packed(rows: list[dict], pad: int) -> dict:
    """Batch tensors of packed rows; the padding forms one more sequence (positions from 0), and
    `attention_mask` marks real tokens for counting only (the model gets position ids instead)."""
    width = max(len(r["input_ids"]) for r in rows)
    fill = lambda r: width - len(r["input_ids"])
    return {
        "input_ids": torch.tensor([r["input_ids"] + [pad] * fill(r) for r in rows]),
        "attention_mask": torch.tensor([[1] * len(r["input_ids"]) + [0] * fill(r) for r in rows]),
        "labels": torch.tensor([r["labels"] + [-100] * fill(r) for r in rows]),
        "position_ids": torch.tensor([r["position_ids"] + list(range(fill(r))) for r in rows]),
    }


def scored_loss(model, batch: dict, num_items: torch.Tensor | int | None = None) -> torch.Tensor:
    """Next-token cross-entropy over the labelled positions, summed and divided by `num_items`
    (the scored tokens of the whole accumulated step) or else by this batch's, so that gradient
    accumulation gives the loss of one large batch. The output layer runs on the scored positions
    only, not on every prompt token. Packed batches (with position ids) attend within each example.
    Models whose logits are post-processed (softcapped, scaled) or that have no `.model` decoder
    give their full logits, scored the same way."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    packed = "position_ids" in batch
    inputs = {"input_ids": batch["input_ids"], "attention_mask": None if packed else batch["attention_mask"],
              "position_ids": batch.get("position_ids"), "use_cache": False}
    targets = batch["labels"][:, 1:]
    scored = targets != -100
    cfg = base.config
    if getattr(cfg, "final_logit_softcapping", None) or getattr(cfg, "logit_scale", None) or not hasattr(base, "model"):
        logits = model(**inputs).logits[:, :-1][scored]
    else:
        hidden = base.get_decoder()(**inputs).last_hidden_state
        logits = base.get_output_embeddings()(hidden[:, :-1][scored])
    total = torch.nn.functional.cross_entropy(logits.float(), targets[scored], reduction="sum")
    return total / (num_items if num_items is not None else scored.sum().clamp(min=1))


def bucket_by_length(encoded: list, batch: int, rng: random.Random, group: int = 16) -> list:
    """Sort each run of `group` batches by length and shuffle the batches: far less padding."""
    out = []
    for i in range(0, len(encoded), batch * group):
        part = sorted(encoded[i : i + batch * group], key=lambda e: len(e[0]))
        batches = [part[j : j + batch] for j in range(0, len(part), batch)]
        rng.shuffle(batches)
        out += [e for b in batches for e in b]
    return out
