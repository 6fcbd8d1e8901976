"""What a causal LM is shown, token by token, one policy for training and evaluation alike.

- `prompt_ids`: a prompt's ids with the BOS token first when the tokenizer adds one (Llama, Gemma,
  Mistral) and the text does not already begin with it (a chat template that writes it itself).
- `encode_pair`: prompt + completion tokenised as ONE text, the completion's first token found
  from the character offsets. Tokenised apart, a SentencePiece completion gets a leading piece
  ("▁") and a BPE one can split where the joint text merges: the targets would not be the tokens
  the model reads at inference.
- `fit_prompt`: a prompt within a token budget. The instruction and the question are never cut:
  the retrieved context loses its lowest-ranked chunk first (the last one left loses its end),
  then few-shot examples go from the first; a prompt that does not fit even then is refused.
"""

from __future__ import annotations

from ragft import prompts


def adds_bos(tokenizer) -> bool:
    """Whether the tokenizer puts a BOS token before a text (its post-processor, as the model was
    trained), computed once per tokenizer."""
    cache = tokenizer.__dict__
    if "_ragft_adds_bos" not in cache:
        bos = tokenizer.bos_token_id
        ids = tokenizer("a", add_special_tokens=True)["input_ids"] if bos is not None else []
        cache["_ragft_adds_bos"] = bool(ids) and ids[0] == bos
    return cache["_ragft_adds_bos"]


def with_bos(tokenizer, ids: list[int]) -> list[int]:
    """`ids` with BOS first when the tokenizer adds one and they do not start with it already."""
    if adds_bos(tokenizer) and not (ids and ids[0] == tokenizer.bos_token_id):
        return [tokenizer.bos_token_id, *ids]
    return list(ids)


def prompt_ids(tokenizer, texts: list[str]) -> list[list[int]]:
    """Token ids of prompts as the model expects them (see `with_bos`), in one batched call."""
    if not texts:
        return []
    return [with_bos(tokenizer, ids) for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"]]


def count_tokens(tokenizer, text: str) -> int:
    """The tokens a prompt takes, BOS included."""
    return len(prompt_ids(tokenizer, [text])[0])


def encode_pair(tokenizer, prompt: str, completion: str) -> tuple[list[int], int]:
    """(token ids of prompt + completion tokenised jointly, BOS first when due; index of the
    completion's first token). A token that straddles the boundary belongs to the completion, so
    every completion character is a target."""
    return encode_pairs(tokenizer, [prompt], [completion])[0]


def encode_pairs(tokenizer, prompts_: list[str], completions: list[str]) -> list[tuple[list[int], int]]:
    """`encode_pair` for many pairs, in one batched tokenizer call."""
    if not prompts_:
        return []
    texts = [p + c for p, c in zip(prompts_, completions)]
    if getattr(tokenizer, "is_fast", False):
        enc = tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True)
        starts = [next((i for i, (s, e) in enumerate(offsets) if e > len(p) or s >= len(p)), len(offsets))
                  for p, offsets in zip(prompts_, enc["offset_mapping"])]
    else:  # a slow tokenizer gives no offsets: the prompt's own token count
        enc = tokenizer(texts, add_special_tokens=False)
        starts = [len(x) for x in tokenizer(list(prompts_), add_special_tokens=False)["input_ids"]]
    out = []
    for ids, start in zip(enc["input_ids"], starts):
        full = with_bos(tokenizer, ids)
        out.append((full, start + len(full) - len(ids)))
    return out


class PromptTooLong(ValueError):
    """A prompt whose question and instruction alone exceed the token budget."""


def fit_prompt(tokenizer, question: str, contexts: list[str] | None, shots: list[dict] | None,
               templates: dict | None, limit: int, render=None) -> tuple[str, int]:
    """The prompt of one question within `limit` tokens (BOS counted), and the tokens cut to fit
    (see the module's policy). `render` wraps the prompt (the chat template) before it is counted.
    Raises PromptTooLong when even the bare question does not fit."""
    render = render or (lambda p: p)

    def make(ctx, sh) -> tuple[str, int]:
        text = render(prompts.build_prompt(question, ctx or None, sh or None, templates))
        return text, count_tokens(tokenizer, text)

    contexts, shots = list(contexts or []), list(shots or [])
    text, n = make(contexts, shots)
    full = n
    while n > limit and len(contexts) > 1:  # the lowest-ranked chunk goes first
        contexts.pop()
        text, n = make(contexts, shots)
    if n > limit and contexts:  # the best chunk left loses its end
        ids = tokenizer(contexts[0], add_special_tokens=False)["input_ids"]
        keep = len(ids)
        while n > limit and keep > 0:
            keep = max(0, keep - (n - limit))
            contexts = [tokenizer.decode(ids[:keep])]  # cut to nothing, a RAG prompt stays one
            text, n = make(contexts, shots)
    while n > limit and shots:  # then few-shot examples, the first one first
        shots.pop(0)
        text, n = make(contexts, shots)
    if n > limit:
        raise PromptTooLong(f"the prompt of question {question[:80]!r} takes {n} tokens without any context or "
                            f"example, over the limit of {limit}; raise model.max_prompt_tokens (or the recipe's max_length)")
    return text, full - n
