"""Batched answering and teacher-forced scoring with a causal LM."""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import partial
from typing import NamedTuple

import torch

from ragft import prompts
from ragft.models.tokens import encode_pairs, prompt_ids


def _batches(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _stops(stop: str | Sequence[str] | None) -> list[str]:
    return [stop] if isinstance(stop, str) else [s for s in stop or [] if s]


def cut_at_stop(text: str, stop: str | Sequence[str] | None) -> str:
    """The text before the first stop string that follows its first non-space character, stripped:
    an answer is never cut to nothing by a stop (a leading newline, a leading `Question:`)."""
    text = text.lstrip()
    cuts = [i for i in (text.find(s, 1) for s in _stops(stop)) if i > 0]
    return text[: min(cuts)].strip() if cuts else text.strip()


def _ids(value) -> list[int]:
    return [] if value is None else [value] if isinstance(value, int) else list(value)


def stop_token_ids(tokenizer, stops: list[str]) -> list[int]:
    """The ids of every token whose text holds a one-character stop string (the usual newline),
    computed once per tokenizer: such a stop is then one tensor lookup per step."""
    chars = tuple(s for s in stops if len(s) == 1)
    cache = tokenizer.__dict__.setdefault("_ragft_stop_tokens", {})
    if chars not in cache:
        cache[chars] = [i for i in range(len(tokenizer)) if any(c in tokenizer.decode([i]) for c in chars)] if chars else []
    return cache[chars]


class StopRule:
    """Whether a row's answer has reached a stop string, counting only stops after its first
    non-space text. The text is decoded only when the newest token holds a one-character stop (the
    usual newline: a set lookup otherwise) or when there are longer stops."""

    def __init__(self, tokenizer, stops: list[str]):
        self.tokenizer, self.stops = tokenizer, stops
        self.holders = set(stop_token_ids(tokenizer, stops))
        self.longer = any(len(s) > 1 for s in stops)

    def __call__(self, tokens: list[int]) -> bool:
        if not self.longer and tokens[-1] not in self.holders:
            return False
        text = self.tokenizer.decode(tokens, skip_special_tokens=True).lstrip()
        return any(text.find(s, 1) > 0 for s in self.stops)


def left_pad(rows: list[list[int]], pad: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    """Token id rows as one left-padded batch: (input ids, attention mask)."""
    width = max(len(r) for r in rows)
    ids = torch.tensor([[pad] * (width - len(r)) + r for r in rows], device=device)
    mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows], device=device)
    return ids, mask


def _additive(allowed: torch.Tensor, dtype) -> torch.Tensor:
    return torch.zeros(allowed.shape, dtype=dtype, device=allowed.device).masked_fill(~allowed, torch.finfo(dtype).min)


def _pick(logits: torch.Tensor, do_sample: bool, temperature: float, top_p: float, generator) -> torch.Tensor:
    """The next token of every row: the most likely, or a draw from the top-p mass at `temperature`."""
    if not do_sample:
        return logits.argmax(-1)
    probs = torch.softmax(logits.float() / temperature, -1)
    if top_p < 1.0:
        sorted_p, order = probs.sort(-1, descending=True)
        drop = sorted_p.cumsum(-1) - sorted_p > top_p  # keep the smallest head whose mass reaches top_p
        probs = probs.scatter(-1, order, sorted_p.masked_fill(drop, 0.0))
    return torch.multinomial(probs, 1, generator=generator)[:, 0]


