"""The Trainer's batches: examples encoded with the loss on the completion, padded or packed, in
an order that depends on (seed, epoch) only, so a resumed run draws the batches an
uninterrupted one does.
"""

from __future__ import annotations

import random

import torch

from ragft.models.batches import pad_batch, pad_packed
from ragft.models.tokens import encode_pair, encode_pairs


class Collator:
    """Right-padded batches of (prompt, completion) examples, of pre-encoded ones
    (`input_ids`, `loss_start`), or of packed rows; the loss falls on the completion."""

    def __init__(self, tokenizer, max_length: int):
        self.tok, self.max_length = tokenizer, max_length
        self.specials = set(tokenizer.all_special_ids)

    def encode(self, example: dict, pair: tuple[list[int], int] | None = None) -> tuple[list[int], int]:
        """Token ids of prompt + completion tokenised jointly (BOS first when the tokenizer adds one,
        EOS last unless the completion ends with a special token such as a chat turn's end), and
        where the completion starts. Too long, an example keeps its start: the prompt is fitted to
        the length when the data is built (`ragft.models.tokens.fit_prompt`), so only a completion
        (a long corpus chunk) loses its end."""
        ids, start = pair if pair is not None else encode_pair(self.tok, example["prompt"], example["completion"])
        if not ids or ids[-1] not in self.specials:
            ids = [*ids, self.tok.eos_token_id]
        return ids[: self.max_length], start

    def encode_all(self, examples: list[dict], log=None) -> list[tuple[list[int], int]]:
        """`encode` for many examples, tokenized in one batched call (several times faster); an
        example with no completion token left within max_length is dropped (and counted in `log`)."""
        pairs = encode_pairs(self.tok, [e["prompt"] for e in examples], [e["completion"] for e in examples])
        encoded = [self.encode(e, pair) for e, pair in zip(examples, pairs)]
        kept = [(ids, s) for ids, s in encoded if s < len(ids)]
        if len(kept) < len(encoded) and log:
            log(f"{len(encoded) - len(kept)} example(s) dropped: their prompt fills max_length ({self.max_length})")
        return kept

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
