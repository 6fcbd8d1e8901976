"""The training-data report: 13-gram contamination with eval questions, token counts and cost estimates."""

from ragft.finetune.data_report import contamination, data_report, format_data_report
from ragft.finetune.examples import build_train_data
from ragft.models.load import load_tokenizer

from .common import CHUNKS, QUESTIONS, RECIPE, build

EVAL = [
    {"id": "e1", "question": "What is the sowing window of Variety9?", "answers": ["late June"]},
    {"id": "e2", "question": "Which pest attacks the leaves of Variety3 in a wet spring and how do growers control it?",
     "answers": ["the katal rust, with copper sprays"]},
    {"id": "e3", "question": "Who bred Variety4?", "answers": ["the Vell Institute"]},
]


def test_planted_contamination_is_found_with_its_exact_id():
    planted = CHUNKS + [
        {"id": "d9.md#0001", "doc_id": "d9.md", "text": "Growers often ask: What is the sowing window of Variety9? It is late June."},
        {"id": "d3.md#0002", "doc_id": "d3.md", "text": "We note the leaves of Variety3 in a wet spring and how do growers control it, too."},
        # 12 words of e2 only: below the 13-gram, not contamination
        {"id": "d3.md#0003", "doc_id": "d3.md", "text": "leaves of Variety3 in a wet spring and how do growers control"},
    ]
    data, _ = build_train_data(planted, QUESTIONS, {"chunks": {}, "qa": {}}, seed=0)
    rep = contamination(EVAL, data, n=13)
    assert rep["contaminated_ids"] == ["e1", "e2"] and rep["contaminated"] == 2 and rep["eval_questions"] == 3
    assert rep["matches"] == {"e1": ["chunk:d9.md#0001"], "e2": ["chunk:d3.md#0002"]}
    assert rep["by_field"] == {"question": 2, "answer": 0}
    assert rep["train_ids"] == ["chunk:d3.md#0002", "chunk:d9.md#0001"]
    clean, _ = build({"chunks": {}, "qa": {}})
    assert contamination(EVAL, clean, n=13)["contaminated_ids"] == []


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
