"""The model side of LLM-written questions (qa.generate.method llm): load the generating model
and give ragft.qa.llm its two calls, `ask` (write a question for each few-shot prompt) and `reply`
(answer a question from its chunk, shown as a RAG system is shown it: the round trip)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ragft.models.generate import generate_answers
from ragft.models.load import load_causal_lm, load_tokenizer
from ragft.prompts import build_prompt, renderer
from ragft.qa.llm import llm_questions

CLOZE_KEYS = ("questions", "per_chunk", "min_words", "max_words", "max_bare_share")


def write_questions(chunks: Iterable[dict], seed: int, path: str, generate: dict, model: dict,
                    on_kept: Callable[[int], object] = lambda n: None,
                    titles: dict[str, str] | None = None) -> tuple[list[dict], dict]:
    """llm_questions with the model at `path` (a folder or hub id). `generate` holds qa.generate's
    keys; `model` the model keys evaluation uses (dtype, trust_remote_code, templates, chat_template,
    max_new_tokens: the round trip's answer length); `titles` the docs' titles, {doc id: title}."""
    tokenizer = load_tokenizer(path, model["trust_remote_code"])
    lm = load_causal_lm(path, None, model["dtype"], model["trust_remote_code"])
    render, _, _ = renderer(tokenizer, model["chat_template"], model["templates"])

    def run(prompts: list[str], max_new_tokens: int) -> list[str]:
        return generate_answers(lm, tokenizer, prompts, max_new_tokens, generate["batch_size"], stop=["\n"])

    def ask(prompts: list[str]) -> list[str]:  # plain few-shot completions: the question ends at its newline
        return run(prompts, generate["max_new_tokens"])

    def reply(pairs: list[tuple[str, str]]) -> list[str]:
        prompts = [render(build_prompt(q, [chunk], templates=model["templates"])) for chunk, q in pairs]
        return run(prompts, model["max_new_tokens"])

    return llm_questions(chunks, seed, ask, reply, model=generate["model"],
                         max_candidates=generate["max_candidates"] or 4 * generate["questions"],
                         round_trip_f1=generate["round_trip_f1"], template=generate["template"], titles=titles, on_kept=on_kept,
                         **{k: generate[k] for k in CLOZE_KEYS})
