"""`builtin:tiny`: a small Llama-architecture causal LM that the workflow builds for itself.

Two seeded steps: a byte-level BPE tokenizer, then a short full-parameter pretraining on the
generated reading-comprehension corpus of `ragft.reading_corpus`. The result can answer a question
from a given context while knowing nothing of any demo domain. It exists so that the whole
workflow, QLoRA included, runs on a CPU in minutes; it is not a model anyone would deploy.
"""

from __future__ import annotations

import json
import math
import random
import time
from pathlib import Path

import torch

from ragft import prompts
from ragft.models import reading_corpus
from ragft.models.batches import bucket_by_length, pad_batch, scored_loss

SPECIAL = {"bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>"}


def example_text(ex: dict, rng: random.Random, questions: int = 1) -> tuple[str, str, str]:
    """Render a reading example as (context part, question part, completion).

    Most are context + question; a tenth are closed book and a tenth carry a worked example
    first, so the model also knows the closed-book and few-shot prompts of the template family.
    With `questions` > 1 a context prompt's completion goes on to ask and answer up to that many
    questions about the same context in all: one context then teaches several readings, which
    makes reading emerge in fewer steps."""
    r = rng.random()
    if r < 0.1:
        full = prompts.build_prompt(ex["question"])
    elif r < 0.2:
        shot = {"question": ex["question"], "answers": [ex["answer"]]}
        full = prompts.build_prompt(ex["question"], [ex["context"]], shots=[shot])
    else:
        full = prompts.build_prompt(ex["question"], [ex["context"]])
    cut = full.rfind("Question:")
    completion = prompts.answer_text(ex["answer"])
    if r >= 0.1:
        for more in ex.get("more", [])[: questions - 1]:
            completion += "\n" + prompts.build_prompt(more["question"]) + prompts.answer_text(more["answer"])
    return full[:cut], full[cut:], completion


def train_tokenizer(texts: list[str], vocab_size: int):
    """A byte-level BPE tokenizer (any UTF-8 text encodes) wrapped for transformers."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL.values()),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, **SPECIAL)
    fast.padding_side = "left"
    fast.model_input_names = ["input_ids", "attention_mask"]
    return fast


def make_model(tokenizer, hidden: int, layers: int, heads: int, max_positions: int, seed: int):
    """A freshly initialised Llama of the given shape (tied embeddings, SwiGLU of 4x width)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=4 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        max_position_embeddings=max_positions,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    return LlamaForCausalLM(config)


def encode_examples(tokenizer, parts: list[tuple[str, str, str]], max_length: int) -> list[tuple[list[int], int]]:
    """Token ids of each example and where its loss starts: at the question, whose entity and
    relation are copied from the context, so every scored token teaches reading."""
    flat = [t for p in parts for t in p]
    # the Rust tokenizer's own batch call: the same ids, in 60% of the time of `tokenizer(flat)`
    ids = [e.ids for e in tokenizer.backend_tokenizer.encode_batch(flat, add_special_tokens=False)]
    out = []
    for i in range(0, len(ids), 3):
        context, question, answer = ids[i], ids[i + 1], ids[i + 2] + [tokenizer.eos_token_id]
        seq = (context + question + answer)[-max_length:]
        out.append((seq, max(0, len(seq) - len(question) - len(answer))))
    return out


def lr_at(step: int, steps: int, lr: float, warmup: int) -> float:
    """1) linear warmup, 2) cosine decay to a tenth of the peak."""
    if step < warmup:
        return lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


@torch.no_grad()
def reading_accuracy(model, tokenizer, examples: list[dict], with_context: bool, max_new_tokens: int = 16) -> float:
    """Exact-match share of greedy answers, with or without the context."""
    from ragft.models.generate import generate_answers

    questions = [
        prompts.build_prompt(ex["question"], [ex["context"]] if with_context else None) for ex in examples
    ]
    answers = generate_answers(model, tokenizer, questions, max_new_tokens=max_new_tokens, batch_size=64)
    return sum(a.strip() == ex["answer"] for a, ex in zip(answers, examples)) / len(examples)


def build_tiny(out_dir: str | Path, cfg: dict, seed: int, log=print) -> dict:
    """Build `builtin:tiny` into `out_dir`: tokenizer, pretraining, held-out reading accuracy."""
    out_dir = Path(out_dir)
    torch.manual_seed(seed)
    rng = random.Random(seed)
    steps, batch = cfg["steps"], cfg["batch_size"]

    # 1) tokenizer on a sample of the reading corpus
    sample = ["".join(example_text(ex, rng)) for ex in reading_corpus.examples(seed, 4000)]
    tokenizer = train_tokenizer(sample, cfg["vocab_size"])

    # 2) model and data: every step draws fresh examples, so nothing repeats
    model = make_model(tokenizer, cfg["hidden_size"], cfg["layers"], cfg["heads"], cfg["max_positions"], seed)
    data = reading_corpus.examples(seed + 1, steps * batch, cfg["max_entities"], cfg["max_facts"])
    texts = [example_text(ex, rng, cfg["questions_per_context"]) for ex in data]
    encoded = bucket_by_length(encode_examples(tokenizer, texts, cfg["max_length"]), batch, rng)
    held_out = reading_corpus.examples(seed + 2, cfg["eval_examples"], cfg["max_entities"], cfg["max_facts"])
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=0.01, betas=(0.9, 0.95))
    start, tokens = time.time(), 0
    for step in range(steps):
        model.train()
        enc = pad_batch(encoded[step * batch : (step + 1) * batch], tokenizer.pad_token_id)
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, steps, cfg["lr"], cfg["warmup"])
        loss = scored_loss(model, enc)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        tokens += int(enc["attention_mask"].sum())
        if (step + 1) % max(1, steps // 4) == 0 and step < steps - 1:
            model.eval()
            em = reading_accuracy(model, tokenizer, held_out[:100], True)
            log(f"tiny pretrain step {step + 1}/{steps} loss {loss.item():.3f} "
                f"reading EM {em:.2f} {tokens / (time.time() - start):.0f} tok/s")

    # 3) how well it reads, on examples it never saw
    model.eval()
    report = {
        "steps": steps,
        "batch_size": batch,
        "train_tokens": tokens,
        "train_seconds": round(time.time() - start, 1),
        "parameters": sum(p.numel() for p in model.parameters()),
        "exact_match_with_context": reading_accuracy(model, tokenizer, held_out, True),
        "exact_match_closed_book": reading_accuracy(model, tokenizer, held_out, False),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    (out_dir / "build_report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report
