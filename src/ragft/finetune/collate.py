"""The Trainer's batches: examples encoded with the loss on the completion, padded or packed, in
an order that depends on (seed, epoch) only, so a resumed run draws the batches an
uninterrupted one does.
"""

from __future__ import annotations

import random

import torch

from ragft.models.batches import pad_batch, pad_packed


class Collator:
    """Right-padded batches of (prompt, completion) examples, of pre-encoded ones
    (`input_ids`, `loss_start`), or of packed rows; the loss falls on the completion."""

    def __init__(self, tokenizer, max_length: int):
        self.tok, self.max_length = tokenizer, max_length

    def encode(self, example: dict, tokens: tuple[list[int], list[int]] | None = None) -> tuple[list[int], int]:
        """Token ids (the end kept when too long) and where the completion starts."""
        if tokens is None:
            p = self.tok(example["prompt"], add_special_tokens=False)["input_ids"] if example["prompt"] else []
            c = self.tok(example["completion"], add_special_tokens=False)["input_ids"]
        else:
            p, c = tokens
        c = c + [self.tok.eos_token_id]
        ids = (p + c)[-self.max_length :]
        return ids, len(ids) - min(len(c), len(ids))

    def encode_all(self, examples: list[dict]) -> list[tuple[list[int], int]]:
        """`encode` for many examples, tokenized in two batched calls (several times faster)."""
        if not examples:
            return []
        p = self.tok([e["prompt"] for e in examples], add_special_tokens=False)["input_ids"]
        c = self.tok([e["completion"] for e in examples], add_special_tokens=False)["input_ids"]
        return [self.encode(e, pair) for e, pair in zip(examples, zip(p, c))]

    def __call__(self, examples: list[dict]) -> dict:
        if "position_ids" in examples[0]:
            return pad_packed(examples, self.tok.pad_token_id)
        if "input_ids" in examples[0]:
            return pad_batch([(e["input_ids"], e["loss_start"]) for e in examples], self.tok.pad_token_id)
        return pad_batch([self.encode(e) for e in examples], self.tok.pad_token_id)


class EpochSampler(torch.utils.data.Sampler):
    """Training order that depends on (seed, epoch) only, so a resumed run draws the same batches as
    an uninterrupted one. A seeded shuffle; with `group_by_length`, then each run of 16 batches
    sorted by length and its batches shuffled (`ragft.tiny.bucket_by_length`): batches of similar
    length, so little padding, while consecutive steps still mix the builders."""

    def __init__(self, lengths: list[int], batch_size: int, seed: int, group_by_length: bool = True):
        self.lengths, self.batch_size, self.seed, self.group = lengths, batch_size, seed, group_by_length
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.lengths)

    def __iter__(self):
        from ragft.models.tiny import bucket_by_length

        rng = random.Random(self.seed * 100_003 + self.epoch)
        order = list(range(len(self.lengths)))
        rng.shuffle(order)
        if self.group:
            order = [i for _, i in bucket_by_length([(range(self.lengths[i]), i) for i in order], self.batch_size, rng)]
        return iter(order)
