"""A generated reading-comprehension corpus for pretraining `builtin:tiny`.

It teaches a small model to *read*: find the sentence about the asked entity and relation in a
context and copy the value. Entities are invented from a syllable set disjoint from the demo
domain's, and relations and values are everyday English or invented words, so the model learns
the skill and none of any domain's facts (the knowledge-injection setting of Ovadia et al.). Every choice derives from one seed.
"""

from __future__ import annotations

import random

CONSONANTS = "bcdfghjklmnprstvwxz"
VOWELS = "aeiouy"


def random_syllable(rng: random.Random) -> str:
    """A random consonant-vowel(-consonant) syllable over the whole alphabet."""
    s = rng.choice(CONSONANTS) + rng.choice(VOWELS)
    return s + rng.choice(CONSONANTS) if rng.random() < 0.5 else s


# Most names come from a small fixed inventory of syllables, which the tokenizer learns as whole
# tokens and the model quickly learns to copy; one syllable in ten is free, so every byte-level
# token is trained and an unseen name (a demo domain's too) is no stranger. Disjoint from the
# demo generator's syllables (ragft.demo_data).
INVENTORY = (
    "zan quo pim lex dor vit nub gral hem fos tiq wen blor ush yad cre mip zel tov hask jun pry ob "
    "ulk neb sab rop wix dag ef"
).split()


def make_syllable(rng: random.Random) -> str:
    """A syllable: from the inventory nine times in ten, else a free one."""
    return rng.choice(INVENTORY) if rng.random() < 0.9 else random_syllable(rng)


# Relations and values use a broad everyday English vocabulary (plus invented words), so the model
# learns to match whatever words a question uses rather than a short list, and its tokenizer learns
# common English sub-words instead of spelling an unseen domain's words letter by letter.
ADJECTIVES = (
    "home main chief first oldest usual favourite northern annual secret official lucky spare "
    "winter summer night inner outer lower upper public private royal eastern western central "
    "minimum maximum average founding closing opening best early late wet dry cold warm hot soft "
    "hard heavy light dark pale bright deep shallow narrow wide long short high low small large "
    "young old new rare common quiet loud fresh stale rough smooth thin thick sweet bitter sour "
    "salty raw ripe green red blue yellow brown white black grey golden silver stony sandy silty "
    "rocky muddy dusty rainy windy sunny cloudy typical normal safe daily weekly monthly yearly "
    "total local regional national standard recommended expected preferred required allowed "
    "suggested planned measured reported estimated"
).split()

NOUNS = (
    "port colour river city engineer speed material patron mascot motto export guild harbour "
    "language instrument mineral symbol street bridge tower lantern festival island valley "
    "archive ledger signal anchor library engine captain rival partner warden founder number "
    "weight height distance price rank fuel route kitchen garden type range season window rate "
    "period method level depth size length width area volume temperature pressure cost budget "
    "income output supply demand source target limit threshold date year month day time hour age "
    "count score grade class group family species kind form shape pattern texture smell taste "
    "sound voice song dance game sport team club school teacher student doctor nurse officer "
    "manager owner leader member neighbour friend guest visitor customer buyer seller market shop "
    "store farm field forest hill mountain lake sea coast beach desert plain road path gate door "
    "wall roof floor room house hall office factory mill mine well pond stream spring cellar barn "
    "stable yard fence tool machine vehicle boat ship train cart wagon wheel rope chain box bag "
    "basket bottle jar cup plate bowl knife spoon fork cloth coat hat shoe boot paper book letter "
    "map card coin stone sand clay soil rock metal iron steel copper gold wood glass oil water salt "
    "sugar flour bread cheese milk meat fish fruit grain seed leaf root stem flower tree grass crop "
    "harvest yield disease pest insect bird horse cow sheep goat pig dog cat mouse treatment dose "
    "remedy cure test sample record report rule law tax fee fine reward prize medal award title "
    "name nickname emblem flag crest banner"
).split()

UNITS = (
    "metres kilometres centimetres millimetres grams kilograms tonnes litres millilitres hours "
    "minutes seconds days weeks months years coins steps pages knots degrees hectares acres sacks "
    "bags bushels crates boxes bottles cups spoons drops doses plants seeds leaves insects eggs "
    "larvae stems heads rows beds trees"
).split()
MONTHS = (
    "January February March April May June July August September October November December"
).split()
PARTS = "early mid late".split()
KINDS = "ship guild tower island lantern company choir engine archive caravan".split()


def make_name(rng: random.Random, words: int = 2) -> str:
    """An invented proper name of one or more words."""
    return " ".join(
        "".join(make_syllable(rng) for _ in range(rng.choice((1, 2, 2, 3)))).capitalize() for _ in range(words)
    )


def make_word(rng: random.Random) -> str:
    """An invented lower-case word."""
    return "".join(make_syllable(rng) for _ in range(rng.choice((1, 2, 2, 3))))


