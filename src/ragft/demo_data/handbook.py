"""Seeded generator of the bundled demo: "The Vell Valley Crop Advisory Handbook".

Every fact is invented (names built from a fixed syllable set no pretrained model has seen), so
the demo measures what retrieval and fine-tuning add, not what the base model already knew.

    python -m ragft.demo_data resources/demo --seed 7

writes `corpus/varieties/*.md`, `corpus/pests/*.txt`, `corpus/bulletins.jsonl`, two deliberately
bad files (an exact duplicate pest file and an empty note, for ingest's rejection accounting),
`qa.jsonl` (one gold question per fact) and `README.md`. The same seed gives byte-identical files.
The generator only writes; it never deletes, so regenerate into a clean directory.

Every fact is stated at least three times in its doc, always once in the canonical form
`The <relation> of <Entity> is <value>.`, and each question asks for exactly one fact.
"""

from __future__ import annotations

import argparse
import os
import random
from dataclasses import dataclass
from pathlib import Path

from ragft.demo_data.vocabulary import (
    _REAL_WORDS,
    ADVICE,
    BREEDER_FORMS,
    FILLERS,
    GRAIN_COLOURS,
    MONTHS,
    N_DISTRICTS,
    N_PESTS,
    N_VARIETIES,
    PEST_KINDS,
    PHRASES,
    PRODUCT_FORMS,
    RELATIONS,
    SOIL_ADJ,
    SOIL_NOUN,
    SYLLABLES,
)
from ragft.jsonl import dumps, write_text


@dataclass
class Entity:
    kind: str  # variety | pest | district
    name: str
    slug: str
    facts: dict[str, str]  # relation -> value, in RELATIONS order

    @property
    def doc_id(self) -> str:
        if self.kind == "variety":
            return f"varieties/{self.slug}.md"
        if self.kind == "pest":
            return f"pests/{self.slug}.txt"
        return f"bulletins.jsonl:{self.slug}"


def canonical(relation: str, entity: str, value: str) -> str:
    """The one phrasing every fact has, and the one the tests and readers can rely on."""
    return f"The {relation} of {entity} is {value}."


def slugify(name: str) -> str:
    return "-".join(name.lower().split())


def _words(rng: random.Random) -> list[str]:
    """Every capitalised two-syllable word, shuffled; each is used at most once in the demo."""
    words = {a + b for a in SYLLABLES for b in SYLLABLES if a != b} - _REAL_WORDS
    words = sorted(words)
    rng.shuffle(words)
    return [w.capitalize() for w in words]


def _month_span(rng: random.Random, min_len: int, max_len: int) -> str:
    start = rng.randrange(12)
    end = (start + rng.randint(min_len, max_len) - 1) % 12
    return f"{MONTHS[start]} to {MONTHS[end]}"


def _sowing_window(rng: random.Random) -> str:
    start = rng.randrange(11)
    end = min(11, start + rng.randint(1, 2))
    part = lambda: rng.choice(["early ", "mid-", "late "])  # "mid-March", "early April"
    return f"{part()}{MONTHS[start]} to {part()}{MONTHS[end]}"


