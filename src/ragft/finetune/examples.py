"""Fine-tuning examples: (prompt, completion) pairs from the builders, the loss on the completion.

Builders: `chunks` (the corpus, continued pretraining), `qa` (qa/train.jsonl, closed book),
`retrieval` (RAFT-style: the question with its gold chunk among retrieved distractors in a share
of examples) and `synthetic` (questions an LLM wrote, see ragft.finetune.synthetic). Malformed
input records are counted by reason and dropped.
"""

from __future__ import annotations

import random
from collections import Counter

from ragft import prompts
from ragft.answers import holds_answer
from ragft.config import schema_defaults


def chunk_error(chunk) -> str | None:
    """Why a chunk record cannot be used (`missing_id`, `empty_text`), or None."""
    if not isinstance(chunk, dict) or not chunk.get("id"):
        return "missing_id"
    if not isinstance(chunk.get("text"), str) or not chunk["text"].strip():
        return "empty_text"
    return None


def question_error(q) -> str | None:
    """Why a gold-question record cannot be used (`missing_id`, `empty_question`, `no_answer`), or None."""
    if not isinstance(q, dict) or not q.get("id"):
        return "missing_id"
    if not isinstance(q.get("question"), str) or not q["question"].strip():
        return "empty_question"
    answers = q.get("answers")
    if not isinstance(answers, list) or not answers or not isinstance(answers[0], str) or not answers[0].strip():
        return "no_answer"
    return None


def chunk_examples(chunks: list[dict]) -> list[dict]:
    """Continued pretraining: every corpus chunk as a completion with no prompt."""
    return [{"id": f"chunk:{c['id']}", "builder": "chunks", "prompt": "", "completion": c["text"] + "\n"} for c in chunks]


def qa_examples(questions: list[dict], templates: dict | None = None, builder: str = "qa", render=None,
                answer=prompts.answer_text) -> list[dict]:
    """Closed-book QA SFT: the question prompt, then the first gold answer."""
    render = render or (lambda p: p)
    return [
        {
            "id": f"{builder}:{q['id']}",
            "builder": builder,
            "prompt": render(prompts.build_prompt(q["question"], templates=templates)),
            "completion": answer(q["answers"][0]),
        }
        for q in questions
    ]


def gold_chunk(q: dict, hits: list[tuple[str, float]], chunks: dict[str, dict], by_doc: dict[str, list[str]]) -> str | None:
    """The chunk that answers a question: of its gold docs, the best-retrieved chunk containing an
    answer, else the first such chunk of the doc, else the best-retrieved chunk of a gold doc;
    without doc ids, the best-retrieved chunk containing an answer."""
    gold_docs = set(q.get("doc_ids") or [])
    has_answer = lambda cid: holds_answer(chunks[cid]["text"], q["answers"])  # noqa: E731
    if not gold_docs:
        return next((c for c, _ in hits if has_answer(c)), None)
    retrieved = [c for c, _ in hits if chunks[c].get("doc_id") in gold_docs]
    in_docs = [c for d in q["doc_ids"] for c in by_doc.get(d, [])]
    return next((c for c in retrieved + in_docs if has_answer(c)), retrieved[0] if retrieved else None)


def retrieval_examples(questions: list[dict], hits: list[list[tuple[str, float]]], chunks: dict[str, dict],
                       templates: dict | None = None, k: int = 2, gold_fraction: float = 1.0, seed: int = 0,
                       render=None, answer=prompts.answer_text) -> tuple[list[dict], dict]:
    """Retrieval-aware QA (RAFT-style): each train question with k chunks, then the answer. In a
    `gold_fraction` of examples (seeded) the gold chunk is one of the k, at a random place, among
    the best-retrieved chunks of other docs (distractors); in the rest there are distractors
    only, so the model learns both to read and to answer when retrieval fails. Returns the
    examples and counts `with_gold`, `without_gold`, `no_gold_chunk` (no chunk holds the answer)."""
    rng = random.Random(seed)
    render = render or (lambda p: p)
    by_doc: dict[str, list[str]] = {}
    for cid, c in chunks.items():
        by_doc.setdefault(c.get("doc_id"), []).append(cid)
    out, counts = [], Counter(with_gold=0, without_gold=0, no_gold_chunk=0)
    for q, h in zip(questions, hits):
        h = [(c, s) for c, s in h if c in chunks]
        gold = gold_chunk(q, h, chunks, by_doc)
        gold_docs = set(q.get("doc_ids") or [])
        if not gold_docs and gold is not None:
            gold_docs = {chunks[gold].get("doc_id")}
        distractors = [c for c, _ in h if c != gold and chunks[c].get("doc_id") not in gold_docs]
        use_gold, place = rng.random() < gold_fraction, rng.random()
        if gold is None:
            counts["no_gold_chunk"] += 1
        if gold is not None and use_gold:
            context = distractors[: k - 1]
            context.insert(int(place * (len(context) + 1)), gold)
            counts["with_gold"] += 1
        else:
            context = distractors[:k]
            counts["without_gold"] += 1
        out.append({
            "id": f"retrieval:{q['id']}",
            "builder": "retrieval",
            "prompt": render(prompts.build_prompt(q["question"], [chunks[c]["text"] for c in context], templates=templates)),
            "completion": answer(q["answers"][0]),
        })
    return out, dict(counts)


