"""The warnings under the comparison's title: each appears exactly when its condition holds."""

import pytest

from ragft.report.warnings import GENERATED, answer_type, answer_types, run_warnings

SPECS = {"base": {"retriever": "none", "adapter": "none"}, "rag": {"retriever": "dense", "adapter": "none"},
         "ft": {"retriever": "none", "adapter": "qlora"}}
GOLD = {"source": "gold"}
GENERATED_SPLIT = {"source": "generated", "generator": {"method": "cloze", "kept": 5, "candidates": 9}}


def metrics(cut=(0, 0, 0), replicates=1) -> dict:
    return {s: {"n": 10, "replicates": replicates if s == "ft" else 1, "cut": {"answers": c, "share": c / 10}}
            for s, c in zip(SPECS, cut)}


def questions(*answers: str) -> list[dict]:
    return [{"id": f"q{i}", "answers": [a]} for i, a in enumerate(answers)]


MIXED = questions("1972", "May to August", "5.8 to 7.2", "3.7 tonnes per hectare", "Thodris Luber", "slate grey")
CLEAN = dict(split_manifest=GOLD, metrics=metrics(replicates=3), specs=SPECS, questions=MIXED, max_new_tokens=20,
             answer_type_share=0.5)


@pytest.mark.parametrize("answer,kind", [
    ("1972", "year"), ("2008", "year"), ("May to August", "date"), ("early August to mid-September", "date"),
    ("2021-03-04", "date"), ("5.8 to 7.2", "number"), ("0.94", "number"), ("about 1,200", "number"),
    ("3.7 tonnes per hectare", "quantity"), ("€571 million", "quantity"), ("42%", "quantity"), ("1840 millimetres", "quantity"),
    ("9 bored stems per square metre", "quantity"), ("USD 6 billion", "quantity"),
    ("Thodris Luber", "name"), ("Fensen Crop Research Centre", "name"), ("Food and Agriculture Organization", "name"),
    ("slate grey", "other"), ("Thober moth", "other"), ("they may sow it late", "other"), ("", "other"),
    ("to apply irrigation only when it is needed to get the crop off to a good start", "other"),
])
def test_answer_types(answer, kind):
    assert answer_type(answer) == kind


def test_answer_types_count_the_first_gold_answer():
    qs = MIXED + [{"id": "x", "answers": ["1999", "Thodris Luber"]}, {"id": "y", "answers": []}]
    assert answer_types(qs) == {"year": 2, "date": 1, "number": 1, "quantity": 1, "name": 1, "other": 2}


def test_a_clean_gold_run_has_no_warning():
    assert run_warnings(**CLEAN) == []


def test_generated_questions_warn_with_the_validation_figures():
    assert run_warnings(**{**CLEAN, "split_manifest": GENERATED_SPLIT}) == [GENERATED]
    assert GENERATED.startswith("questions generated from the corpus, not written by people: in the validation")
    assert ("put rag_ft 0.53 above rag in accuracy on AgXQA where gold questions put it 0.05 above (p = 0.55)"
            in GENERATED and "trust the retriever table and the ordering of systems far apart, not the size of a "
            "fine-tuning gain." in GENERATED)


def test_cut_answers_warn_naming_the_systems_and_counts():
    assert run_warnings(**{**CLEAN, "metrics": metrics(cut=(0, 3, 0), replicates=3)}) == [
        "answers cut at model.max_new_tokens (20) before they ended: rag 3 of 10; an unfinished answer is scored as "
        "it stands (see `cut` in predictions.jsonl; raise model.max_new_tokens)."]
    # with replicates, a system's answers are those of all its runs
    assert run_warnings(**{**CLEAN, "metrics": metrics(cut=(0, 0, 7), replicates=3), "max_new_tokens": 48}) == [
        "answers cut at model.max_new_tokens (48) before they ended: ft 7 of 30; an unfinished answer is scored as "
        "it stands (see `cut` in predictions.jsonl; raise model.max_new_tokens)."]
    old = {s: {k: v for k, v in m.items() if k != "cut"} for s, m in metrics(replicates=3).items()}
    assert run_warnings(**{**CLEAN, "metrics": old}) == []  # not counted: nothing to say


def test_one_dominant_answer_type_warns_with_its_share():
    years = questions("1972", "1984", "2008", "Thodris Luber", "slate grey")
    assert run_warnings(**{**CLEAN, "questions": years}) == [
        "3 of the 5 eval questions (60%, more than report.answer_type_share 50%) have a bare year as gold answer "
        "(year): the table says how the systems answer that one type (its formatting included) more than how they "
        "answer questions in general."]
    assert run_warnings(**{**CLEAN, "questions": years, "answer_type_share": 0.6}) == []  # 60% is not more than 60%
    assert run_warnings(**{**CLEAN, "questions": questions("1972", "1984", "Thodris Luber", "slate grey")}) == []
    phrases = questions("slate grey", "Thober moth", "pale stony loam")
    assert run_warnings(**{**CLEAN, "questions": phrases}) == []  # `other` is no one type


def test_a_single_training_seed_warns_when_a_fine_tuned_system_is_shown():
    assert run_warnings(**{**CLEAN, "metrics": metrics(replicates=1)}) == [
        "one training seed (finetune.replicates: 1): the intervals of ft cover the questions, not the training seed, "
        "and another seed can land elsewhere; set finetune.replicates to 3 or more before trusting a fine-tuned row."]
    no_ft = {s: m for s, m in metrics(replicates=1).items() if s != "ft"}
    assert run_warnings(**{**CLEAN, "metrics": no_ft}) == []


def test_every_warning_at_once_in_a_fixed_order():
    found = run_warnings(GENERATED_SPLIT, metrics(cut=(1, 0, 0)), SPECS, questions("1972"), 20, 0.5)
    assert [w.split(" ", 2)[:2] for w in found] == [["questions", "generated"], ["answers", "cut"], ["1", "of"],
                                                    ["one", "training"]]
