import math

import pytest

from ragft.models import generate
from ragft.models.load import load_causal_lm, load_tokenizer


def test_left_padded_batches_give_the_same_answers_and_nll_as_one_by_one(tiny_model_dir):
    model, tok = load_causal_lm(tiny_model_dir), load_tokenizer(tiny_model_dir)
    prompts = ["Question: What is the home port of Zan?\nAnswer:", "Question: Who?\nAnswer:", "Context:\nA b c.\n\nQuestion: Why?\nAnswer:"]
    answers = ["Lex harbour", "Quo", "because"]
    batched = generate.generate_answers(model, tok, prompts, max_new_tokens=5, batch_size=3)
    single = [generate.generate_answers(model, tok, [p], max_new_tokens=5, batch_size=1)[0] for p in prompts]
    assert batched == single
    nll_b = generate.answer_nll(model, tok, prompts, answers, batch_size=3)
    nll_s = [generate.answer_nll(model, tok, [p], [a], batch_size=1)[0] for p, a in zip(prompts, answers)]
    assert all(abs(a - b) < 1e-4 for a, b in zip(nll_b, nll_s))
    # an untrained model is close to uniform over its 400 tokens
    assert all(abs(n - math.log(400)) < 1.0 for n in nll_b)


def test_cut_at_stop():
    assert generate.cut_at_stop(" 42 days\nQuestion: x", "\n") == "42 days"
    assert generate.cut_at_stop("a. b\nc", [".", "\n"]) == "a"
    assert generate.cut_at_stop(" keep all ", None) == "keep all"
    assert generate.cut_at_stop("x\ny", []) == "x\ny"
    assert generate.cut_at_stop("\n\n Paris\nmore", "\n") == "Paris"  # stops count after the first text
    assert generate.cut_at_stop("Question: x\nQuestion: y", ["Question:", "\n"]) == "Question: x"


def test_a_stop_ends_a_row_only_after_its_first_text(tiny_model_dir):
    tok = load_tokenizer(tiny_model_dir)
    ids = lambda s: tok(s, add_special_tokens=False)["input_ids"]  # noqa: E731
    rule = generate.StopRule(tok, ["\n"])
    assert not rule(ids("\n")) and not rule(ids("\n Paris"))
    assert rule(ids("\n Paris\n")) and rule(ids("Paris\n"))
    longer = generate.StopRule(tok, ["Question:"])
    assert not longer(ids(" Question:")) and longer(ids("Paris Question:"))


PROMPTS = ["Question: What is the home port of Zan?\nAnswer:", "Question: Who?\nAnswer:",
           "Context:\nA b c.\n\nQuestion: Why?\nAnswer:"]


# one-character stops end rows early by token; multi-character ones are matched across tokens
@pytest.mark.parametrize("stop", [["\n", "?"], ["an", "e "]])
def test_stop_strings_end_rows_early_without_changing_answers(tiny_model_dir, stop):
    model, tok = load_causal_lm(tiny_model_dir), load_tokenizer(tiny_model_dir)
    full = generate.generate_answers(model, tok, PROMPTS, max_new_tokens=12, batch_size=3, stop=None)
    stopped = generate.generate_answers(model, tok, PROMPTS, max_new_tokens=12, batch_size=3, stop=stop)
    assert stopped == [generate.cut_at_stop(a, stop) for a in full]


def test_sampling_is_seeded(tiny_model_dir):
    model, tok = load_causal_lm(tiny_model_dir), load_tokenizer(tiny_model_dir)
    run = lambda seed: generate.generate_answers(model, tok, PROMPTS, max_new_tokens=8, batch_size=3, stop=None,  # noqa: E731
                                                 do_sample=True, temperature=1.0, seed=seed)
    assert run(5) == run(5)
    assert run(5) != run(6)  # an untrained model samples nearly uniformly over 400 tokens


def test_answer_nll_matches_a_full_forward_pass(tiny_model_dir):
    import torch

    from ragft import prompts

    model, tok = load_causal_lm(tiny_model_dir), load_tokenizer(tiny_model_dir)
    p_ids = tok(PROMPTS[0], add_special_tokens=False)["input_ids"]
    a_ids = tok(prompts.answer_text("Lex harbour"), add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([p_ids + a_ids])).logits[0]
    logp = torch.log_softmax(logits[:-1], -1)[torch.arange(len(p_ids) + len(a_ids) - 1), torch.tensor(p_ids + a_ids)[1:]]
    expected = float(-logp[-len(a_ids):].mean())
    assert generate.answer_nll(model, tok, PROMPTS[:1], ["Lex harbour"])[0] == pytest.approx(expected, abs=1e-5)
    # a length cap keeps the end: the same as scoring the prompt's last tokens only
    cap = len(a_ids) + 5
    short = tok.decode(p_ids[-5:])
    assert tok(short, add_special_tokens=False)["input_ids"] == p_ids[-5:]
    assert generate.answer_nll(model, tok, PROMPTS[:1], ["Lex harbour"], max_length=cap)[0] == pytest.approx(
        generate.answer_nll(model, tok, [short], ["Lex harbour"])[0], abs=1e-5)


def test_stop_token_ids_are_the_tokens_holding_a_stop_character(tiny_model_dir):
    tok = load_tokenizer(tiny_model_dir)
    ids = generate.stop_token_ids(tok, ["\n", "Answer"])  # only one-character stops are looked up by token
    assert ids and all("\n" in tok.decode([i]) for i in ids)
    assert tok("\n", add_special_tokens=False)["input_ids"][0] in ids
    assert generate.stop_token_ids(tok, []) == []


def test_decoding_matches_transformers_generate_one_prompt_at_a_time(tiny_model_dir):
    """The batched KV-cache loop (its own 4D mask, prompts sorted by length) gives the tokens that
    transformers' own `generate` gives each prompt alone, greedily."""
    import torch

    model, tok = load_causal_lm(tiny_model_dir), load_tokenizer(tiny_model_dir)
    prompts = PROMPTS + ["Question: Which harbour lies north of the Lex estuary and why?\nAnswer:", "Q:"]
    ours = generate.generate_answers(model, tok, prompts, max_new_tokens=10, batch_size=4, stop=None)
    theirs = []
    for p in prompts:
        enc = tok(p, return_tensors="pt", add_special_tokens=False)
        with torch.no_grad():
            out = model.generate(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], max_new_tokens=10,
                                 do_sample=False, pad_token_id=tok.pad_token_id)
        theirs.append(tok.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True).strip())
    assert ours == theirs


def test_left_pad():
    ids, mask = generate.left_pad([[5, 6, 7], [8]], 0, "cpu")
    assert ids.tolist() == [[5, 6, 7], [0, 0, 8]] and mask.tolist() == [[1, 1, 1], [0, 0, 1]]
