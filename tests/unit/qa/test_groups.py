"""Question groups: paraphrases (one gold doc, one normalised answer) never straddle the train/eval split."""

import random
from pathlib import Path

import pytest

from ragft.ingest.run import run_ingest
from ragft.jsonl import write_jsonl
from ragft.qa.gold import doc_index, load_gold, split_questions
from ragft.qa.groups import group_counts, question_groups, shared_with

AGXQA = Path(__file__).resolve().parents[4] / "shared" / "data" / "agxqa" / "agxqa_sample.json"


def q(qid, doc, *answers):
    return {"id": qid, "question": f"{qid}?", "answers": list(answers), "doc_ids": [doc] if doc else [], "meta": {}}


# 10 paraphrase pairs (answers equal once normalised), a chain of three joined through c2's two
# answers, look-alikes that share only the doc, only the answer, or no doc, and 20 plain questions
PAIRS = [q(f"p{i:02d}a", f"d{i}.md", f"The Red Barn {i}") for i in range(10)] + \
        [q(f"p{i:02d}b", f"d{i}.md", f"red barn {i}!") for i in range(10)]
CHAIN = [q("c1", "x.md", "one"), q("c2", "x.md", "One.", "two"), q("c3", "x.md", "TWO")]
LOOKALIKES = [q("s1", "y.md", "north"), q("s2", "y.md", "south"), q("t1", "z1.md", "east"), q("t2", "z2.md", "east"),
              q("n1", None, "west"), q("n2", None, "west")]
PLAIN = [q(f"u{i:02d}", f"u{i}.md", f"answer {i}") for i in range(20)]
QUESTIONS = PAIRS + CHAIN + LOOKALIKES + PLAIN


def ids(questions):
    return [x["id"] for x in questions]


def test_groups_join_shared_doc_and_answer_transitively():
    groups = question_groups(reversed(QUESTIONS))
    assert len(QUESTIONS) == 49 and len(groups) == 49 - 10 - 2
    multi = [ids(g) for g in groups if len(g) > 1]
    assert multi == [["c1", "c2", "c3"]] + [[f"p{i:02d}a", f"p{i:02d}b"] for i in range(10)]
    assert ids(groups[0]) == ["c1", "c2", "c3"] and ids(groups[-1]) == ["u19"]  # groups in order of first id


def test_paraphrases_never_straddle_the_split_for_any_seed():
    for seed in range(200):
        train, ev = split_questions(QUESTIONS, 0.2, seed)
        assert len(ev) == 10 and len(train) == 39  # round(49 * 0.2): whole groups fill it exactly
        assert shared_with(ev, train) == [] and shared_with(train, ev) == []
        side = {x["id"]: "eval" for x in ev}
        assert all(len({side.get(x["id"], "train") for x in g}) == 1 for g in question_groups(QUESTIONS))
        assert len(split_questions(QUESTIONS, 0.2, seed, max_eval=3)[1]) == 3


def test_eval_takes_whole_groups_up_to_the_target_and_never_over_the_cap():
    triples = [q(f"g{i}{k}", f"g{i}.md", "same") for i in range(5) for k in "abc"]  # 5 groups of 3
    train, ev = split_questions(triples, 0.2, seed=1)
    assert (len(train), len(ev)) == (12, 3) and len({x["doc_ids"][0] for x in ev}) == 1
    assert split_questions(triples, 0.2, seed=1, max_eval=2) == (sorted(triples, key=lambda x: x["id"]), [])
    assert len(split_questions(triples + [q("solo", "s.md", "x")], 0.2, seed=1, max_eval=2)[1]) == 1
    plain = [{"id": f"q{i:03d}"} for i in range(100)]  # no groups: the seeded question shuffle it always was
    order = sorted(plain, key=lambda x: x["id"])
    random.Random(5).shuffle(order)
    assert ids(split_questions(plain, 0.2, seed=5)[1]) == sorted(ids(order[:20]))


def test_the_same_questions_give_byte_identical_splits(tmp_path):
    runs = []
    for n, order in enumerate([QUESTIONS, list(reversed(QUESTIONS)), random.Random(3).sample(QUESTIONS, 49)]):
        train, ev = split_questions(order, 0.2, seed=8)
        write_jsonl(tmp_path / f"train{n}.jsonl", train)
        write_jsonl(tmp_path / f"eval{n}.jsonl", ev)
        runs.append(((tmp_path / f"train{n}.jsonl").read_bytes(), (tmp_path / f"eval{n}.jsonl").read_bytes()))
    assert runs[0] == runs[1] == runs[2]
    assert ids(split_questions(QUESTIONS, 0.2, seed=8)[1]) == ["p02a", "p02b", "p06a", "p06b", "p07a", "p07b", "p08a",
                                                                "p08b", "u02", "u13"]