BUILDERS = ("chunks", "qa", "retrieval", "synthetic")


def build_train_data(chunks: list[dict], questions: list[dict], builders: dict, seed: int, templates: dict | None = None,
                     hits: list[list[tuple[str, float]]] | None = None, synthetic: list[dict] | None = None,
                     tokenizer=None, eval_ids=None, chat_template: bool | str = "auto") -> tuple[list[dict], dict]:
    """The training set from the enabled builders, each repeated `weight` times, seeded shuffle;
    and what the builders did (`format_errors` of the inputs, RAFT counts). `hits` (the
    retriever's chunks per question) feeds `retrieval`, `synthetic` (generated question records,
    see `synthetic_qa`) feeds `synthetic`. QA prompts are rendered as evaluation renders them
    (`model.chat_template`, see ragft.prompts.renderer). Questions must come from qa/train.jsonl: one
    whose id is in `eval_ids` stops the build."""
    unknown = set(builders) - set(BUILDERS)
    if unknown:
        raise ValueError(f"finetune.data: unknown builder(s) {sorted(unknown)}; expected {list(BUILDERS)}")
    leaked = sorted({q.get("id") for q in questions if isinstance(q, dict)} & set(eval_ids or ()))
    if leaked:
        raise ValueError(f"finetune.data: {len(leaked)} training question(s) are eval questions "
                         f"({', '.join(leaked[:5])}); the QA builders read qa/train.jsonl only")
    errors: dict[str, Counter] = {"chunks": Counter(), "questions": Counter()}
    good_chunks = []
    for c in chunks:
        reason = chunk_error(c)
        errors["chunks"].update([reason] if reason else [])
        if reason is None:
            good_chunks.append(c)
    good_q, good_hits = [], []
    for i, q in enumerate(questions):
        reason = question_error(q)
        errors["questions"].update([reason] if reason else [])
        if reason is None:
            good_q.append(q)
            good_hits.append(hits[i] if hits is not None else [])
    chunk_by_id = {c["id"]: c for c in good_chunks}
    stats: dict = {"format_errors": {k: dict(sorted(v.items())) for k, v in errors.items()}}

    render, answer, _ = prompts.renderer(tokenizer, chat_template, templates)

    def made(name: str, spec: dict) -> list[dict]:
        if name == "chunks":
            return chunk_examples(good_chunks)
        if name == "qa":
            return qa_examples(good_q, templates, "qa", render, answer)
        if name == "synthetic":
            if synthetic is None:
                raise ValueError("finetune.data.synthetic is enabled but no generated questions were given")
            return qa_examples([q for q in synthetic if question_error(q) is None], templates, "synthetic", render, answer)
        if hits is None:
            raise ValueError("finetune.data.retrieval is enabled but no retrieval hits were given")
        examples, counts = retrieval_examples(good_q, good_hits, chunk_by_id, templates, spec["k"],
                                              spec["gold_fraction"], seed, render, answer)
        stats["retrieval"] = counts
        return examples

    data = []
    for name, spec in builders.items():
        spec = {**schema_defaults(f"finetune.data.{name}"), **spec}
        if spec["enabled"]:
            data += made(name, spec) * int(spec["weight"])
    random.Random(seed).shuffle(data)
    return data, stats
