"""The synthetic reading corpus builtin:tiny is trained on: seeded, and every fact asked about once."""

from ragft.models import reading_corpus


def test_reading_examples_are_seeded_and_answerable():
    a = reading_corpus.examples(3, 50)
    assert a == reading_corpus.examples(3, 50)
    assert a != reading_corpus.examples(4, 50)
    for ex in a:
        assert ex["answer"] in ex["context"]
        assert ex["question"].startswith("What is ") and ex["question"].endswith("?")


def test_reading_examples_ask_about_every_fact_once():
    for ex in reading_corpus.examples(9, 30, max_entities=2, max_facts=4):
        answers = [ex["answer"]] + [m["answer"] for m in ex["more"]]
        assert all(a in ex["context"] for a in answers)
        assert len({m["question"] for m in ex["more"]} | {ex["question"]}) == len(answers)
