"""Batched answering and teacher-forced scoring with a causal LM."""

from __future__ import annotations

import torch

from ragft import prompts


def _batches(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i : i + size]


@torch.no_grad()
def generate_answers(
    model, tokenizer, prompt_texts: list[str], max_new_tokens: int = 24, batch_size: int = 16, max_length: int | None = None,
    stop: str | None = prompts.STOP,
) -> list[str]:
    """Greedy answers for each prompt (left padding, cut at the first `stop` string unless it is None)."""
    tokenizer.padding_side = "left"
    out: list[str] = []
    for chunk in _batches(prompt_texts, batch_size):
        enc = tokenizer(
            chunk,
            return_tensors="pt",
            padding=True,
            add_special_tokens=False,
            truncation=max_length is not None,
            max_length=max_length,
        ).to(model.device)
        gen = model.generate(
            input_ids=enc["input_ids"],
            attention_mask=enc["attention_mask"],
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )
        texts = tokenizer.batch_decode(gen[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
        out.extend((t.split(stop)[0] if stop else t).strip() for t in texts)
    return out


@torch.no_grad()
def answer_nll(model, tokenizer, prompt_texts: list[str], answers: list[str], batch_size: int = 16) -> list[float]:
    """Mean negative log-likelihood per token of each gold answer after its prompt (teacher forced)."""
    pad = tokenizer.pad_token_id
    out: list[float] = []
    pairs = list(zip(prompt_texts, answers))
    for chunk in _batches(pairs, batch_size):
        seqs, spans = [], []
        for p, a in chunk:
            p_ids = tokenizer(p, add_special_tokens=False)["input_ids"]
            a_ids = tokenizer(prompts.answer_text(a), add_special_tokens=False)["input_ids"]
            seqs.append(p_ids + a_ids)
            spans.append(len(a_ids))
        width = max(len(s) for s in seqs)
        # left padding, so every answer ends at the last position
        ids = torch.tensor([[pad] * (width - len(s)) + s for s in seqs], device=model.device)
        mask = torch.tensor([[0] * (width - len(s)) + [1] * len(s) for s in seqs], device=model.device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        logits = model(input_ids=ids, attention_mask=mask, position_ids=positions).logits[:, :-1].float()
        logp = torch.log_softmax(logits, dim=-1).gather(-1, ids[:, 1:, None])[..., 0]
        for row, n in zip(logp, spans):
            out.append(float(-row[-n:].mean()))
    return out
