"""Cloze questions: which span is blanked, why a sentence is dropped, and a seeded sample spread over docs."""

import json
from pathlib import Path

import pytest

from ragft.answers import holds_answer
from ragft.jsonl import read_jsonl
from ragft.qa.cloze import REASONS, cloze, cloze_questions, key_span, sentences, spread, subject
from ragft.qa.gold import split_questions
from ragft.qa.groups import question_groups

ROOT = Path(__file__).resolve().parents[3]


def blanked(sentence):
    span = key_span(sentence)
    return sentence[span[0]:span[1]] if span else None


@pytest.mark.parametrize("sentence, answer", [
    ("Typical soil pH in Ithmar District runs 6.7 to 7.9.", "6.7 to 7.9"),  # a number beats a name
    ("A full sack of Calsul seed weighs 12 kg when dry.", "12 kg"),
    ("The annual rainfall of Ithmar District is 1160 millimetres.", "1160 millimetres"),
    ("Growers can expect 4.2 tonnes per hectare from Runtal Ganyen.", "4.2 tonnes per hectare"),
    ("Amka midge was first recorded in the valley in 1998.", "1998"),
    ("Ithmar District receives most of its rain from May to August.", "May to August"),
    ("The sowing window of Dulvell Tholu is mid-January to early February.", "mid-January to early February"),
    ("The extension officer of Ithmar District is Runsen Dulcal.", "Runsen Dulcal"),  # the last name
    ("Dulvell Tholu was bred by the Calsul Seed Institute.", "Calsul Seed Institute"),
    ("Visitors to the Bank of the West pay nothing.", "Bank of the West"),
    ("Grain came from Paris and Rome via Old Port Harbour.", "Old Port Harbour"),  # "and" joins no name
    ("The museum keeps Mark Twain's desk.", "Mark Twain"),
    ("Runsen Dulcal advises growers in the north.", None),  # a name at the sentence start is no evidence
    ("Meet at 10:30 on 12/05 by the gate.", None),  # times and fractions are not quantities
])
def test_the_blanked_span(sentence, answer):
    assert blanked(sentence) == answer


def test_a_question_is_the_sentence_with_a_blank_and_the_instruction():
    assert cloze("Typical soil pH in Ithmar District runs 6.7 to 7.9.", 6, 40) == (
        "Fill in the blank: Typical soil pH in Ithmar District runs ____.", (40, 50))


@pytest.mark.parametrize("sentence, reason", [
    ("Agronomy", "fragment"),  # a heading
    ("What is the soil pH of Ithmar District?", "fragment"),  # a question, not a statement
    ("and most farms sit on pale stony loam in 1998.", "fragment"),  # a sentence cut by a chunk edge
    ("Yield: 12 kg.", "too_short"),
    ("Farms " + "in the district " * 14 + "grow 12 kg.", "too_long"),
    ("It was bred by the Calsul Seed Institute in 1998.", "not_self_contained"),
    ("These fields gave 12 kg in 1998.", "not_self_contained"),
    ("As shown in this table, yields reached 12 kg.", "not_self_contained"),
    ("Use Dulka emulsion when Amka midge passes the threshold.", "no_span"),
    ("Soil maps of Ithmar District are kept by Ithmar District staff.", "answer_in_question"),
    ("The 1160 millimetres of Ithmar District fall as 1160 millimetres.", "answer_in_question"),
])
def test_why_a_sentence_is_dropped(sentence, reason):
    assert cloze(sentence, 6, 40) == reason


def test_sentences_drop_list_and_heading_marks():
    text = "# Dulvell Tholu\n\n- Keep seed of Dulvell Tholu dry. Sow in May.\n2) Then harvest."
    assert [text[s:e] for s, e in sentences(text)] == [
        "Dulvell Tholu", "Keep seed of Dulvell Tholu dry.", "Sow in May.", "Then harvest."]


def chunk(cid, text):
    return {"id": cid, "doc_id": cid.split("#")[0], "text": text, "start": 0, "end": len(text), "n_tokens": 9}


KEPT = "The officer of Kordul District is Runsen Dulcal."
CHUNKS = [
    chunk("a.md#0000", "## Agronomy\nThe soil pH of Ithmar District is 6.7 to 7.9."),
    chunk("a.md#0001", "The soil pH of Ithmar District is 6.7 to 7.9. Yield: 12 kg."),  # overlap: a near duplicate
    chunk("b.md#0000", "It was bred by the Calsul Seed Institute in 1998."),
    chunk("c.md#0000", "Use Dulka emulsion when Amka midge passes the threshold."),
    chunk("d.md#0000", "Soil maps of Ithmar District are kept by Ithmar District staff."),
    chunk("e.md#0000", "Farms " + "in the district " * 14 + "grow 12 kg. " + KEPT),
]


