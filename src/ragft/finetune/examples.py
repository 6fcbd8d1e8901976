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
from ragft.models.tokens import PromptTooLong, fit_prompt


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


def prompt_fitter(templates: dict | None = None, render=None, tokenizer=None, max_length: int | None = None):
    """(question, contexts, completion) -> the rendered prompt, fitted with the completion into
    `max_length` tokens by evaluation's policy (`ragft.models.tokens.fit_prompt`: the question is
    never cut, the lowest-ranked chunk goes first), or None when even the bare question does not
    fit. Without a tokenizer or max_length, the prompt as it is."""
    render = render or (lambda p: p)

    def fit(question: str, contexts: list[str] | None, completion: str) -> str | None:
        if tokenizer is None or not max_length:
            return render(prompts.build_prompt(question, contexts, templates=templates))
        room = max_length - len(tokenizer(completion, add_special_tokens=False)["input_ids"]) - 1  # and EOS
        try:
            return fit_prompt(tokenizer, question, contexts, None, templates, room, render)[0]
        except PromptTooLong:
            return None

    return fit


def qa_examples(questions: list[dict], templates: dict | None = None, builder: str = "qa", render=None,
                answer=prompts.answer_text, fit=None) -> list[dict]:
    """Closed-book QA SFT: the question prompt, then the first gold answer (a question too long for
    `fit`, see `prompt_fitter`, is left out)."""
    fit = fit or prompt_fitter(templates, render)
    out = []
    for q in questions:
        completion = answer(q["answers"][0])
        prompt = fit(q["question"], None, completion)
        if prompt is not None:
            out.append({"id": f"{builder}:{q['id']}", "builder": builder, "prompt": prompt, "completion": completion})
    return out


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
                       render=None, answer=prompts.answer_text, fit=None) -> tuple[list[dict], dict]:
    """Retrieval-aware QA (RAFT-style): each train question with k chunks, then the answer. In a
    `gold_fraction` of examples (seeded) the gold chunk is one of the k, at a random place, among
    the best-retrieved chunks of other docs (distractors); in the rest there are distractors
    only, so the model learns both to read and to answer when retrieval fails. Returns the
    examples and counts `with_gold`, `without_gold`, `no_gold_chunk` (no chunk holds the answer).
    Prompts are fitted by `fit` (see `prompt_fitter`): the lowest-ranked chunks go first when the
    example is longer than the recipe's max_length."""
    rng = random.Random(seed)
    fit = fit or prompt_fitter(templates, render)
    by_doc: dict[str, list[str]] = {}
    for cid, c in chunks.items():
        by_doc.setdefault(c.get("doc_id"), []).append(cid)
    out, counts = [], Counter(with_gold=0, without_gold=0, no_gold_chunk=0, too_long=0)
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
        completion = answer(q["answers"][0])
        prompt = fit(q["question"], [chunks[c]["text"] for c in context], completion)
        if prompt is None:
            counts["too_long"] += 1
            continue
        out.append({"id": f"retrieval:{q['id']}", "builder": "retrieval", "prompt": prompt, "completion": completion})
    return out, dict(counts)


BUILDERS = ("chunks", "qa", "retrieval", "synthetic")


def refuse_eval_questions(questions: list[dict], eval_ids) -> None:
    """Stop the build when a training question is an eval question (by id)."""
    leaked = sorted({q.get("id") for q in questions if isinstance(q, dict)} & set(eval_ids or ()))
    if leaked:
        raise ValueError(f"finetune.data: {len(leaked)} training question(s) are eval questions "
                         f"({', '.join(leaked[:5])}); the QA builders read qa/train.jsonl only")


def build_train_data(chunks: list[dict], questions: list[dict], builders: dict, seed: int, templates: dict | None = None,
                     hits: list[list[tuple[str, float]]] | None = None, synthetic: list[dict] | None = None,
                     tokenizer=None, eval_ids=None, chat_template: bool | str = "auto",
                     max_length: int | None = None) -> tuple[list[dict], dict]:
    """The training set from the enabled builders, each repeated `weight` times, seeded shuffle;
    and what the builders did (`format_errors` of the inputs, RAFT counts). `hits` (the
    retriever's chunks per question) feeds `retrieval`, `synthetic` (generated question records,
    see `synthetic_qa`) feeds `synthetic`. QA prompts are rendered as evaluation renders them
    (`model.chat_template`, see ragft.prompts.renderer) and fitted into the recipe's `max_length`
    as evaluation fits them (`prompt_fitter`). Questions must come from qa/train.jsonl: one whose
    id is in `eval_ids` stops the build."""
    unknown = set(builders) - set(BUILDERS)
    if unknown:
        raise ValueError(f"finetune.data: unknown builder(s) {sorted(unknown)}; expected {list(BUILDERS)}")
    refuse_eval_questions(questions, eval_ids)
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
    fit = prompt_fitter(templates, render, tokenizer, max_length)

    def made(name: str, spec: dict) -> list[dict]:
        if name == "chunks":
            return chunk_examples(good_chunks)
        if name == "qa":
            return qa_examples(good_q, templates, "qa", render, answer, fit)
        if name == "synthetic":
            if synthetic is None:
                raise ValueError("finetune.data.synthetic is enabled but no generated questions were given")
            kept = [q for q in synthetic if question_error(q) is None]
            return qa_examples(kept, templates, "synthetic", render, answer, fit)
        if hits is None:
            raise ValueError("finetune.data.retrieval is enabled but no retrieval hits were given")
        examples, counts = retrieval_examples(good_q, good_hits, chunk_by_id, templates, spec["k"],
                                              spec["gold_fraction"], seed, render, answer, fit)
        stats["retrieval"] = counts
        return examples

    data = []
    for name, spec in builders.items():
        spec = {**schema_defaults(f"finetune.data.{name}"), **spec}
        if spec["enabled"]:
            data += made(name, spec) * int(spec["weight"])
    random.Random(seed).shuffle(data)
    return data, stats
