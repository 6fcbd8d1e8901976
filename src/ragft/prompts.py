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


def renderer(tokenizer, setting: bool | str = "auto", templates: dict | None = None):
    """How a model is shown prompts and answers: (prompt -> text, answer -> completion, chat?). In
    the chat template the completion is the bare answer (the trainer ends it with the end-of-turn
    token); plain, it is `answer_text`."""
    if uses_chat(tokenizer, setting):
        return (lambda p: chat_prompt(tokenizer, p, templates)), (lambda a: a), True
    return (lambda p: p), answer_text, False