def test_every_sentence_looked_at_is_kept_or_dropped_for_one_reason():
    questions, manifest = cloze_questions(CHUNKS, seed=7, questions=10, per_chunk=5)  # every sentence looked at
    ph = "Fill in the blank: The soil pH of Ithmar District is ____."
    assert [(q["id"], q["question"], q["answers"]) for q in questions] == [
        ("a.md#0001#s0", ph, ["6.7 to 7.9"]),  # the chunk seed 7 reads first; a.md#0000's copy is the duplicate
        ("e.md#0000#s1", "Fill in the blank: The officer of Kordul District is ____.", ["Runsen Dulcal"]),
    ]
    assert questions[0]["doc_ids"] == ["a.md"] and questions[0]["meta"] == {
        "chunk_id": "a.md#0001", "generator": "cloze", "sentence": "The soil pH of Ithmar District is 6.7 to 7.9.",
        "answer_start": 34}
    assert manifest["dropped"] == {"furniture": 0, "fragment": 1, "too_short": 1, "too_long": 1, "boilerplate": 0,
                                   "not_self_contained": 1, "no_span": 1, "answer_in_question": 1, "ambiguous": 0,
                                   "bare_number": 0, "repeated_answer": 0, "near_duplicate": 1}
    assert list(manifest["dropped"]) == list(REASONS)
    assert (manifest["chunks"], manifest["chunks_sampled"], manifest["candidates"], manifest["kept"]) == (6, 6, 9, 2)
    assert manifest["invariant_ok"] and manifest["docs_with_questions"] == 2


def test_per_chunk_and_questions_stop_the_reading():
    three = [chunk(f"{d}.md#0000", " ".join(f"Field {k} of {d} farm gave {k + 1} tonnes of grain." for k in range(3)))
             for d in "xyz"]
    assert [cloze_questions(three, 7, questions=9, per_chunk=n)[1]["candidates"] for n in (1, 2, 3)] == [3, 6, 9]
    _, manifest = cloze_questions(three, 7, questions=4, per_chunk=3)
    assert (manifest["kept"], manifest["chunks_sampled"], manifest["candidates"]) == (4, 2, 4)


def test_answers_are_spans_of_their_chunk_at_answer_start():
    questions, _ = cloze_questions(CHUNKS, seed=7, questions=10, per_chunk=3)
    text = {c["id"]: c["text"] for c in CHUNKS}
    for q in questions:
        start = q["meta"]["answer_start"]
        assert text[q["meta"]["chunk_id"]][start:start + len(q["answers"][0])] == q["answers"][0]


def doc_chunks(n_docs, per_doc):
    return [chunk(f"d{d:02d}.md#{k:04d}", f"Plot {k} of farm {d} gave {10 * d + k} kg of grain in the trial.")
            for d in range(n_docs) for k in range(per_doc)]


def test_the_sample_takes_a_chunk_of_every_doc_before_a_second_of_any():
    import random

    chunks = doc_chunks(5, 1) + doc_chunks(8, 4)[20:]  # docs 0-4 with one chunk, 5-7 with four
    order = spread(chunks, random.Random(3))
    assert sorted(c["id"] for c in order) == sorted(c["id"] for c in chunks)
    assert len({c["doc_id"] for c in order[:8]}) == 8  # round one: every doc once
    assert len({c["doc_id"] for c in order[8:11]}) == 3  # round two: the three docs left
    questions, manifest = cloze_questions(chunks, seed=3, questions=8)
    assert len({q["doc_ids"][0] for q in questions}) == 8 and manifest["chunks_sampled"] == 8


def test_the_same_seed_gives_the_same_bytes_another_seed_another_sample():
    chunks = doc_chunks(30, 3)

    def dump(seed):
        questions, manifest = cloze_questions(list(reversed(chunks)) if seed == "rev" else chunks,
                                              seed=11 if seed == "rev" else seed, questions=12)
        return json.dumps(questions) + json.dumps(manifest)

    assert dump(11) == dump(11) == dump("rev")  # the chunks' order in the file does not matter
    assert dump(11) != dump(12)
    assert len(cloze_questions(chunks, seed=11, questions=12)[0]) == 12


