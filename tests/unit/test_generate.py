import math

from ragft import generate
from ragft.models import load_causal_lm, load_tokenizer


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
