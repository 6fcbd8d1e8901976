"""The training-data report: 13-gram contamination with eval questions, token counts and cost estimates."""

from ragft.finetune.data_report import contamination, data_report, decontaminate, format_data_report
from ragft.finetune.examples import build_train_data
from ragft.models.load import load_tokenizer

from .common import CHUNKS, QUESTIONS, RECIPE, build

EVAL = [
    {"id": "e1", "question": "What is the sowing window of Variety9?", "answers": ["late June"]},
    {"id": "e2", "question": "Which pest attacks the leaves of Variety3 in a wet spring and how do growers control it?",
     "answers": ["the katal rust, with copper sprays"]},
    {"id": "e3", "question": "Who bred Variety4?", "answers": ["the Vell Institute"]},
]


PLANTED = CHUNKS + [
    {"id": "d9.md#0001", "doc_id": "d9.md", "text": "Growers often ask: What is the sowing window of Variety9? It is late June."},
    {"id": "d3.md#0002", "doc_id": "d3.md", "text": "We note the leaves of Variety3 in a wet spring and how do growers control it, too."},
    # 12 words of e2 only: below the 13-gram, no overlap
    {"id": "d3.md#0003", "doc_id": "d3.md", "text": "leaves of Variety3 in a wet spring and how do growers control"},
]
# a train question that holds e1 whole: the qa builder puts it in a prompt
LEAKED = QUESTIONS + [{"id": "q9", "question": "Growers often ask: What is the sowing window of Variety9?",
                       "answers": ["late June"], "doc_ids": ["d9.md"]}]


def test_planted_contamination_is_found_with_its_exact_id():
    # e1 is in a corpus chunk and in a qa example: contaminated, through qa; e2 only in a chunk
    data, _ = build_train_data(PLANTED, LEAKED, {"chunks": {}, "qa": {}}, seed=0)
    rep = contamination(EVAL, data, n=13)
    assert rep["contaminated_ids"] == ["e1"] and rep["contaminated"] == 1 and rep["eval_questions"] == 3
    assert rep["matches"] == {"e1": ["qa:q9"]}
    assert rep["by_field"] == {"question": 1, "answer": 0}
    assert rep["train_ids"] == ["qa:q9"]
    assert rep["by_builder"] == {"chunks": 2, "qa": 1}
    assert rep["knowledge_injection"] == 1 and rep["knowledge_injection_ids"] == ["e2"]
    clean, _ = build({"chunks": {}, "qa": {}})
    assert contamination(EVAL, clean, n=13)["contaminated_ids"] == []


def test_the_corpus_text_alone_is_knowledge_injection_not_contamination():
    # a generated (cloze) eval question is a corpus sentence: the chunks builder holds it on purpose
    data, _ = build_train_data(PLANTED, QUESTIONS, {"chunks": {}, "qa": {}}, seed=0)
    rep = contamination(EVAL, data, n=13)
    assert (rep["contaminated"], rep["contaminated_ids"], rep["matches"], rep["train_ids"]) == (0, [], {}, [])
    assert rep["by_field"] == {"question": 0, "answer": 0}
    assert rep["by_builder"] == {"chunks": 2}
    assert rep["knowledge_injection"] == 2 and rep["knowledge_injection_ids"] == ["e1", "e2"]
    text = format_data_report({"examples": 0, "tokens": 0, "format_errors": {}, "token_stats": {}, "builders": {},
                               "decontamination": rep})
    assert text.splitlines()[-3:] == [
        "decontamination (13-gram): 0 of 3 eval questions are contaminated (overlap a training example outside the corpus text)",
        "  eval questions overlapped, by builder: chunks 2",
        "  knowledge injection, not contamination: 2 eval questions overlap only the corpus text of the chunks builder"]
    # the same text as a qa example (id `qa:...`, no `builder` field: its id prefix names it) is contamination
    as_qa = [{"id": "qa:x", "prompt": PLANTED[-3]["text"], "completion": "late June"}]
    rep = contamination(EVAL, as_qa, n=13)
    assert (rep["contaminated_ids"], rep["by_builder"], rep["knowledge_injection"]) == (["e1"], {"qa": 1}, 0)


def test_drop_removes_contaminating_examples_and_keeps_the_corpus_text():
    data, _ = build_train_data(PLANTED, LEAKED, {"chunks": {}, "qa": {}}, seed=0)
    kept, dropped = decontaminate(data, contamination(EVAL, data, n=13))
    assert dropped == ["qa:q9"]
    assert len(kept) == len(data) - 1 and "chunk:d9.md#0001" in {e["id"] for e in kept}


def test_near_paraphrases_of_eval_questions_are_counted():
    # p1 asks about q2's doc for q2's answer in other words: no 13-gram, no id, but the same fact
    evals = [{"id": "p1", "question": "When should Variety2 go in?", "answers": ["Early May."], "doc_ids": ["d2.md"]},
             {"id": "p2", "question": "When should Variety5 go in?", "answers": ["early May"], "doc_ids": ["d5.md"]},
             {"id": "p3", "question": "Who sells Variety1?", "answers": ["the co-op"], "doc_ids": ["d1.md"]}]
    data, _ = build({"chunks": {}, "qa": {}})
    rep = contamination(evals, data, n=13, train_questions=QUESTIONS)
    assert rep["contaminated"] == 0
    assert rep["paraphrases"] == {"eval_questions": 1, "examples": 1, "matches": {"p1": ["qa:q2"]}}
    assert contamination(evals, data, n=13)["paraphrases"] == {"eval_questions": 0, "examples": 0, "matches": {}}


def test_data_report_counts_tokens_and_estimates(tiny_model_dir):
    tok = load_tokenizer(tiny_model_dir)
    chunks = CHUNKS + [{"id": "bad.md#0000", "text": ""}]
    data, stats = build_train_data(chunks, QUESTIONS, {"chunks": {}, "qa": {}}, seed=0)
    recipe = {**RECIPE, "max_steps": 0, "epochs": 2, "max_length": 12}
    rep = data_report(data, tok, recipe, stats, contamination(EVAL, data), n_params=1000, flops=1e6)
    chunk_len = [len(tok(c["text"] + "\n")["input_ids"]) + 1 for c in CHUNKS]
    assert rep["examples"] == 10 and rep["per_builder"] == {"chunks": 6, "qa": 4}
    assert rep["format_errors"] == {"chunks": {"empty_text": 1}, "questions": {}}
    cs = rep["token_stats"]["chunks"]
    assert cs["examples"] == 6 and cs["tokens"] == sum(min(n, 12) for n in chunk_len)
    assert cs["truncated"] == sum(n > 12 for n in chunk_len) and cs["max_tokens"] <= 12
    assert cs["scored_tokens"] == cs["tokens"] - 6  # every chunk token but the first is scored
    assert rep["estimate"]["steps"] == 10 and rep["estimate"]["examples"] == 20
    assert rep["estimate"]["seconds_at_matmul_peak"] == round(4 * 1000 * rep["estimate"]["train_tokens"] / 1e6, 1)
    assert rep["decontamination"]["contaminated"] == 0 and "train_ids" not in rep["decontamination"]
    text = format_data_report(rep)
    assert "training data: 10 examples" in text and "format errors: chunks.empty_text 1" in text