def build_entities(seed: int, n_varieties: int = N_VARIETIES, n_pests: int = N_PESTS,
                   n_districts: int = N_DISTRICTS) -> list[Entity]:
    """Draw every entity and its facts from `seed`; the knowledge graph is consistent
    (a pest's host crop lists that pest as its main threat)."""
    rng = random.Random(seed)
    words = iter(_words(rng))
    breeders = [f"{next(words)} {rng.choice(BREEDER_FORMS)}" for _ in range(12)]
    products = [f"{next(words)} {rng.choice(PRODUCT_FORMS)}" for _ in range(25)]

    varieties = [f"{next(words)} {next(words)}" for _ in range(n_varieties)]
    pests = [(f"{next(words)} {kind}", kind)
             for kind in (rng.choice(sorted(PEST_KINDS)) for _ in range(n_pests))]
    districts = [f"{next(words)} District" for _ in range(n_districts)]
    if n_pests > n_varieties:
        raise ValueError(f"n_pests ({n_pests}) must not exceed n_varieties ({n_varieties})")

    # pest i lives on variety i; the remaining varieties get a random main threat
    host_of = {pest: varieties[i] for i, (pest, _) in enumerate(pests)}
    threat_of = {v: p for p, v in host_of.items()}
    entities = []
    for name in varieties:
        values = {
            "sowing window": _sowing_window(rng),
            "maturity period": f"{rng.randint(78, 165)} days",
            "expected yield": f"{rng.randint(18, 68) / 10:.1f} tonnes per hectare",
            "main threat": threat_of.get(name) or rng.choice(pests)[0],
            "recommended seed rate": f"{rng.randrange(60, 185, 5)} kilograms per hectare",
            "breeder": rng.choice(breeders),
            "grain colour": rng.choice(GRAIN_COLOURS),
        }
        entities.append(_entity(rng, "variety", name, values, rng.randint(4, 6)))
    for name, kind in pests:
        values = {
            "host crop": host_of[name],
            "active season": _month_span(rng, 2, 4),
            "control method": rng.choice(products),
            "economic threshold": f"{rng.randint(2, 25)} {rng.choice(PEST_KINDS[kind])}",
            "discovery year": str(rng.randint(1921, 2019)),
        }
        entities.append(_entity(rng, "pest", name, values, rng.randint(4, 5)))
    soils = rng.sample([f"{a} {n}" for a in SOIL_ADJ for n in SOIL_NOUN], n_districts)
    for i, name in enumerate(districts):
        low = rng.randint(45, 72) / 10
        values = {
            "soil pH range": f"{low:.1f} to {low + rng.randint(5, 14) / 10:.1f}",
            "main soil type": soils[i],
            "rainy season": _month_span(rng, 2, 5),
            "extension officer": f"{next(words)} {next(words)}",
            "annual rainfall": f"{rng.randrange(420, 1900, 10)} millimetres",
        }
        entity = _entity(rng, "district", name, values, rng.randint(4, 5))
        entity.slug = f"b{i + 1:03d}"
        entities.append(entity)
    return entities


def _entity(rng: random.Random, kind: str, name: str, values: dict, n_facts: int) -> Entity:
    """Keep `n_facts` of the drawn values (main threat and host crop always, they link docs)."""
    keep = {"main threat", "host crop"} & values.keys()
    keep |= set(rng.sample([r for r in values if r not in keep], n_facts - len(keep)))
    return Entity(kind, name, slugify(name), {r: v for r, v in values.items() if r in keep})


def _sentences(rng: random.Random, e: Entity, relation: str, n_natural: int) -> list[str]:
    value = e.facts[relation]
    natural = rng.sample(PHRASES[relation], n_natural)
    return [canonical(relation, e.name, value)] + [t.format(e=e.name, v=value) for t in natural]


def _fillers(rng: random.Random, e: Entity, n: int) -> list[str]:
    return [t.format(e=e.name) for t in rng.sample(FILLERS[e.kind], n)]


def render_variety(rng: random.Random, e: Entity) -> str:
    """Markdown: title, intro, `## Agronomy`, `## Advice`, `## Summary` bullet list."""
    intro, *more = _fillers(rng, e, rng.randint(1, 2))  # headings and bullets use up words
    agronomy = [s for r in e.facts if r not in ADVICE for s in _sentences(rng, e, r, 1)]
    advice = [s for r in e.facts if r in ADVICE for s in _sentences(rng, e, r, 1)] + more
    rng.shuffle(agronomy)
    rng.shuffle(advice)
    bullets = [f"- {r[0].upper()}{r[1:]}: {v}" for r, v in e.facts.items()]
    parts = [f"# {e.name}", intro, "## Agronomy", " ".join(agronomy), "## Advice", " ".join(advice),
             "## Summary", "\n".join(bullets)]
    return "\n\n".join(p for p in parts if p) + "\n"


def _paragraphs(rng: random.Random, e: Entity) -> list[str]:
    """Canonical plus two natural phrasings per fact and 1-3 fillers, shuffled into two paragraphs."""
    sentences = [s for r in e.facts for s in _sentences(rng, e, r, 2)]
    sentences += _fillers(rng, e, rng.randint(1, 3))
    rng.shuffle(sentences)
    cut = len(sentences) // 2
    return [" ".join(sentences[:cut]), " ".join(sentences[cut:])]


def render_pest(rng: random.Random, e: Entity) -> str:
    return "\n\n".join([e.name, *_paragraphs(rng, e)]) + "\n"


def render_bulletin(rng: random.Random, e: Entity) -> dict:
    return {"id": e.slug, "title": f"Soil and season bulletin: {e.name}",
            "text": "\n\n".join(_paragraphs(rng, e))}