def test_questions_of_one_chunk_stay_on_one_side_of_the_split():
    # every chunk's two facts in its own words, so no two chunks' questions are near-identical
    words = [f"{a}{b}" for a in ("Kor", "Dal", "Mep", "Tus", "Vin", "Rol") for b in ("ba", "ce", "di", "fo", "gu")]
    names = [f"{a}{b}" for a in ("Sel", "Pan", "Gor", "Hut", "Lem", "Nar") for b in ("ka", "lo", "mi", "nu", "pe")]
    text = "Plot {0} of {3} gave {1} kg of grain. Farm {0} of {3} {4} sells {2} litres of milk a day. It rained 9 mm in May."
    chunks = [chunk(f"f{i:02d}.md#0000", text.format(i, 100 + i, 200 + i, w, names[i])) for i, w in enumerate(words)]
    questions, manifest = cloze_questions(chunks, seed=5, questions=200, per_chunk=2)
    assert manifest["kept"] == 60 and len(question_groups(questions)) == 30
    for seed in range(20):
        train, evaluation = split_questions(questions, 0.2, seed)
        side = {q["meta"]["chunk_id"] for q in evaluation}
        assert len(evaluation) == 12 and not side & {q["meta"]["chunk_id"] for q in train}


@pytest.fixture(scope="module")
def demo_chunks(tmp_path_factory):
    """The demo corpus chunked as the demo config does (64 MiniLM tokens, overlap 16)."""
    from transformers import AutoTokenizer

    from ragft.ingest.run import run_ingest
    from ragft.models.specs import minilm_path
    from ragft.retrieval.chunk import chunk_docs

    out = tmp_path_factory.mktemp("demo")
    run_ingest(str(ROOT / "resources" / "demo" / "corpus"), out / "docs.jsonl", out / "rejected.jsonl", out / "m.json")
    return chunk_docs(read_jsonl(out / "docs.jsonl"), AutoTokenizer.from_pretrained(minilm_path()), 64, 16)


def test_the_demo_corpus_gives_hundreds_of_questions_spread_over_its_docs(demo_chunks):
    questions, manifest = cloze_questions(demo_chunks, seed=7, questions=300)
    text = {c["id"]: c["text"] for c in demo_chunks}
    assert manifest["kept"] == 300 and manifest["invariant_ok"] and manifest["docs_with_questions"] >= 185  # of 200
    for q in questions:
        chunk_text = text[q["meta"]["chunk_id"]]
        assert q["answers"][0] in chunk_text and q["meta"]["sentence"] in chunk_text
        assert q["question"].count("____") == 1 and not holds_answer(q["question"], q["answers"])
    assert len({q["question"] for q in questions}) == 300


# Sentences of 3M's 2018 Form 10-K (../shared/data/sec/3M_2018_10K.pdf), as ingest and ragft.sentences cut them.
TENK = "3M 2018 10K"
TENK_DROPS = [
    ("Financial Statements and Supplementary Data (continued)", "furniture"),  # a running header
    ("$15.033 billion and $16.270 billion at December 31, 2018 and 2017, respectively.", "furniture"),  # a table's tail
    ("Asset Impairments:", "fragment"),
    ("2.9 percentage points versus 2016.", "fragment"),  # the tail of a sentence cut at a page break
    ("Goodwill is not amortized.", "too_short"),
    ("Management believes the confidence of wholesalers, retailers, jobbers, distributors and dealers in 3M and its "
     "products — a confidence developed through long association with skilled marketing and sales representatives — "
     "has contributed significantly to 3M’s position in the marketplace and to its growth.", "too_long"),
    ("Policy on Reimbursement of Incentive Compensation (effective May 11, 2010) is incorporated by reference from our "
     "Form 10-Q dated August 4, 2010.", "boilerplate"),  # an exhibit list
    ("For purposes of Section 409A, each payment that Participant may be eligible to receive under this Agreement "
     "shall be treated as a separate and distinct payment.", "boilerplate"),  # an award agreement's legal text
    ("Refer to Note 10 for further discussion of income taxes.", "boilerplate"),  # a cross-reference
    ("This program has no pre-established end date.", "not_self_contained"),
    ("The recognition of contribution expense is deferred for conditional arrangements and is immediate for "
     "unconditional arrangements.", "no_span"),
    ("There were no acquisitions that closed during 2018.", "answer_in_question"),  # the subject names 2018
]


@pytest.mark.parametrize("sentence, reason", TENK_DROPS)
def test_why_a_sentence_of_a_10k_is_dropped(sentence, reason):
    assert cloze(sentence, 6, 40, TENK) == reason


