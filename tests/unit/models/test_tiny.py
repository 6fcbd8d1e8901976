"""builtin:tiny: its training texts (only question and answer scored), learning-rate schedule, and a
build that saves a loadable model."""

import random

from ragft.models import reading_corpus, tiny


def test_example_text_scores_question_and_answer_only():
    rng = random.Random(0)
    ex = {"context": "The home port of Zan Quo is Lex.", "question": "What is the home port of Zan Quo?", "answer": "Lex"}
    parts = [tiny.example_text(ex, rng) for _ in range(50)]
    assert all(q.startswith("Question: What is the home port of Zan Quo?") and c == " Lex\n" for _, q, c in parts)
    assert sum(p.startswith("Context:") for p, _, _ in parts) > sum(p == "" for p, _, _ in parts)


def test_more_questions_go_into_the_completion_of_context_prompts():
    ex = reading_corpus.examples(5, 1, max_entities=1, max_facts=4)[0]
    ex = {**ex, "more": [{"question": "What is the lucky port of Zan?", "answer": "Quo"},
                         {"question": "What is the spare rank of Zan?", "answer": "9 steps"}]}
    rng = random.Random(1)
    parts = [tiny.example_text(ex, rng, questions=2) for _ in range(40)]
    with_context = [c for p, _, c in parts if p.startswith("Context:") or p.startswith("Question:")]
    closed = [c for p, _, c in parts if p == ""]
    assert closed and all(c == " " + ex["answer"] + "\n" for c in closed)
    assert with_context and all(
        c == " " + ex["answer"] + "\n\nQuestion: What is the lucky port of Zan?\nAnswer: Quo\n" for c in with_context)


def test_lr_schedule_warms_up_then_decays_to_a_tenth():
    assert tiny.lr_at(0, 100, 1.0, 10) == 0.1
    assert tiny.lr_at(9, 100, 1.0, 10) == 1.0
    assert abs(tiny.lr_at(100, 100, 1.0, 10) - 0.1) < 1e-9


def test_build_tiny_writes_a_loadable_model_and_report(tmp_path):
    cfg = {"steps": 3, "batch_size": 4, "lr": 0.003, "warmup": 1, "vocab_size": 300, "hidden_size": 32, "layers": 1,
           "heads": 2, "max_positions": 512, "max_length": 128, "max_entities": 1, "max_facts": 2, "questions_per_context": 2, "eval_examples": 4}
    report = tiny.build_tiny(tmp_path, cfg, seed=0, log=lambda m: None)
    assert report["steps"] == 3 and report["train_tokens"] > 0 and 0 <= report["exact_match_with_context"] <= 1
    assert (tmp_path / "model.safetensors").is_file() and (tmp_path / "tokenizer.json").is_file()
    from ragft.models.load import load_causal_lm, load_tokenizer

    model, tok = load_causal_lm(str(tmp_path)), load_tokenizer(str(tmp_path))
    assert model.config.num_hidden_layers == 1 and len(tok) == 300 and tok.padding_side == "left"
