"""The one prompt-template family every system uses, so systems differ only in what they add.

`context` is used when a retriever supplies passages, `closed` when none does; `shot` renders
one worked example for few-shot prompts. The answer follows the prompt after one space and ends
at a newline, which is also the stop string for generation.
"""

from __future__ import annotations

from ragft.config import schema_defaults

DEFAULT_TEMPLATES = schema_defaults("model.templates")  # context, closed, shot
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


def chat_prompt(tokenizer, prompt: str) -> str:
    """The prompt as one user turn of the tokenizer's chat template, ready for the answer; the
    prompt unchanged when the tokenizer has no chat template."""
    if tokenizer is None or not getattr(tokenizer, "chat_template", None):
        return prompt
    return tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True)
