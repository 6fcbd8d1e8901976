"""builtin:tiny: its training texts (only question and answer scored), learning-rate schedule, and a
build that saves a loadable model."""

import json
import random

from ragft import prompts
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
    with_context = [c for p, _, c in parts if p.startswith(("Context:", "Question:"))]
    closed = [c for p, _, c in parts if p == ""]
    assert closed and all(c == " " + ex["answer"] + "\n" for c in closed)
    assert with_context and all(
        c == " " + ex["answer"] + "\n\nQuestion: What is the lucky port of Zan?\nAnswer: Quo\n" for c in with_context)


def test_lr_schedule_warms_up_then_decays_to_a_tenth():
    assert tiny.lr_at(0, 100, 1.0, 10) == 0.1
    assert tiny.lr_at(9, 100, 1.0, 10) == 1.0
    assert abs(tiny.lr_at(100, 100, 1.0, 10) - 0.1) < 1e-9


def test_reading_accuracy_is_the_exact_match_share_of_greedy_answers(monkeypatch):
    import ragft.models.generate

    examples = [{"context": "The home port of Zan Quo is Lex.", "question": "What is the home port of Zan Quo?", "answer": "Lex"},
                {"context": "The spare rank of Zan is 9 steps.", "question": "What is the spare rank of Zan?", "answer": "9 steps"},
                {"context": "The lucky port of Zan is Quo.", "question": "What is the lucky port of Zan?", "answer": "Quo"}]
    prompts_seen = []

    def answers(model, tokenizer, texts, **kw):
        prompts_seen.append(texts)
        return [" Lex\n", "9 steps west", "Quo "]  # surrounding spaces do not count; more words do

    monkeypatch.setattr(ragft.models.generate, "generate_answers", answers)
    assert tiny.reading_accuracy(None, None, examples, with_context=True) == 2 / 3
    assert tiny.reading_accuracy(None, None, examples, with_context=False) == 2 / 3
    with_context, closed_book = prompts_seen
    assert with_context == [prompts.build_prompt(ex["question"], [ex["context"]]) for ex in examples]
    assert closed_book == [prompts.build_prompt(ex["question"]) for ex in examples]
    assert all(ex["context"] in p and ex["context"] not in q for ex, p, q in zip(examples, with_context, closed_book))


def test_build_tiny_writes_a_loadable_model_and_report(tmp_path, monkeypatch):
    cfg = {"steps": 3, "batch_size": 4, "lr": 0.003, "warmup": 1, "vocab_size": 300, "hidden_size": 32, "layers": 1,
           "heads": 2, "max_positions": 512, "max_length": 128, "max_entities": 1, "max_facts": 2, "questions_per_context": 2, "eval_examples": 4}
    masks, reads, real_loss = [], [], tiny.scored_loss

    def loss(model, batch):  # the training batches, as the model sees them
        masks.append(batch["attention_mask"])
        return real_loss(model, batch)

    def accuracy(model, tokenizer, examples, with_context):  # a 3-step model reads nothing: tell the reads apart
        reads.append((with_context, [ex["question"] for ex in examples]))
        return 0.75 if with_context else 0.25

    monkeypatch.setattr(tiny, "scored_loss", loss)
    monkeypatch.setattr(tiny, "reading_accuracy", accuracy)
    report = tiny.build_tiny(tmp_path, cfg, seed=0, log=lambda m: None)
    assert [m.shape[0] for m in masks] == [4, 4, 4]
    # tokens trained on, padding not counted (the batches are padded: fewer than their full size)
    assert report["train_tokens"] == sum(int(m.sum()) for m in masks) < sum(m.numel() for m in masks)
    # held-out reading: during training (steps // 4 is 0, so after every step but the last) and at the end
    held_out = reads[-1][1]
    assert len(held_out) == 4 and reads == [(True, held_out)] * 3 + [(False, held_out)]
    assert report["exact_match_with_context"] == 0.75 and report["exact_match_closed_book"] == 0.25
    assert (report["steps"], report["batch_size"]) == (3, 4)
    assert json.loads((tmp_path / "build_report.json").read_text()) == report
    from ragft.models.load import load_causal_lm, load_tokenizer

    model, tok = load_causal_lm(str(tmp_path)), load_tokenizer(str(tmp_path))
    assert report["parameters"] == sum(p.numel() for p in model.parameters())
    assert model.config.num_hidden_layers == 1 and model.config.hidden_size == 32 and len(tok) == 300
    assert tok.padding_side == "left" and tok.pad_token == "<pad>" and tok.eos_token == "</s>"
