"""Batches for the causal LM: padding with masked context, packing examples apart, and the scored loss."""

import torch

from ragft.finetune.collate import Collator
from ragft.models import tiny
from ragft.models.batches import pack, pack_lengths, scored_loss
from ragft.models.load import load_tokenizer


def test_pad_batch_masks_context_and_padding():
    from ragft.models.batches import pad_batch

    batch = pad_batch([([5, 6, 7, 8], 2), ([9, 10], 1)], pad=0)
    assert batch["input_ids"].tolist() == [[5, 6, 7, 8], [9, 10, 0, 0]]
    assert batch["labels"].tolist() == [[-100, -100, 7, 8], [-100, 10, -100, -100]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1], [1, 1, 0, 0]]


def test_packing_keeps_examples_apart(tiny_model_dir):
    from transformers import AutoModelForCausalLM

    tok = load_tokenizer(tiny_model_dir)
    collate = Collator(tok, max_length=64)
    examples = [{"prompt": "Question: What is the sowing window?\nAnswer:", "completion": " early May\n"},
                {"prompt": "", "completion": "The sowing window of Variety1 is early May.\n"},
                {"prompt": "Q?", "completion": " yes\n"}]
    encoded = [collate.encode(e) for e in examples]
    sizes = [len(x) for x, _ in encoded]
    assert pack_lengths(sizes, 64) == [sizes]
    rows = pack(encoded, 64)
    assert len(rows) == 1 and rows[0]["position_ids"] == [p for n in sizes for p in range(n)]
    assert rows[0]["labels"][sizes[0]] == -100  # the second example's first token is not predicted from the first
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    unpacked = scored_loss(model, collate(examples))
    assert torch.allclose(scored_loss(model, collate(rows)), unpacked, atol=1e-6)
    assert torch.allclose(unpacked, model(**collate(examples)).loss, atol=1e-6)
    two = pack(encoded, sizes[0] + sizes[1] - 1)
    assert [len(r["input_ids"]) for r in two] == [sizes[0], sizes[1] + sizes[2]]
    assert torch.allclose(scored_loss(model, collate(two)), unpacked, atol=1e-6)


def test_scored_loss_equals_the_models_own_loss():
    from ragft.models.batches import pad_batch, scored_loss

    tok = tiny.train_tokenizer(["Context: a b c\nQuestion: x?\nAnswer: y\n"] * 20, 300)
    model = tiny.make_model(tok, hidden=32, layers=1, heads=2, max_positions=64, seed=0)
    batch = pad_batch([([5, 6, 7, 8, 9], 2), ([9, 10, 11], 1)], pad=tok.pad_token_id)
    assert torch.allclose(scored_loss(model, batch), model(**batch).loss, atol=1e-6)


def test_softcapped_model_is_scored_on_its_own_logits_and_divided_by_the_step_count(gemma2_dir):
    """A model whose logits are post-processed (Gemma2's softcapping) is scored on those logits, and its
    summed loss is divided by the accumulated step's count when one is given, as the decoder path does."""
    from transformers import AutoModelForCausalLM

    from ragft.models.batches import pad_batch

    model = AutoModelForCausalLM.from_pretrained(gemma2_dir)
    batch = pad_batch([([5, 6, 7, 8, 9], 2), ([9, 10, 11], 1)], pad=0)
    own = model(**batch).loss  # the mean over the 5 scored tokens, of the softcapped logits
    assert torch.allclose(scored_loss(model, batch), own, atol=1e-6)
    assert torch.allclose(scored_loss(model, batch, torch.tensor(20)), own * 5 / 20, atol=1e-6)
    model.config.final_logit_softcapping = None  # the cap (0.1) matters: uncapped logits score otherwise
    assert abs(model(**batch).loss - own) > 1e-3