def make_value(rng: random.Random) -> str:
    """A short answer value of one of several shapes (number with unit, name, span, year, phrase)."""
    shape = rng.randrange(11)
    if shape in (0, 10):  # numbers with units twice as often: they are common and hard to copy
        unit = rng.choice(UNITS)
        return f"{rng.randint(2, 990)} {unit}" + (f" per {rng.choice(NOUNS)}" if rng.random() < 0.3 else "")
    if shape == 6:
        return " ".join(make_word(rng) for _ in range(rng.randint(1, 3)))
    if shape == 7:
        a, b = rng.sample(MONTHS, 2)
        return f"{rng.choice(PARTS)}-{a} to {rng.choice(PARTS)}-{b}" if rng.random() < 0.5 else f"{a} to {b}"
    if shape == 1:
        return make_name(rng, rng.choice((1, 2)))
    if shape == 2:
        a, b = rng.sample(MONTHS, 2)
        return f"{rng.choice(PARTS)} {a} to {rng.choice(PARTS)} {b}"
    if shape == 3:
        return str(rng.randint(1400, 2020))
    if shape == 4:
        lo = rng.randint(1, 80) / 10
        return f"{lo:.1f} to {lo + rng.randint(2, 30) / 10:.1f}"
    if shape == 8:  # an everyday noun phrase: "pale stony field"
        return " ".join([rng.choice(ADJECTIVES) for _ in range(rng.randint(0, 2))] + [rng.choice(NOUNS)])
    if shape == 9:  # a name and what it is: "Zanquo rope"
        return f"{make_name(rng, 1)} {rng.choice(NOUNS)}"
    return f"the {make_name(rng, 1)} {rng.choice(NOUNS)}"


def make_relation(rng: random.Random) -> str:
    """A relation phrase of one to three lower-case words such as 'main soil depth'; one word in
    ten is invented, so the model learns to match any relation rather than a fixed list."""
    n = rng.choice((1, 2, 2, 2, 3))
    words = [rng.choice(ADJECTIVES) if rng.random() < 0.9 else make_word(rng) for _ in range(n - 1)]
    return " ".join(words + [rng.choice(NOUNS) if rng.random() < 0.9 else make_word(rng)])


def fact_sentences(entity: str, relation: str, value: str) -> list[str]:
    """The phrasings of one fact; the first is the canonical one the questions mirror."""
    out = [f"The {relation} of {entity} is {value}.", f"{entity}'s {relation} is {value}.",
           f"For {entity}, the {relation} is {value}."]
    if not value[0].islower():  # only where the answer keeps its exact spelling at a sentence start
        out.append(f"{value} is the {relation} of {entity}.")
    return out


def question_for(entity: str, relation: str, rng: random.Random) -> str:
    """A question about one fact, in one of the two forms the workflow's questions use."""
    if rng.random() < 0.3:
        return f"What is {entity}'s {relation}?"
    return f"What is the {relation} of {entity}?"


def make_example(rng: random.Random, max_entities: int = 3, max_facts: int = 4) -> dict:
    """One context of facts about a few entities, a question about one fact and its answer, and
    `more`: questions about the context's other facts, in random order."""
    sentences: list[str] = []
    facts = []
    for _ in range(rng.randint(1, max_entities)):
        entity = make_name(rng)
        kind = rng.choice(KINDS)
        sentences.append(rng.choice((f"# {entity}", f"{entity} is a {kind}.", f"About {entity}.")))
        relations = {make_relation(rng) for _ in range(rng.randint(1, max_facts))}
        for relation in sorted(relations):
            value = make_value(rng)
            phrasings = fact_sentences(entity, relation, value)
            # the canonical phrasing most of the time, so reading transfers to unseen relations
            sentence = phrasings[0] if rng.random() < 0.6 else rng.choice(phrasings[1:])
            sentences.append(sentence)
            facts.append((entity, relation, value, sentence in phrasings[:3:2]))
    head, body = sentences[:1], sentences[1:]
    if len(facts) == len(relations) and rng.random() < 0.3:  # one entity: a summary list is unambiguous
        e, rel, val, _ = rng.choice(facts)
        body.append(f"- {rel[0].upper() + rel[1:]}: {val}")
    if rng.random() < 0.3:
        body.append(f"## {make_word(rng).capitalize()}")
    rng.shuffle(body)
    rng.shuffle(facts)
    qa = [{"question": question_for(e, rel, rng), "answer": val} for e, rel, val, _ in facts]
    # follow-up questions only about facts stated as "The r of E is v." or "For E, the r is v.",
    # the forms that questions mirror: they teach the core reading fastest
    more = [q for q, f in zip(qa[1:], facts[1:]) if f[3]]
    return {"context": "\n".join(head + body), **qa[0], "more": more}


def examples(seed: int, n: int, max_entities: int = 3, max_facts: int = 4) -> list[dict]:
    """`n` seeded examples."""
    rng = random.Random(seed)
    return [make_example(rng, max_entities, max_facts) for _ in range(n)]
