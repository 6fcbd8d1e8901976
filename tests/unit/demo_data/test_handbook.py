"""The demo generator: deterministic, answerable questions, and the committed demo is its output."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ragft.demo_data.handbook import generate
from ragft.demo_data.vocabulary import PEST_KINDS, RELATIONS, SYLLABLES

REPO = Path(__file__).resolve().parents[3]
COMMITTED = REPO / "resources" / "demo"


def tree(root: Path) -> dict[str, bytes]:
    """Every file under `root` by posix relative path, with its bytes."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def doc_texts(root: Path) -> dict[str, str]:
    """Doc id -> text, by the ingest id rule (path under corpus/, or bulletins.jsonl:<id>)."""
    corpus = root / "corpus"
    docs = {}
    for p in sorted(corpus.rglob("*")):
        rel = p.relative_to(corpus).as_posix()
        if p.suffix in {".md", ".txt"}:
            docs[rel] = p.read_text(encoding="utf-8")
        elif p.suffix == ".jsonl":
            for line in p.read_text(encoding="utf-8").splitlines():
                rec = json.loads(line)
                docs[f"{rel}:{rec['id']}"] = rec["text"]
    return docs


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    generate(out, seed=7)
    return out


@pytest.fixture(scope="module")
def qa(demo) -> list[dict]:
    return [json.loads(line) for line in (demo / "qa.jsonl").read_text(encoding="utf-8").splitlines()]


def test_same_seed_gives_byte_identical_trees(demo, tmp_path):
    generate(tmp_path, seed=7)
    assert tree(tmp_path) == tree(demo)


def test_other_seed_gives_other_facts(demo, tmp_path):
    generate(tmp_path, seed=8)
    assert (tmp_path / "qa.jsonl").read_bytes() != (demo / "qa.jsonl").read_bytes()


def test_committed_demo_equals_fresh_generation(demo):
    assert tree(COMMITTED) == tree(demo), (
        "resources/demo/ differs from the generator's output; regenerate it with "
        "`python -m ragft.demo_data resources/demo --seed 7` in a clean folder"
    )


def test_doc_counts_and_bad_files(demo):
    docs = doc_texts(demo)
    good = {d: t for d, t in docs.items() if t and not d.endswith("-copy.txt")}
    assert 150 <= len(good) <= 300
    assert sum(d.startswith("varieties/") for d in good) == 110
    assert sum(d.startswith("pests/") for d in good) == 50
    assert sum(d.startswith("bulletins.jsonl:") for d in good) == 40
    # exactly two bad files: one byte-identical pest copy and one empty note
    copies = sorted((demo / "corpus" / "pests").glob("*-copy.txt"))
    assert len(copies) == 1
    original = copies[0].with_name(copies[0].name.replace("-copy.txt", ".txt"))
    assert copies[0].read_bytes() == original.read_bytes()
    assert (demo / "corpus" / "notes" / "empty.txt").read_bytes() == b""
    assert sorted(p.name for p in (demo / "corpus" / "notes").iterdir()) == ["empty.txt"]


def test_docs_are_moderate_length_with_variety_sections(demo):
    for doc_id, text in doc_texts(demo).items():
        if not text or doc_id.endswith("-copy.txt"):
            continue
        assert 80 <= len(text.split()) <= 200, doc_id
        if doc_id.endswith(".md"):
            assert text.startswith("# ")
            assert "\n## Agronomy\n" in text and "\n## Advice\n" in text


def test_question_ids_unique_sorted_and_records_well_formed(qa):
    ids = [q["id"] for q in qa]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert ids[0] == "q0001" and all(re.fullmatch(r"q\d{4}", i) for i in ids)
    assert 800 <= len(qa) <= 1000
    for q in qa:
        assert list(q) == ["id", "question", "answers", "doc_ids", "meta"]
        assert list(q["meta"]) == ["entity", "relation", "kind"]
        assert len(q["answers"]) == 1 and len(q["doc_ids"]) == 1
        assert 1 <= len(q["answers"][0].split()) <= 6
        assert q["meta"]["relation"] in RELATIONS[q["meta"]["kind"]]


def test_question_forms(qa):
    possessive = 0
    for q in qa:
        e, r = q["meta"]["entity"], q["meta"]["relation"]
        assert q["question"] in (f"What is the {r} of {e}?", f"What is {e}'s {r}?")
        possessive += q["question"] == f"What is {e}'s {r}?"
    assert 0.2 < possessive / len(qa) < 0.4


def test_every_answer_is_in_its_doc_canonically_and_three_times(demo, qa):
    docs = doc_texts(demo)
    for q in qa:
        (answer,) = q["answers"]
        text = docs[q["doc_ids"][0]]
        e, r = q["meta"]["entity"], q["meta"]["relation"]
        assert f"The {r} of {e} is {answer}." in text, q["id"]
        assert text.count(answer) >= 3, q["id"]


def test_one_question_per_fact_and_names_use_only_the_syllable_set(qa):
    facts = [(q["meta"]["entity"], q["meta"]["relation"]) for q in qa]
    assert len(set(facts)) == len(facts)
    syllable = "|".join(sorted(SYLLABLES, key=len, reverse=True))
    for entity in {q["meta"]["entity"] for q in qa}:
        first, second = entity.split(" ")
        assert re.fullmatch(f"(?:{syllable}){{2}}", first.lower()), entity
        assert second in ("District", *PEST_KINDS) or re.fullmatch(
            f"(?:{syllable}){{2}}", second.lower()
        ), entity


def test_answers_vary_across_entities(qa):
    by_relation: dict[str, set[str]] = {}
    for q in qa:
        by_relation.setdefault(q["meta"]["relation"], set()).add(q["answers"][0])
    assert all(len(values) >= 10 for values in by_relation.values()), {
        r: len(v) for r, v in by_relation.items()
    }


def test_knowledge_graph_is_consistent(qa):
    """A pest's host crop names that pest as its main threat."""
    fact = {(q["meta"]["entity"], q["meta"]["relation"]): q["answers"][0] for q in qa}
    hosts = [(e, v) for (e, r), v in fact.items() if r == "host crop"]
    assert len(hosts) == 50
    for pest, variety in hosts:
        assert fact[(variety, "main threat")] == pest