def test_footnote_markers_list_numbers_and_pointers_are_no_answers():
    # footnote marker, list number and "Note 3" are not spans; the amount is
    assert blanked("(1) Net revenues include $42 million of sales to the Company’s equity affiliates.") == "$42 million"
    assert blanked("The TCJA reduced the U.S. federal corporate tax rate from 35 percent to 21 percent.") == "21 percent"
    assert blanked("As discussed in Note 3, in June 2018, 3M completed the sale of its Communication Markets "
                   "Division.") == "June 2018"
    assert blanked("1) reduction of the U.S. federal rate, as discussed in Item 7 of Part II.") is None
    assert blanked("The Company also sponsors employee savings plans under Section 401(k) of the Internal Revenue "
                   "Code.") == "Internal Revenue Code"
    assert cloze("The Company also sponsors employee savings plans under Section 401(k) of the Internal Revenue Code.",
                 6, 40, TENK)[0].startswith("Fill in the blank (3M 2018 10K): The Company also sponsors")
    # a year or a small number gives way to an amount, a date or a name in the same sentence
    assert blanked("Research, development and related expenses totaled $1.821 billion in 2018.") == "$1.821 billion"
    assert blanked("3M commenced the remedial option at the Oakdale site in late 2010.") == "2010"  # bare: capped


def test_ambiguous_bare_number_and_near_duplicate_drops_of_10k_sentences():
    real = "Research, development and related expenses totaled $1.821 billion in 2018."
    other = "Research, development and related expenses totaled $1.870 billion in 2018."  # another filing's figure
    bare = "3M commenced the remedial option at the Oakdale site in late 2010."
    chunks = [chunk("3m_2018.pdf#0000", real + " " + bare), chunk("3m_2018.pdf#0001", bare + " " + real),
              chunk("other.pdf#0000", other)]
    titles = {"3m_2018.pdf": "3M_2018_10K", "other.pdf": "Other 10K"}
    questions, manifest = cloze_questions(chunks, seed=1, questions=10, per_chunk=5, titles=titles, max_bare_share=0)
    assert questions == []  # the amount has two answers in the corpus, the year is over the cap of 0
    assert {k: v for k, v in manifest["dropped"].items() if v} == {"ambiguous": 3, "bare_number": 2}
    kept, manifest = cloze_questions(chunks[:2], seed=1, questions=10, per_chunk=5, titles=titles, max_bare_share=0.5)
    assert sorted((q["question"], q["answers"]) for q in kept) == [
        ("Fill in the blank (3M 2018 10K): 3M commenced the remedial option at the Oakdale site in late ____.", ["2010"]),
        ("Fill in the blank (3M 2018 10K): Research, development and related expenses totaled ____ in 2018.",
         ["$1.821 billion"]),
    ]
    # the first chunk read opens with the year: with nothing kept yet it is over the share and dropped; after
    # the amount, the other chunk's year is 1 of 2 (0.5) and kept, and its amount is a near duplicate
    assert {k: v for k, v in manifest["dropped"].items() if v} == {"bare_number": 1, "near_duplicate": 1}
    assert manifest["bare"] == 1
    _, manifest = cloze_questions(chunks[:2], seed=1, questions=10, per_chunk=5, titles=titles, max_bare_share=0.4)
    assert manifest["kept"] == 1 and manifest["dropped"]["bare_number"] == 2  # 1 of 2 is over 0.4


def test_an_answer_is_kept_at_most_max_same_answer_times():
    """A filing dates a dozen statements "As of December 31, 2018": after MAX_SAME_ANSWER (3) questions
    with that answer, more are repeated_answer (each is right, but the answer is a guess that fits all)."""
    said = ["As of December 31, 2018, the Company has not utilized special purpose entities for financing.",
            "As of December 31, 2018, no taxing authority proposed significant adjustments to tax positions.",
            "Based upon a review of factors as of December 31, 2018, the Company continues to consolidate Venezuela.",
            "The impact of applying the new revenue guidance was not material as of December 31, 2018 for the Company.",
            "Gross unrealized gains and losses were not material for the Company at December 31, 2018 in total."]
    chunks = [chunk(f"3m.pdf#{k:04d}", s) for k, s in enumerate(said)]
    questions, manifest = cloze_questions(chunks, seed=1, questions=10, titles={"3m.pdf": "3M_2018_10K"})
    assert [q["answers"] for q in questions] == [["December 31, 2018"]] * 3
    assert {k: v for k, v in manifest["dropped"].items() if v} == {"repeated_answer": 2}


@pytest.mark.parametrize("title, doc_id, about", [
    ("3M_2018_10K", "3M_2018_10K.pdf", "3M 2018 10K"),  # a PDF's title is its file stem
    ("callu-midge", "pests/callu-midge.txt", "callu midge"),
    ("Soil and season bulletin: Gancal District", "bulletins.jsonl:b003", "Soil and season bulletin: Gancal District"),
    ("Post-it Notes (2018)", "a.md", "Post-it Notes 2018"),  # a real title keeps its hyphens
    ("", "reports/annual_report.pdf", "annual report"),
])
def test_a_question_names_its_documents_subject(title, doc_id, about):
    assert subject(title, doc_id) == about
