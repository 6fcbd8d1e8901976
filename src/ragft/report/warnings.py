"""The warnings under the comparison's title: what in this run limits what its table can be trusted
for, one line each, and only those that apply."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence

# What each answer type is called in a warning, in the order `answer_type` tries them.
ANSWER_TYPES = {
    "year": "a bare year",
    "date": "a date or a span of months",
    "number": "a number without unit",
    "quantity": "a number with a unit, currency or percent",
    "name": "a name",
    "other": "other text",
}
# `other` (phrases, sentences, spans) is what a mixed question set is made of: never warned about
WARNED_TYPES = ("year", "date", "number", "quantity", "name")

# capitalised month names only: "may" is a verb
_MONTHS = ("January|February|March|April|May|June|July|August|September|October|November|December|"
           "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec")
_DATE = re.compile(rf"\b({_MONTHS})\b|^\d{{4}}-\d{{1,2}}-\d{{1,2}}$|^\d{{1,2}}[./]\d{{1,2}}[./]\d{{2,4}}$")
_NUMBER = re.compile(r"[-+−]?\d[\d,]*(\.\d+)?")
# words around a bare number: ranges and approximations ("6.7 to 7.9", "about 40")
_NUMBER_WORDS = {"to", "and", "or", "-", "–", "—", "about", "approximately", "around", "roughly", "nearly", "over",
                 "under", "some", "up", "between", "than", "more", "less", "at", "least", "most"}
_CURRENCY = re.compile(r"^[$€£¥₹]|^(us\$|usd|eur|gbp|jpy|chf|cny|inr)$", re.I)
_NAME_LINKS = {"of", "the", "and", "for", "de", "da", "del", "du", "la", "le", "van", "von", "in", "on", "&"}


def answer_type(answer: str) -> str:
    """The type of a gold answer, the first of ANSWER_TYPES that fits: `year` (1000-2099 alone), `date` (a
    month name or a numeric date), `number` (numbers with range words), `quantity` (a number among at most 6
    lower-case words, symbols or currency codes: "3.7 tonnes per hectare", "€571 million", "45%"), `name`
    (every word capitalised but links such as "of": "Fensen Crop Research Centre"), else `other`."""
    text = " ".join(answer.split()).strip(" .")
    words = text.split()
    if re.fullmatch(r"1\d{3}|20\d{2}", text):
        return "year"
    if words and len(words) <= 8 and _DATE.search(text):
        return "date"
    rest = [w for w in words if not _NUMBER.fullmatch(w.strip("()"))]
    if len(rest) < len(words) and all(w.lower() in _NUMBER_WORDS for w in rest):
        return "number"
    if _NUMBER.search(text) and len(words) <= 6 and all(_unit(w) for w in rest):
        return "quantity"
    if words and len(words) <= 6 and not re.search(r"\d", text) and all(
            w[:1].isupper() or w.lower() in _NAME_LINKS for w in words) and words[0][:1].isupper():
        return "name"
    return "other"


def _unit(word: str) -> bool:
    """Whether a word next to a number is a unit, currency or percent: lower case ("kilograms", "t/ha"),
    a currency, a symbol, a number glued to its unit ("€571", "45%", "12kg") or a short capital unit ("MW")."""
    core = word.strip("(),;")
    return (not core[:1].isalpha() or core[:1].islower() or bool(_CURRENCY.search(core))
            or (core.isupper() and len(core) <= 3) or core.lower() in _NUMBER_WORDS)


def answer_types(questions: Sequence[Mapping]) -> Counter:
    """How many questions have each answer type (of their first gold answer)."""
    return Counter(answer_type(q["answers"][0]) if q.get("answers") else "other" for q in questions)


# The validation of generated against gold questions (README: "Do generated questions rank systems as gold
# ones do?"; docs/validation_agxqa.md, docs/validation_demo.md), cloze questions, accuracy.
GENERATED = ("questions generated from the corpus, not written by people: in the validation (docs/validation_agxqa.md, "
             "docs/validation_demo.md) cloze questions ranked the systems much as gold ones did (Kendall's tau of "
             "accuracy 0.88 on AgXQA, 0.80 on the demo) but put rag_ft 0.53 above rag in accuracy on AgXQA where gold "
             "questions put it 0.05 above (p = 0.55), and 0.025 above on the demo where gold tied them; trust the "
             "retriever table and the ordering of systems far apart, not the size of a fine-tuning gain.")


def generated_warning(split_manifest: Mapping) -> str:
    """GENERATED when the eval questions were generated from the corpus (split_manifest.json), else ""."""
    return GENERATED if split_manifest.get("source") == "generated" else ""


def cut_warning(metrics: Mapping[str, Mapping], max_new_tokens: int) -> str:
    """Which systems had answers cut at max_new_tokens and how many (of n per evaluation run); "" when none."""
    cut = {s: m for s, m in metrics.items() if (m.get("cut") or {}).get("answers")}
    if not cut:
        return ""
    parts = [f"{s} {m['cut']['answers']} of {m['n'] * m.get('replicates', 1)}" for s, m in cut.items()]
    return (f"answers cut at model.max_new_tokens ({max_new_tokens}) before they ended: {', '.join(parts)}; an "
            f"unfinished answer is scored as it stands (see `cut` in predictions.jsonl; raise model.max_new_tokens).")


def answer_type_warning(questions: Sequence[Mapping], share: float) -> str:
    """The answer type (other than `other`) of more than `share` of the eval questions, with its share; "" when none."""
    counts, n = answer_types(questions), len(questions)
    over = [t for t in WARNED_TYPES if n and counts[t] / n > share]
    if not over:
        return ""
    kind = over[0]
    return (f"{counts[kind]} of the {n} eval questions ({counts[kind] / n:.0%}, more than report.answer_type_share "
            f"{share:.0%}) have {ANSWER_TYPES[kind]} as gold answer ({kind}): the table says how the systems answer "
            f"that one type (its formatting included) more than how they answer questions in general.")


def seed_warning(metrics: Mapping[str, Mapping], specs: Mapping[str, Mapping]) -> str:
    """The fine-tuned systems trained with one seed only (finetune.replicates: 1); "" when none."""
    single = [s for s, m in metrics.items()
              if specs.get(s, {}).get("adapter", "none") != "none" and m.get("replicates", 1) == 1]
    if not single:
        return ""
    return (f"one training seed (finetune.replicates: 1): the intervals of {', '.join(single)} cover the questions, "
            f"not the training seed, and another seed can land elsewhere; set finetune.replicates to 3 or more "
            f"before trusting a fine-tuned row.")


def run_warnings(split_manifest: Mapping, metrics: Mapping[str, Mapping], specs: Mapping[str, Mapping],
                 questions: Sequence[Mapping], max_new_tokens: int, answer_type_share: float) -> list[str]:
    """The warnings that apply to this run, in a fixed order: generated questions, cut answers, one
    dominant answer type, a single training seed."""
    found = [generated_warning(split_manifest), cut_warning(metrics, max_new_tokens),
             answer_type_warning(questions, answer_type_share), seed_warning(metrics, specs)]
    return [w for w in found if w]