def test_questions_generated_from_one_chunk_are_one_group():
    def gen(qid, chunk, answer):
        return {**q(qid, chunk.split("#")[0], answer), "meta": {"chunk_id": chunk, "generator": "cloze"}}

    generated = [gen("a1", "a.md#0000", "12 kg"), gen("a2", "a.md#0000", "1998"), gen("a3", "a.md#0001", "May"),
                 gen("b1", "b.md#0000", "1998"), gen("b2", "b.md#0001", "1998")]  # b1, b2: one doc, one answer
    assert [ids(g) for g in question_groups(generated)] == [["a1", "a2"], ["a3"], ["b1", "b2"]]
    assert shared_with(generated[:1], generated[1:]) == ["a1"] and shared_with(generated[2:3], generated[:2]) == []


def test_group_counts_for_the_manifest():
    train, ev = split_questions(QUESTIONS, 0.2, seed=8)
    assert group_counts(train, ev) == {"total": 37, "train": 31, "eval": 6, "largest": 3}
    assert group_counts(PLAIN, []) == {"total": 20, "train": 20, "eval": 0, "largest": 1}


@pytest.mark.skipif(not AGXQA.is_file(), reason="../shared/data/agxqa is not here")
def test_agxqa_eval_questions_share_no_gold_passage_and_answer_with_train(tmp_path):
    out = [tmp_path / n for n in ("docs.jsonl", "rejected.jsonl", "manifest.json")]
    run_ingest(str(AGXQA), *out)
    questions, _ = load_gold(str(AGXQA), doc_index(out[0]))
    train, ev = split_questions(questions, 0.2, seed=8, max_eval=500)  # the schema's defaults, seed 7 + 1
    assert shared_with(ev, train) == []  # a per-question split leaked 9 of its 114
    assert (len(train), len(ev)) == (456, 114)
    # near-identical questions join too: the largest group is 24 questions that differ in a soil zone or a year
    # ("what percentage of fields with soil in the 15-25 inch zone became wetter ... in 2021?")
    assert group_counts(train, ev) == {"total": 446, "train": 346, "eval": 100, "largest": 24}
    for seed in range(20):
        assert shared_with(*reversed(split_questions(questions, 0.2, seed=seed, max_eval=500))) == []


def test_near_identical_questions_of_two_documents_are_one_group():
    """Two filings of one company, a year apart: three sentences repeat with only the year changed,
    one is new. Each repeated sentence gives a question in each filing (different enough that the
    generator keeps both, unless they are nearly the same words), and each such pair is one group, on
    one side of every split."""
    from ragft.qa.cloze import cloze_questions

    repeated = ["In {y}, Acme operated 107 manufacturing and converting facilities in 36 countries and sold its "
                "products in more than 70 countries around the world.",
                "At the end of {y}, the Company employed approximately 93,516 people, of whom about 32,000 worked "
                "in the United States.",
                "Research, development and related expenses in {y} totaled $1.821 billion across all five business "
                "segments of Acme."]
    docs = {2015: "Net sales in the Industrial segment rose to $12.3 billion.",
            2016: "Net sales in the Safety segment fell to $6.8 billion."}
    chunks = [{"id": f"acme_{y}_10k.pdf#{k:04d}", "doc_id": f"acme_{y}_10k.pdf", "text": t}
              for y, new in docs.items() for k, t in enumerate([r.format(y=y) for r in repeated] + [new])]
    titles = {f"acme_{y}_10k.pdf": f"acme_{y}_10k" for y in docs}
    questions, manifest = cloze_questions(chunks, seed=3, questions=20, per_chunk=1, titles=titles)
    # the generator itself drops a copy at 0.9 word-set Jaccard (the 24-word sentence); the 17- and 14-word
    # ones differ by more (their year is one word in fewer) and are kept in both filings
    assert manifest["kept"] == 7 and manifest["dropped"]["near_duplicate"] == 1
    assert ("Fill in the blank (acme 2015 10k): At the end of 2015, the Company employed approximately 93,516 people, "
            "of whom about ____ worked in the United States.") in [q["question"] for q in questions]
    groups = question_groups(questions)
    assert sorted(len(g) for g in groups) == [1, 1, 1, 2, 2]
    for g in (g for g in groups if len(g) == 2):
        assert {q["doc_ids"][0] for q in g} == {"acme_2015_10k.pdf", "acme_2016_10k.pdf"}
        assert g[0]["answers"] == g[1]["answers"]
    for seed in range(10):
        _, ev = split_questions(questions, 0.5, seed=seed)
        eval_ids = {q["id"] for q in ev}
        assert all(len({q["id"] in eval_ids for q in g}) == 1 for g in groups)  # a group sits on one side
