"""Synthetic QA: questions a causal LM writes about corpus chunks, kept only when the answer is a
span of the chunk; malformed generations are counted by reason, never a crash.
"""

from __future__ import annotations

import random
import re
from collections import Counter

from ragft.config import schema_defaults
from ragft.finetune.examples import chunk_error
from ragft.prompts import renderer

SYNTHETIC_TEMPLATE = (
    "Text: {chunk}\n\nWrite a question that the text answers, then its answer copied word for word "
    "from the text.\nQuestion:"
)


_QA_LINE = re.compile(r"^\s*(?:\d+[.)]\s*|[-*]\s*)?(question|answer|q|a)\s*:\s*(.*?)\s*$", re.IGNORECASE)


_INLINE_ANSWER = re.compile(r"\s+(?:answer|a)\s*:\s*", re.IGNORECASE)


def parse_qa_pairs(text: str) -> list[tuple[str, str]]:
    """(question, answer) pairs from generated `Question: ...` / `Answer: ...` lines (also `Q:`/`A:`,
    numbered or bulleted, or both on one line). An answer line pairs with the question line
    right before it (blank lines aside); any other line breaks the pair."""
    pairs, question = [], None
    for line in text.splitlines():
        if not line.strip():
            continue
        m = _QA_LINE.match(line)
        if not m:
            question = None
            continue
        kind, value = m.group(1).lower()[0], m.group(2)
        if kind == "q":
            inline = _INLINE_ANSWER.split(value, maxsplit=1)
            if len(inline) == 2:
                pairs.append((inline[0].strip(), inline[1].strip()))
                question = None
            else:
                question = value
        elif question is not None:
            pairs.append((question, value))
            question = None
    return pairs


def check_pair(question: str, answer: str, chunk_text: str) -> str | None:
    """Why a generated pair is dropped (`empty`, `answer_not_in_chunk`), or None to keep it."""
    answer = answer.strip().rstrip(".").strip()
    if not question.strip() or not answer:
        return "empty"
    if answer not in chunk_text:
        return "answer_not_in_chunk"
    return None


def synthetic_qa(chunks: list[dict], model, tokenizer, spec: dict, seed: int) -> tuple[list[dict], dict]:
    """Questions a causal LM writes about corpus chunks (`max_chunks` of them, seeded), as
    gold-question records. Malformed generations never stop the run: every generation and pair is
    counted, kept or dropped by reason, and `pairs == kept + sum(dropped)` always holds."""
    from ragft.models.generate import generate_answers

    spec = {**schema_defaults("finetune.data.synthetic"), **spec}
    rng = random.Random(seed)
    chunks = [c for c in chunks if chunk_error(c) is None]
    n = spec["max_chunks"] or len(chunks)
    picked = sorted(rng.sample(range(len(chunks)), min(n, len(chunks))))
    template = spec["template"] or SYNTHETIC_TEMPLATE
    texts = [template.format(chunk=chunks[i]["text"]) for i in picked]
    render, _, _ = renderer(tokenizer, spec["chat_template"], {"instruction": None})
    shown = [render(t) for t in texts]
    generations = generate_answers(model, tokenizer, shown, max_new_tokens=spec["max_new_tokens"],
                                   batch_size=spec["batch_size"], stop=None)
    records, seen, dropped = [], set(), Counter(no_pair=0, empty=0, answer_not_in_chunk=0, duplicate=0)
    pairs_total = 0
    for i, text, gen in zip(picked, texts, generations):
        chunk = chunks[i]
        # the template's last line ("Question:") starts the generation's first pair
        pairs = parse_qa_pairs(text.rsplit("\n", 1)[-1] + " " + gen)
        if not pairs:
            dropped["no_pair"] += 1
        for question, answer in pairs:
            pairs_total += 1
            reason = check_pair(question, answer, chunk["text"])
            key = " ".join(question.lower().split())
            if reason is None and key in seen:
                reason = "duplicate"
            if reason:
                dropped[reason] += 1
                continue
            seen.add(key)
            records.append({"id": f"{chunk['id']}#q{len(records)}", "question": question.strip(),
                            "answers": [answer.strip().rstrip(".").strip()], "doc_ids": [chunk.get("doc_id")],
                            "meta": {"chunk_id": chunk["id"]}})
    stats = {"chunks": len(picked), "generations": len(generations), "pairs": pairs_total, "kept": len(records),
             "dropped": dict(dropped)}
    return records, stats
