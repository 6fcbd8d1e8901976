"""Batches for training: the collator's label masks and the seeded, length-grouped epoch sampler."""

from ragft.finetune.collate import Collator, EpochSampler
from ragft.models.load import load_tokenizer


def test_collator_masks_prompt_first_token_and_padding(tiny_model_dir):
    tok = load_tokenizer(tiny_model_dir)
    collate = Collator(tok, max_length=64)
    batch = collate([{"prompt": "Question: Q?\nAnswer:", "completion": " yes\n"}, {"prompt": "", "completion": "a b c d e f g h\n"}])
    n_answer = len(tok(" yes\n", add_special_tokens=False)["input_ids"]) + 1  # + eos
    labels = batch["labels"][0]
    assert int((labels != -100).sum()) == n_answer
    assert labels[int(batch["attention_mask"][0].sum()) - 1].item() == tok.eos_token_id
    assert int((batch["labels"][1] != -100).sum()) == int(batch["attention_mask"][1].sum()) - 1


def test_epoch_sampler_is_seeded_per_epoch_and_groups_lengths():
    grouped = EpochSampler(list(range(1, 33)), batch_size=4, seed=0)
    order = list(grouped)  # lengths 1..32 (index i has length i + 1): one run of 16 batches, sorted, batches shuffled
    batches = [sorted(order[i : i + 4]) for i in range(0, 32, 4)]
    assert all(b == list(range(b[0], b[0] + 4)) and b[0] % 4 == 0 for b in batches)
    assert [b[0] for b in batches] != sorted(b[0] for b in batches) and order == list(grouped)
    grouped.set_epoch(1)
    assert list(grouped) != order
    plain = EpochSampler(list(range(1, 33)), batch_size=4, seed=0, group_by_length=False)
    first = list(plain)
    assert sorted(first) == list(range(32)) and first == list(plain)
    plain.set_epoch(1)
    assert list(plain) != first