@torch.inference_mode()
def decode(model, input_ids: torch.Tensor, attention_mask: torch.Tensor, max_new_tokens: int, end_ids: list[int],
           *, do_sample: bool = False, temperature: float = 1.0, top_p: float = 1.0, seed: int = 0,
           finished=None) -> list[list[int]]:
    """The new tokens of each row of a left-padded batch, generated with the KV cache: a row ends
    at a token of `end_ids` (kept) or when `finished(tokens)` says so, and leaves the batch (its
    cache rows are dropped), so the rows still answering do not pay for the finished ones.

    The attention mask goes to the model as a 4D tensor (causal and padding) that it takes as it
    is; transformers' `generate` rebuilds a padded mask at every step, which on a CPU costs about
    as much as a small model's forward pass."""
    rows, width = input_ids.shape
    device, dtype = input_ids.device, model.dtype if model.dtype.is_floating_point else torch.float32
    keys = torch.cat([attention_mask.bool(), torch.ones(rows, max_new_tokens, dtype=torch.bool, device=device)], 1)
    causal = torch.ones(width, width, dtype=torch.bool, device=device).tril()
    prompt_positions = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
    out = model(input_ids=input_ids, attention_mask=_additive(causal[None, None] & keys[:, None, None, :width], dtype),
                position_ids=prompt_positions, use_cache=True, logits_to_keep=1)
    keys = _additive(keys[:, None, None, :], dtype)  # each step's mask is a slice of this one
    positions = prompt_positions[:, -1:]
    cache, logits = out.past_key_values, out.logits[:, -1]
    ends = torch.tensor(end_ids or [-1], device=device)
    generator = torch.Generator(device=device).manual_seed(seed) if do_sample else None
    alive = list(range(rows))  # the original rows still generating, in batch order
    tokens: list[list[int]] = [[] for _ in range(rows)]
    for step in range(max_new_tokens):
        token = _pick(logits, do_sample, temperature, top_p, generator)
        ended = torch.isin(token, ends).tolist()
        for i, (row, t) in enumerate(zip(alive, token.tolist())):
            tokens[row].append(t)
            if not ended[i] and finished is not None:
                ended[i] = finished(tokens[row])
        keep = [i for i, e in enumerate(ended) if not e]
        if not keep or step == max_new_tokens - 1:
            break
        if len(keep) < len(alive):  # finished rows leave the batch and the cache
            index = torch.tensor(keep, device=device)
            cache.batch_select_indices(index)
            token, keys, positions = token[index], keys[index], positions[index]
            alive = [alive[i] for i in keep]
        out = model(input_ids=token[:, None], attention_mask=keys[..., : width + step + 1], position_ids=positions + step + 1,
                    past_key_values=cache, use_cache=True, logits_to_keep=1)
        cache, logits = out.past_key_values, out.logits[:, -1]
    return tokens


# Model families whose decoder builds its attention mask with transformers' `create_causal_mask`
# (which takes a ready 4D mask as it is, so `decode`'s mask means what it means to `generate`) and
# places tokens by position ids. Each is checked against batched `generate` on a tiny random model
# in tests/unit/models/test_generate.py; any other family answers through `generate` itself.
OWN_LOOP_FAMILIES = frozenset({"llama", "mistral", "qwen2", "qwen3", "phi3", "gemma", "granite", "olmo2"})
# config settings that change attention beyond a causal padded mask: sliding-window, chunked or
# bidirectional attention, and Gemma's attention softcapping (with `final_logit_softcapping`)
_ATTENTION_KEYS = ("attention_chunk_size", "attn_logit_softcapping", "final_logit_softcapping", "use_bidirectional_attention")
# generation_config settings that `generate` turns into logits processors and `decode` lacks
_PROCESSOR_KEYS = ("repetition_penalty", "encoder_repetition_penalty", "no_repeat_ngram_size",
                   "encoder_no_repeat_ngram_size", "bad_words_ids", "sequence_bias", "min_length", "min_new_tokens",
                   "forced_bos_token_id", "forced_eos_token_id", "suppress_tokens", "begin_suppress_tokens",
                   "exponential_decay_length_penalty", "guidance_scale", "min_p", "typical_p", "epsilon_cutoff",
                   "eta_cutoff", "watermarking_config", "penalty_alpha")


def _sliding(config) -> bool:
    """Whether some layer attends through a sliding window (Mistral v0.1, Gemma 2/3, Qwen2 with
    use_sliding_window, Phi-3 mini...)."""
    if any(t != "full_attention" for t in getattr(config, "layer_types", None) or []):
        return True
    return getattr(config, "sliding_window", None) is not None and getattr(config, "use_sliding_window", True) is not False


