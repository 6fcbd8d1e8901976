"""LLM-written questions: each filter on its own, the round trip, the counts, and a real instruct model."""

import json

import pytest

from ragft.qa.cloze import BLANK, none_kept
from ragft.qa.llm import REASONS, TEMPLATE, llm_questions, question_reason, round_trip_ok, statement

CHUNK = ("The rainy season of Ithmar District is May to August. Yearly rainfall in Ithmar District averages "
         "1160 millimetres. The extension officer of Ithmar District is Runsen Dulcal.")


@pytest.mark.parametrize("question, answer, reason", [
    ("", "May to August", "empty"),
    ("When is the rainy season of Ithmar District", "May to August", "not_a_question"),  # no question mark
    ("Rainy season?", "May to August", "not_a_question"),  # under 3 words
    ("When is the rainy season of Ithmar District?", "June to July", "answer_not_in_chunk"),
    ("Is the rainy season of Ithmar District May to August?", "May to August", "answer_in_question"),
    ("When is its rainy season?", "May to August", "not_self_contained"),
    ("What does the passage say about Ithmar District?", "May to August", "not_self_contained"),
    ("What is the answer to the question?", "May to August", "not_self_contained"),
    ("The rainy season of Ithmar District is ____?", "May to August", "not_self_contained"),
    ("How many farms are there in the United States?", "1160 millimetres", "off_topic"),
    ("When is the rainy season of Ithmar District?", "May to August", None),
    ("Who is the extension officer of Ithmar District?", "Runsen Dulcal", None),
])
def test_each_filter(question, answer, reason):
    assert question_reason(question, answer, CHUNK) == reason


@pytest.mark.parametrize("reply, ok", [
    ("May to August", True),
    ("The rainy season is May to August.", True),  # F1 0.67
    ("The rainy season of Ithmar District, where growers sow in May, is May to August.", False),  # holds it, F1 0.35
    ("June to July", False),
    ("May", False),
])
def test_the_round_trip_wants_the_answer_back(reply, ok):
    assert round_trip_ok(reply, "May to August", 0.4) is ok


def _chunks(n):
    """n chunks of n docs, each with one sentence that has a key span (a date) and a name."""
    return [{"id": f"d{i}#0000", "doc_id": f"d{i}",
             "text": f"Station Kal{i} Rowan was founded in March {1900 + i} by the valley growers."} for i in range(n)]


def _fake_model(bad=(), wrong=()):
    """ask: a question from each blanked statement ("Station X was founded in ____" -> "When was
    Station X founded?"), or a bad one for statements naming a station in `bad`; reply: the year back
    from the chunk, or a wrong one for questions naming a station in `wrong`. Records every call."""
    calls = {"ask": [], "reply": []}

    def ask(prompts):
        calls["ask"].append(len(prompts))
        out = []
        for p in prompts:
            said = p.rsplit("Statement: ", 1)[1].split("\n")[0]
            name = said.split(" was founded")[0]
            out.append("What does the text say?" if any(b in name for b in bad) else f"When was {name} founded?")
        return out

    def reply(pairs):
        calls["reply"].append(len(pairs))
        return ["1800" if any(w in q for w in wrong) else context.split("founded in ")[1][:10] for context, q in pairs]

    return ask, reply, calls


def test_questions_are_kept_or_dropped_by_reason_and_counted():
    ask, reply, calls = _fake_model(bad=("Kal3 ",), wrong=("Kal5 ",))
    out, manifest = llm_questions(_chunks(10), 7, ask, reply, model="fake", questions=100, batch=4)
    assert manifest["candidates"] == 10 and manifest["generated"] == 10 and manifest["unused"] == 0
    assert manifest["kept"] == 8 == len(out)
    assert {k: v for k, v in manifest["dropped"].items() if v} == {"not_self_contained": 1, "round_trip": 1}
    assert set(manifest["dropped"]) == set(REASONS) and manifest["invariant_ok"] is True
    assert calls["ask"] == [4, 4, 2]  # batches of 4 candidates
    assert sum(calls["reply"]) == 9  # the round trip runs only on questions that passed the other filters
    q = next(q for q in out if q["meta"]["chunk_id"] == "d0#0000")
    assert q["question"] == "When was Station Kal0 Rowan founded?" and q["answers"] == ["March 1900"]
    assert q["meta"]["generator"] == "llm" and q["meta"]["model"] == "fake" and q["meta"]["round_trip"] == "March 1900"
    assert q["meta"]["cloze"] == f"Fill in the blank: Station Kal0 Rowan was founded in {BLANK} by the valley growers."
    assert q["doc_ids"] == ["d0"] and q["id"] == "d0#0000#s0"


