import math

import pytest
import torch

from ragft.evaluate.judge import DEFAULT_TEMPLATE, judge, judge_prompts
from ragft.models.load import load_causal_lm, load_tokenizer

PREDS = [
    {"id": "q1", "question": "What is the home port of Zan?", "answers": ["Lex harbour", "Lex"], "prediction": "Lex harbour"},
    {"id": "q2", "question": "Who?", "answers": ["Quo"], "prediction": "nobody"},
    {"id": "q3", "question": "Why?", "answers": ["because"], "prediction": "  "},
]


def test_judge_prompts_fill_the_template():
    assert judge_prompts(PREDS[:1], "Q: {question} | gold: {answers} | said: {prediction} ->") == [
        "Q: What is the home port of Zan? | gold: Lex harbour | Lex | said: Lex harbour ->"]
    assert judge_prompts(PREDS[1:2])[0] == DEFAULT_TEMPLATE.format(question="Who?", answers="Quo", prediction="nobody")
    assert judge_prompts(PREDS[1:2])[0].endswith("Answer yes or no.\nVerdict:")


def _logp(model, tok, prompt: str, word: str) -> float:
    """log P(word | prompt) from one plain forward pass."""
    p, w = tok(prompt, add_special_tokens=False)["input_ids"], tok(word, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([p + w])).logits[0]
    logp = torch.log_softmax(logits, -1)
    return float(sum(logp[len(p) - 1 + i, t] for i, t in enumerate(w)))


def test_judge_weighs_yes_against_no(tiny_model_dir):
    model, tok = load_causal_lm(tiny_model_dir), load_tokenizer(tiny_model_dir)
    verdicts = judge(model, tok, PREDS, batch_size=3)
    assert [v["id"] for v in verdicts] == ["q1", "q2", "q3"]
    assert verdicts[2] == {"id": "q3", "judge": 0, "p_yes": 0.0}  # an empty answer is never right
    prompt = judge_prompts(PREDS[:1])[0]
    yes = sum(math.exp(_logp(model, tok, prompt, w)) for w in (" yes", " Yes"))
    no = sum(math.exp(_logp(model, tok, prompt, w)) for w in (" no", " No"))
    assert verdicts[0]["p_yes"] == pytest.approx(yes / (yes + no), abs=1e-5)
    assert verdicts[0]["judge"] == int(yes > no)
    assert judge(model, tok, PREDS, batch_size=1) == verdicts  # batching changes nothing