def _processors(model) -> list[str]:
    """The generation_config settings of `model` that would make `generate` choose other tokens."""
    settings = getattr(model, "generation_config", None)
    if settings is None:
        return []
    from transformers import GenerationConfig

    default = GenerationConfig()
    return [k for k in _PROCESSOR_KEYS if getattr(settings, k, None) != getattr(default, k, None)]


def own_loop_ok(model) -> bool:
    """Whether `decode` gives what transformers' batched `generate` gives for `model`: a family of
    OWN_LOOP_FAMILIES with full causal attention everywhere (its 4D mask would bypass a sliding
    window, chunks or softcapping), eager or SDPA attention (flash and flex attention do not take
    a 4D tensor), and no logits processor in its generation_config (repetition penalty...)."""
    config = getattr(model, "config", None)
    if config is None or getattr(config, "model_type", None) not in OWN_LOOP_FAMILIES:
        return False
    if getattr(config, "is_encoder_decoder", False) or getattr(config, "_attn_implementation", None) not in ("eager", "sdpa"):
        return False
    if _sliding(config) or any(getattr(config, k, None) for k in _ATTENTION_KEYS):
        return False
    return not _processors(model)


class RowStops:
    """A transformers stopping criterion that applies `StopRule` to each row's new tokens (from
    column `start`): `generate` then ends a row where `decode` does. Its own `stop_strings` would
    end an answer that begins with a stop (a leading newline) at once, empty."""

    def __init__(self, rule: StopRule, start: int):
        self.rule, self.start = rule, start

    def __call__(self, input_ids: torch.Tensor, scores=None, **kwargs) -> torch.Tensor:
        done = [self.rule(row) for row in input_ids[:, self.start :].tolist()]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)


def ended(tokens: list[int], end_ids: list[int], finished) -> bool:
    """Whether a row's last token ends it: an end id, or a stop (`finished` says so)."""
    return bool(tokens) and (tokens[-1] in end_ids or (finished is not None and finished(tokens)))


def _until_end(tokens: list[int], end_ids: list[int], finished) -> list[int]:
    """`tokens` up to and with the first that ends the row (an end id, or `finished` says so)."""
    for i, t in enumerate(tokens):
        if t in end_ids or (finished is not None and finished(tokens[: i + 1])):
            return tokens[: i + 1]
    return tokens


@torch.inference_mode()
def generate_decode(model, input_ids: torch.Tensor, attention_mask: torch.Tensor, max_new_tokens: int,
                    end_ids: list[int], *, do_sample: bool = False, temperature: float = 1.0, top_p: float = 1.0,
                    seed: int = 0, finished=None, pad: int | None = None) -> list[list[int]]:
    """`decode` through transformers' batched `generate`, for models whose attention `decode`'s
    4D mask would bypass: the same end ids, the stop rule as a stopping criterion (`RowStops`),
    sampling over the full vocabulary (top_k off) seeded with `seed` (the global RNG is restored
    after), and the same new tokens per row."""
    from transformers import StoppingCriteriaList

    width = input_ids.shape[1]
    sampling = {"temperature": temperature, "top_p": top_p, "top_k": 0} if do_sample else {}
    stops = StoppingCriteriaList([RowStops(finished, width)] if finished is not None else [])
    with torch.random.fork_rng(devices=[input_ids.device] if input_ids.device.type == "cuda" else []):
        torch.manual_seed(seed)
        out = model.generate(input_ids=input_ids, attention_mask=attention_mask, max_new_tokens=max_new_tokens,
                             do_sample=do_sample, num_beams=1, eos_token_id=list(end_ids) or None,
                             pad_token_id=pad if pad is not None else (end_ids or [0])[0],
                             stopping_criteria=stops, **sampling)
    return [_until_end(row, end_ids, finished) for row in out[:, width:].tolist()]


class Generation(NamedTuple):
    """One answer: its text (up to its stop string), the new tokens generated (the ending token included),
    and `cut`: whether generation stopped at max_new_tokens before an end of sequence or a stop."""

    text: str
    tokens: int
    cut: bool