def test_generation_stops_once_enough_are_kept_and_reruns_give_the_same_questions():
    ask, reply, calls = _fake_model()
    out, manifest = llm_questions(_chunks(10), 7, ask, reply, model="fake", questions=3, batch=4)
    assert manifest["kept"] == 3 and manifest["generated"] == 3 and manifest["unused"] == 7
    assert calls["ask"] == [4]  # one batch was enough
    again, _ = llm_questions(_chunks(10), 7, *_fake_model()[:2], model="fake", questions=3, batch=4)
    assert json.dumps(again) == json.dumps(out)
    other, _ = llm_questions(_chunks(10), 8, *_fake_model()[:2], model="fake", questions=3, batch=4)
    assert [q["id"] for q in other] != [q["id"] for q in out]  # the seed draws the chunks


def test_near_duplicate_questions_are_dropped():
    texts = ["The old mill at Rowan Ford was rebuilt by hand in June 1950.",
             "Records show new millstones came to Rowan Ford after the floods of June 1950.",
             "Growers say the Rowan Ford mill burned down and reopened once again in June 1950."]
    chunks = [{"id": f"d{i}#0000", "doc_id": f"d{i}", "text": t} for i, t in enumerate(texts)]
    ask = lambda prompts: ["When was the old mill at Rowan Ford rebuilt?"] * len(prompts)  # noqa: E731
    reply = lambda pairs: ["June 1950"] * len(pairs)  # noqa: E731
    out, manifest = llm_questions(chunks, 7, ask, reply, model="fake", questions=10)
    assert manifest["sentences_dropped"]["near_duplicate"] == 0  # the sentences differ, the questions do not
    assert len(out) == 1 and manifest["dropped"]["near_duplicate"] == 2


def test_the_prompt_shows_the_blanked_sentence():
    candidate = {"question": f"Fill in the blank: Station X was founded in {BLANK}."}
    assert statement(candidate) == f"Station X was founded in {BLANK}."
    prompt = TEMPLATE.format(statement=statement(candidate))
    assert prompt.endswith(f"Statement: Station X was founded in {BLANK}.\nQuestion:")


def test_a_real_instruct_model_writes_questions_that_pass(smollm2_dir):
    """builtin:smollm2 writes questions about a few chunks (ragft.models.questions, as rule
    generate_qa runs it); those kept hold up to every filter, and a rerun writes the same ones."""
    from ragft.config import schema_defaults
    from ragft.models.questions import write_questions

    generate = {**schema_defaults("qa.generate"), "questions": 4}
    model = {**{k: schema_defaults("model")[k] for k in ("dtype", "trust_remote_code", "chat_template", "max_new_tokens")},
             "templates": schema_defaults("model.templates")}
    chunks = [
        {"id": "a#0", "doc_id": "a", "text": "The rainy season of Ithmar District is May to August. Farm advice is free."},
        {"id": "b#0", "doc_id": "b", "text": "The breeder of Rundris Talber is Pelmo Plant Trust. It ripens early."},
        {"id": "c#0", "doc_id": "c", "text": "The active season of Senkor weevil is April to June. Growers watch for it."},
        {"id": "d#0", "doc_id": "d", "text": "The maturity period of Motal Dulfen is 89 days. Its grain is pale gold."},
    ]
    kept = []
    out, manifest = write_questions(chunks, 7, smollm2_dir, generate, model, kept.append)
    assert manifest["generated"] == 4 and manifest["invariant_ok"] is True and manifest["model"] == "builtin:smollm2"
    assert manifest["kept"] >= 2 and len(kept) == manifest["kept"]
    text = {c["id"]: c["text"] for c in chunks}
    for q in out:
        assert question_reason(q["question"], q["answers"][0], text[q["meta"]["chunk_id"]]) is None
        assert round_trip_ok(q["meta"]["round_trip"], q["answers"][0], 0.4)
    again, _ = write_questions(chunks, 7, smollm2_dir, generate, model)
    assert again == out  # greedy: the same questions


def test_keeping_nothing_is_an_error_that_names_the_counts():
    ask = lambda prompts: ["What does the text say?"] * len(prompts)  # noqa: E731
    out, manifest = llm_questions(_chunks(3), 7, ask, lambda pairs: [], model="fake", questions=5)
    assert out == [] and manifest["dropped"]["not_self_contained"] == 3
    assert none_kept(manifest) == ("no generated question was kept (llm; 3 chunks, dropped by reason: "
                                   "{'not_self_contained': 3}): raise qa.generate.max_candidates or per_chunk, "
                                   "use a larger model, or method cloze")
    _, kept = llm_questions(_chunks(3), 7, *_fake_model()[:2], model="fake", questions=5)
    assert none_kept(kept) is None
