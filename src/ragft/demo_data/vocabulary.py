"""The word lists and phrasings the demo handbook is generated from (data, not logic).
"""

from __future__ import annotations

# Entity and value names are built from these syllables only: the tiny base model is pretrained
# on a corpus whose names use a disjoint set, so it cannot know any of these entities.
SYLLABLES = (
    "kor vell am ber tal run dris ka mo sen lu vari pel tho gan rik sul bra yen os fen dul mar ith cal"
).split()


_REAL_WORDS = {"amber"}  # syllable pairs that spell English words


MONTHS = (
    "January February March April May June July August September October November December"
).split()


N_VARIETIES, N_PESTS, N_DISTRICTS = 110, 50, 40


# relation -> natural phrasings ({e} entity, {v} value); the canonical form is added to these.
PHRASES: dict[str, list[str]] = {
    # varieties
    "sowing window": [
        "Growers should sow {e} from {v}.",
        "Sowing of {e} is advised from {v}.",
        "Plant {e} from {v} for the best stand.",
    ],
    "maturity period": [
        "{e} reaches maturity after {v}.",
        "A crop of {e} is ready to harvest {v} after sowing.",
        "Expect {e} to mature in {v}.",
    ],
    "expected yield": [
        "{e} typically yields {v}.",
        "Well-managed fields of {e} give about {v}.",
        "Growers can expect {v} from {e}.",
    ],
    "main threat": [
        "{e} is most often attacked by {v}.",
        "Scout {e} fields regularly for {v}.",
        "The chief pest to watch on {e} is {v}.",
    ],
    "recommended seed rate": [
        "Sow {e} at {v}.",
        "Extension staff advise a seed rate of {v} for {e}.",
        "{e} should be drilled at {v}.",
    ],
    "breeder": [
        "{e} was bred by the {v}.",
        "Seed of {e} traces back to the {v}.",
        "The {v} released {e} to growers.",
    ],
    "grain colour": [
        "{e} has {v} grain.",
        "Mature heads of {e} show {v} kernels.",
        "Ripe grain of {e} turns {v}.",
    ],
    # pests
    "host crop": [
        "{e} feeds mainly on {v}.",
        "{e} is a serious pest of {v}.",
        "Fields of {v} are the usual home of {e}.",
    ],
    "active season": [
        "{e} is active from {v}.",
        "Damage from {e} peaks from {v}.",
        "Watch for {e} from {v}.",
    ],
    "control method": [
        "{e} is controlled with {v}.",
        "Advisers recommend {v} against {e}.",
        "Use {v} when {e} passes the threshold.",
    ],
    "economic threshold": [
        "Treat {e} when counts reach {v}.",
        "Control of {e} pays once there are {v}.",
        "Action against {e} is needed at {v}.",
    ],
    "discovery year": [
        "{e} was first recorded in the valley in {v}.",
        "Records of {e} go back to {v}.",
        "{e} has been known to growers since {v}.",
    ],
    # districts
    "soil pH range": [
        "Soils in {e} range from pH {v}.",
        "Typical soil pH in {e} runs {v}.",
        "Most fields in {e} test at pH {v}.",
    ],
    "main soil type": [
        "Most farms in {e} sit on {v}.",
        "{e} is dominated by {v}.",
        "The commonest soil across {e} is {v}.",
    ],
    "rainy season": [
        "The rains in {e} fall from {v}.",
        "{e} receives most of its rain from {v}.",
        "Expect wet weather in {e} from {v}.",
    ],
    "extension officer": [
        "Growers in {e} can contact extension officer {v}.",
        "{v} serves as the extension officer for {e}.",
        "Farm advice in {e} is given by {v}.",
    ],
    "annual rainfall": [
        "{e} receives about {v} of rain a year.",
        "Yearly rainfall in {e} averages {v}.",
        "Rain gauges in {e} record {v} a year.",
    ],
}


RELATIONS = {
    "variety": [
        "sowing window", "maturity period", "expected yield", "main threat",
        "recommended seed rate", "breeder", "grain colour",
    ],
    "pest": ["host crop", "active season", "control method", "economic threshold", "discovery year"],
    "district": ["soil pH range", "main soil type", "rainy season", "extension officer", "annual rainfall"],
}


# Varieties state these relations under `## Advice`, the rest under `## Agronomy`.
ADVICE = {"sowing window", "recommended seed rate", "main threat"}


FILLERS = {
    "variety": [
        "{e} is grown on many small farms across the Vell Valley.",
        "Farmers value {e} for its even stand and easy threshing.",
        "Keep seed of {e} in a dry, cool store between seasons.",
        "Rotate {e} with a legume to keep fields healthy.",
        "Trials of {e} continue at several valley sites.",
    ],
    "pest": [
        "{e} is one of the pests described in the Vell Valley Crop Advisory Handbook.",
        "Growers should report unusual outbreaks of {e} to their local office.",
        "Clean field margins reduce the pressure from {e}.",
        "Careful scouting keeps losses from {e} low.",
    ],
    "district": [
        "{e} lies within the Vell Valley advisory area.",
        "Farm sizes in {e} vary widely.",
        "The district office keeps soil maps of {e} for growers.",
        "Mixed farming is common throughout {e}.",
    ],
}


PEST_KINDS = {  # kind -> economic threshold units
    "moth": ["larvae per plant", "moths per trap"],
    "weevil": ["adults per plant", "weevils per trap"],
    "aphid": ["aphids per tiller", "colonies per plant"],
    "borer": ["bored stems per square metre", "larvae per stem"],
    "rust": ["pustules per leaf", "infected leaves per plant"],
    "beetle": ["beetles per metre of row", "adults per plant"],
    "midge": ["midges per ear", "larvae per ear"],
}


GRAIN_COLOURS = [
    "pale gold", "deep red", "ivory white", "speckled brown", "dark purple", "copper brown",
    "creamy yellow", "slate grey", "rose pink", "bronze", "jet black", "straw yellow", "russet",
    "blue-grey",
]


SOIL_ADJ = ["red", "grey", "black", "yellow", "brown", "pale", "dark"]


SOIL_NOUN = [
    "sandy loam", "clay loam", "silty clay", "gravelly loam", "alluvial silt", "peaty loam",
    "chalky clay", "stony loam",
]


PRODUCT_FORMS = ["dust", "spray", "granules", "bait", "seed dressing", "emulsion"]


BREEDER_FORMS = ["Seed Institute", "Breeding Station", "Crop Research Centre", "Plant Trust"]
