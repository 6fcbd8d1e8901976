"""The one prompt-template family every system uses, so systems differ only in what they add.

`context` is used when a retriever supplies passages, `closed` when none does; `shot` renders
one worked example for few-shot prompts. A plain prompt's answer follows it after one space and
ends at a newline, which is also the stop string for generation. A model with a chat template
(`model.chat_template: auto`) gets the prompt as a user turn after the family's `instruction` (a
system turn, or the start of the user turn), and answers in the assistant turn, training data and
evaluation alike.
"""

from __future__ import annotations

from ragft.config import schema_defaults

DEFAULT_TEMPLATES = schema_defaults("model.templates")  # context, closed, shot, instruction, instruction_role
ANSWER_PREFIX = " "
STOP = "\n"


def build_prompt(
    question: str,
    contexts: list[str] | None = None,
    shots: list[dict] | None = None,
    templates: dict | None = None,
) -> str:
    """The prompt for one question: optional few-shot examples, then context or closed book."""
    t = {**DEFAULT_TEMPLATES, **(templates or {})}
    prefix = "".join(t["shot"].format(question=s["question"], answer=s["answers"][0]) for s in shots or [])
    if contexts:
        return prefix + t["context"].format(context="\n\n".join(contexts), question=question)
    return prefix + t["closed"].format(question=question)


def answer_text(answer: str) -> str:
    """The completion a model is trained to produce after a prompt."""
    return ANSWER_PREFIX + answer + STOP


def uses_chat(tokenizer, setting: bool | str = "auto") -> bool:
    """Whether prompts go through the model's chat template: `auto` or true when its tokenizer has
    one (true without one is a no-op), never for false."""
    return setting in ("auto", True) and bool(getattr(tokenizer, "chat_template", None))


def chat_prompt(tokenizer, prompt: str, templates: dict | None = None) -> str:
    """The prompt as a user turn of the tokenizer's chat template, after the template family's
    instruction, ready for the answer; the prompt unchanged when the tokenizer has no chat template."""
    if tokenizer is None or not getattr(tokenizer, "chat_template", None):
        return prompt
    t = {**DEFAULT_TEMPLATES, **(templates or {})}
    instruction = t["instruction"]
    if instruction and t["instruction_role"] == "user":
        messages = [{"role": "user", "content": f"{instruction}\n\n{prompt}"}]
    else:
        messages = [{"role": "system", "content": instruction}] * bool(instruction) + [{"role": "user", "content": prompt}]
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


_SENTINEL = "RAGFT-ANSWER-7f3a"


def turn_end(tokenizer) -> str:
    """The text that ends an assistant turn in the tokenizer's chat template, up to and with its
    first special token (`<|im_end|>`, `<|eot_id|>`, `<end_of_turn>`, `</s>`); the EOS token when
    the template shows none. Computed once per tokenizer."""
    cache = tokenizer.__dict__
    if "_ragft_turn_end" not in cache:
        end = tokenizer.eos_token or ""
        if getattr(tokenizer, "chat_template", None):
            text = tokenizer.apply_chat_template(
                [{"role": "user", "content": "q"}, {"role": "assistant", "content": _SENTINEL}], tokenize=False)
            tail = text[text.rfind(_SENTINEL) + len(_SENTINEL):] if _SENTINEL in text else ""
            specials = [s for s in [*tokenizer.all_special_tokens, *tokenizer.get_added_vocab()] if s and s in tail]
            if specials:
                first = min(specials, key=lambda s: (tail.find(s), -len(s)))
                end = tail[: tail.find(first) + len(first)]
        cache["_ragft_turn_end"] = end
    return cache["_ragft_turn_end"]


def renderer(tokenizer, setting: bool | str = "auto", templates: dict | None = None):
    """How a model is shown prompts and answers: (prompt -> text, answer -> completion, chat?). In
    the chat template the completion is the bare answer closed as the template closes an assistant
    turn (`turn_end`); plain, it is `answer_text` (the trainer ends it with EOS)."""
    if uses_chat(tokenizer, setting):
        end = turn_end(tokenizer)
        return (lambda p: chat_prompt(tokenizer, p, templates)), (lambda a: a + end), True
    return (lambda p: p), answer_text, False