def build_questions(rng: random.Random, entities: list[Entity]) -> list[dict]:
    """One question per fact; about 30% use the possessive form `What is <Entity>'s <relation>?`."""
    questions = []
    for e in sorted(entities, key=lambda e: e.doc_id):
        for relation, value in e.facts.items():
            if rng.random() < 0.3:
                question = f"What is {e.name}'s {relation}?"
            else:
                question = f"What is the {relation} of {e.name}?"
            questions.append({
                "id": f"q{len(questions) + 1:04d}",
                "question": question,
                "answers": [value],
                "doc_ids": [e.doc_id],
                "meta": {"entity": e.name, "relation": relation, "kind": e.kind},
            })
    return questions


def generate(out_dir: str | os.PathLike, seed: int = 7) -> dict[str, int]:
    """Write the whole demo under `out_dir`; return the counts that README.md reports."""
    out = Path(out_dir)
    corpus = out / "corpus"
    rng = random.Random(seed + 1)  # layout and question-form choices, separate from the facts
    entities = build_entities(seed)

    bulletins = []
    for e in entities:
        if e.kind == "variety":
            write_text(corpus / e.doc_id, render_variety(rng, e))
        elif e.kind == "pest":
            write_text(corpus / e.doc_id, render_pest(rng, e))
        else:
            bulletins.append(render_bulletin(rng, e))
    write_text(corpus / "bulletins.jsonl", "".join(dumps(b) + "\n" for b in bulletins))

    # two deliberately bad files, for ingest's rejection accounting
    pests = sorted(e.slug for e in entities if e.kind == "pest")
    dup = rng.choice(pests)
    write_text(corpus / "pests" / f"{dup}-copy.txt",
               (corpus / "pests" / f"{dup}.txt").read_text(encoding="utf-8"))
    write_text(corpus / "notes" / "empty.txt", "")

    questions = build_questions(rng, entities)
    write_text(out / "qa.jsonl", "".join(dumps(q) + "\n" for q in questions))

    counts = {kind: sum(e.kind == kind for e in entities) for kind in RELATIONS}
    counts["questions"] = len(questions)
    write_text(out / "README.md", _readme(seed, counts, f"pests/{dup}"))
    return counts


def _readme(seed: int, counts: dict[str, int], dup: str) -> str:
    relations = "\n".join(f"- {kind}: {', '.join(rels)}" for kind, rels in RELATIONS.items())
    return f"""# Demo corpus: The Vell Valley Crop Advisory Handbook

A small, entirely invented crop-advisory domain (crop varieties, pests, district soil bulletins).
The names are built from a syllable set that the bundled tiny base model never saw, so nothing in
it can be known before retrieval or fine-tuning supplies it. Generated, not hand-written:

    python -m ragft.demo_data resources/demo --seed {seed}

`tests/unit/demo_data/test_handbook.py` checks that this folder equals a fresh generation; edit the
generator, not the files.

| what | count |
|---|---|
| `corpus/varieties/*.md` (one per crop variety) | {counts['variety']} |
| `corpus/pests/*.txt` (one per pest) | {counts['pest']} |
| `corpus/bulletins.jsonl` records (one per district) | {counts['district']} |
| `qa.jsonl` gold questions (one per fact) | {counts['questions']} |

Two files are bad on purpose, to exercise ingest's rejection accounting:
`corpus/{dup}-copy.txt` is a byte-identical copy of `corpus/{dup}.txt` (exact duplicate; the
gold questions cite the original), and `corpus/notes/empty.txt` is empty.

Doc ids: the path under `corpus/` for `.md`/`.txt` files (`varieties/<slug>.md`), and
`bulletins.jsonl:<record id>` for bulletins. Each fact is stated at least three times in its doc,
always once as `The <relation> of <Entity> is <value>.`; its question is
`What is the <relation> of <Entity>?` (about 30%: `What is <Entity>'s <relation>?`), and the
answer occurs verbatim in the doc. Relations:

{relations}
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ragft.demo_data", description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", help="folder to write (resources/demo for the bundled demo)")
    parser.add_argument("--seed", type=int, default=7, help="the bundled demo uses 7")
    args = parser.parse_args(argv)
    counts = generate(args.out_dir, args.seed)
    print(", ".join(f"{k}: {v}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