@torch.no_grad()
def generations(
    model, tokenizer, prompt_texts: list[str], max_new_tokens: int = 24, batch_size: int = 16, max_length: int | None = None,
    stop: str | Sequence[str] | None = prompts.STOP, *, do_sample: bool = False, temperature: float = 1.0,
    top_p: float = 1.0, seed: int = 0,
) -> list[Generation]:
    """A `Generation` for each prompt, in batches of prompts of similar length (left padding): greedy, or
    sampled with `seed` (the same answers on every run). Each row stops at the end of sequence, or
    at its first `stop` string after some non-space text, and is cut there; a prompt over
    `max_length` tokens keeps its end. Models that `own_loop_ok` accepts decode with the KV-cache
    loop `decode`, any other through transformers' `generate` (`generate_decode`): the loop is an
    optimisation, used where it gives generate's greedy answers (sampled ones are each path's own
    seeded draws)."""
    stops = _stops(stop)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    # end of sequence: the tokenizer's, and the model's own (an instruct model may end a turn with another token)
    eos = {tokenizer.eos_token_id, *_ids(getattr(getattr(model, "generation_config", None), "eos_token_id", None))} - {None}
    stopped = StopRule(tokenizer, stops) if stops else None
    ids = prompt_ids(tokenizer, prompt_texts)
    ids = [r[-max_length:] if max_length else r for r in ids]
    order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))  # similar lengths share a batch: little padding
    out: list[Generation] = [Generation("", 0, False)] * len(ids)
    run = decode if own_loop_ok(model) else partial(generate_decode, pad=pad)
    for n, chunk in enumerate(_batches(order, batch_size)):
        input_ids, mask = left_pad([ids[i] for i in chunk], pad, model.device)
        new = run(model, input_ids, mask, max_new_tokens, sorted(eos), do_sample=do_sample,
                  temperature=temperature, top_p=top_p, seed=seed + n, finished=stopped)
        for i, tokens in zip(chunk, new):
            cut = len(tokens) >= max_new_tokens and not ended(tokens, sorted(eos), stopped)
            out[i] = Generation(cut_at_stop(tokenizer.decode(tokens, skip_special_tokens=True), stops), len(tokens), cut)
    return out


def generate_answers(model, tokenizer, prompt_texts: list[str], *args, **kwargs) -> list[str]:
    """The answer texts of `generations` (same arguments)."""
    return [g.text for g in generations(model, tokenizer, prompt_texts, *args, **kwargs)]


@torch.no_grad()
def answer_nll(model, tokenizer, prompt_texts: list[str], answers: list[str], batch_size: int = 16,
               max_length: int | None = None, answer=prompts.answer_text) -> list[float]:
    """Mean negative log-likelihood per token of each gold answer after its prompt (teacher forced),
    batched: prompt + `answer(gold)` tokenised jointly as training tokenises them
    (`ragft.models.tokens.encode_pair`), so it equals the model's own loss on that text with the
    prompt masked. A sequence longer than `max_length` tokens loses the prompt's start."""
    pad = tokenizer.pad_token_id
    out: list[float] = []
    pairs = list(zip(prompt_texts, answers))
    for chunk in _batches(pairs, batch_size):
        seqs, spans = [], []
        for seq, start in encode_pairs(tokenizer, [p for p, _ in chunk], [answer(a) for _, a in chunk]):
            n = len(seq) - start
            seq = seq[-max_length:] if max_length else seq
            seqs.append(seq)
            spans.append(min(n, len(seq) - 1))
        # left padding, so every answer ends at the last position: only the last `keep` positions
        # need logits (a real model's vocabulary makes all of them costly)
        keep = max(spans) + 1
        ids, mask = left_pad(seqs, pad, model.device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        logits = model(input_ids=ids, attention_mask=mask, position_ids=positions, logits_to_keep=keep).logits
        logits = logits[:, -keep:-1].float()
        logp = torch.log_softmax(logits, dim=-1).gather(-1, ids[:, -keep + 1 :, None])[..., 0]
        for row, n in zip(logp, spans):
            out.append(float(-row[len(row) - n :].mean()) if n else math.nan)
    return out
