import math
from pathlib import Path

import pytest

from ragft.jsonl import read_jsonl
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
    ids = lambda s: tok(s, add_special_tokens=False)["input_ids"]
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


def _scripted(model, script: list[int]):
    """`model` made to answer `script`, token by token: each output-layer call (the prompt's, then
    one per new token) puts all the weight on the next token of the script."""
    calls = []

    def force(module, args, logits):
        logits = logits.clone()
        logits[..., -1, :] = -1e4
        logits[..., -1, script[min(len(calls), len(script) - 1)]] = 1e4
        calls.append(1)
        return logits

    return model.lm_head.register_forward_hook(force)


@pytest.mark.parametrize("own_loop", [True, False])
def test_an_answer_is_cut_only_when_it_stops_at_the_budget(tiny_model_dir, own_loop, monkeypatch):
    model, tok = load_causal_lm(tiny_model_dir), load_tokenizer(tiny_model_dir)
    if not own_loop:  # transformers' generate with the stop rule as a stopping criterion
        monkeypatch.setattr(generate, "own_loop_ok", lambda m: False)
    ids = lambda s: tok(s, add_special_tokens=False)["input_ids"]  # noqa: E731
    answer, rest = ids(" 42 days"), ids("\nQuestion: more")
    to_newline = len(answer) + 1  # the newline ends the answer: it must fit in the budget

    def run(script, budget, **kw):
        hook = _scripted(model, script)
        try:
            return generate.generations(model, tok, [PROMPTS[0]], max_new_tokens=budget, **kw)[0]
        finally:
            hook.remove()

    # "\n": stopped by the stop string, whether the budget had room to spare or none
    assert run(answer + rest, 20) == generate.Generation("42 days", to_newline, False)
    assert run(answer + rest, to_newline) == generate.Generation("42 days", to_newline, False)
    # one token short of the newline: cut, and the answer reads as complete as it is
    assert run(answer + rest, to_newline - 1) == generate.Generation("42 days", to_newline - 1, True)
    assert run(answer + rest, 2) == generate.Generation(tok.decode(answer[:2]).strip(), 2, True)
    # the end of sequence ends an answer too (its token is dropped from the text)
    assert run(answer + [tok.eos_token_id], 20) == generate.Generation("42 days", len(answer) + 1, False)
    # no stop strings: only the end of sequence saves an answer from the budget
    assert run(answer + rest, 6, stop=None) == generate.Generation(tok.decode((answer + rest)[:6]).strip(), 6, True)
    assert generate.generate_answers(model, tok, [PROMPTS[0]], max_new_tokens=2) == [
        generate.generations(model, tok, [PROMPTS[0]], max_new_tokens=2)[0].text]


def test_sampling_is_seeded(tiny_model_dir):
    model, tok = load_causal_lm(tiny_model_dir), load_tokenizer(tiny_model_dir)
    run = lambda seed: generate.generate_answers(model, tok, PROMPTS, max_new_tokens=8, batch_size=3, stop=None,
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


def _tiny_lm(tok, family: str, **extra):
    """A seeded random 2-layer model of `family` over `tok`'s vocabulary, small enough for a test; its
    weights drawn wide (0.2) so that its greedy answers vary with the prompt."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.for_model(family, vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                  num_attention_heads=4, num_key_value_heads=2, head_dim=16, max_position_embeddings=512,
                                  bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                                  pad_token_id=tok.pad_token_id, initializer_range=0.2, **extra)
    torch.manual_seed(0)
    return AutoModelForCausalLM.from_config(config).eval()


# prompts of 40 to 60 tokens: ten times the sliding window below
LONG = ["Context:\nThe Vell Valley's main crop is amber millet, sown in early March and cut in late July, "
        f"then stored in the {place} granary.\n\nQuestion: {q}\nAnswer:"
        for place, q in [("north", "What is the main crop?"), ("south", "When is it sown and when is it cut?"),
                         ("old", "Where is it stored?"), ("river", "Which valley grows amber millet?"),
                         ("hill", "Who cuts it?")]]


def _one_by_one(model, tok, prompts, max_new_tokens):
    """transformers' `generate` on each prompt alone (no padding), greedy, decoded and stripped."""
    import torch

    out = []
    for p in prompts:
        enc = tok(p, return_tensors="pt", add_special_tokens=False)
        with torch.no_grad():
            gen = model.generate(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"],
                                 max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tok.pad_token_id)
        out.append(tok.decode(gen[0, enc["input_ids"].shape[1]:], skip_special_tokens=True).strip())
    return out


def test_a_sliding_window_model_answers_as_generate_does_one_prompt_at_a_time(tiny_model_dir):
    """Mistral with a 4-token window on 40-token prompts: a 4D mask from the own loop would let
    every token see the whole prompt; ragft answers through `generate` instead."""
    tok = load_tokenizer(tiny_model_dir)
    model = _tiny_lm(tok, "mistral", sliding_window=4)
    assert all(len(tok(p, add_special_tokens=False)["input_ids"]) >= 40 for p in LONG)
    ours = generate.generate_answers(model, tok, LONG, max_new_tokens=8, batch_size=4, stop=None)
    assert ours == _one_by_one(model, tok, LONG, 8)
    assert not generate.own_loop_ok(model)
    model.config.sliding_window = None  # the window binds: full attention answers otherwise
    assert generate.own_loop_ok(model)
    assert generate.generate_answers(model, tok, LONG, max_new_tokens=8, batch_size=4, stop=None) != ours


@pytest.mark.parametrize("family", sorted(generate.OWN_LOOP_FAMILIES))
def test_the_own_loop_equals_batched_generate_for_every_family_it_serves(tiny_model_dir, family, monkeypatch):
    tok = load_tokenizer(tiny_model_dir)
    model = _tiny_lm(tok, family, **({"sliding_window": None} if family == "mistral" else {}))  # Mistral v0.2 on
    assert generate.own_loop_ok(model)
    prompts = LONG + PROMPTS
    ours = generate.generate_answers(model, tok, prompts, max_new_tokens=8, batch_size=3, stop=["e"])
    monkeypatch.setattr(generate, "own_loop_ok", lambda m: False)
    assert generate.generate_answers(model, tok, prompts, max_new_tokens=8, batch_size=3, stop=["e"]) == ours
    assert len(set(ours)) >= 4  # a random model, yet its answers differ by prompt


def test_the_generate_path_stops_after_the_first_text_and_samples_reproducibly(tiny_model_dir):
    import torch

    tok = load_tokenizer(tiny_model_dir)
    model = _tiny_lm(tok, "mistral", sliding_window=4)
    full = generate.generate_answers(model, tok, LONG, max_new_tokens=10, batch_size=4, stop=None)
    assert generate.generate_answers(model, tok, LONG, max_new_tokens=10, batch_size=4, stop=["e", " "]) == \
        [generate.cut_at_stop(a, ["e", " "]) for a in full]
    state = torch.random.get_rng_state()

    def run(seed):
        return generate.generate_answers(model, tok, LONG, max_new_tokens=8, batch_size=4, stop=None, do_sample=True, seed=seed)

    assert run(5) == run(5) and run(5) != run(6)
    assert torch.equal(torch.random.get_rng_state(), state)  # the caller's random stream is left as it was


def test_row_stops_ends_a_row_at_its_first_stop_after_some_text(tiny_model_dir):
    import torch

    tok = load_tokenizer(tiny_model_dir)

    def ids(text):
        return tok(text, add_special_tokens=False)["input_ids"]

    nl, lex = ids("\n"), ids(" Lex")
    answers = [nl + lex, lex + nl, lex + lex[-1:] * len(nl)]  # as many new tokens each, as in `generate`
    batch = torch.tensor([ids("Q:") + a for a in answers])
    stops = generate.RowStops(generate.StopRule(tok, ["\n"]), len(ids("Q:")))
    assert stops(batch).tolist() == [False, True, False]  # a leading newline does not end an answer


def test_own_loop_ok_refuses_attention_a_4d_mask_would_bypass():
    from types import SimpleNamespace

    from transformers import AutoConfig, GenerationConfig

    def ok(family, generation=None, **config):
        config = AutoConfig.for_model(family, attn_implementation=config.pop("attn", "sdpa"), **config)
        return generate.own_loop_ok(SimpleNamespace(config=config, generation_config=generation or GenerationConfig()))

    assert ok("llama") and ok("qwen2") and ok("mistral", sliding_window=None) and ok("llama", attn="eager")
    assert not ok("mistral", sliding_window=4096)  # Mistral 7B v0.1
    assert not ok("qwen2", use_sliding_window=True, sliding_window=64, max_window_layers=1, num_hidden_layers=4)
    assert not ok("gemma2") and not ok("gemma3_text")  # sliding layers and softcapping
    assert not ok("phi3", sliding_window=2047)  # Phi-3 mini
    assert not ok("llama4_text") and not ok("gpt2")  # chunked attention; a family not checked against generate
    assert not ok("llama", attn="flash_attention_2")
    assert not ok("llama", GenerationConfig(repetition_penalty=1.1))


DEMO = Path(__file__).resolve().parents[3] / "resources" / "demo"


def _demo_docs() -> dict[str, str]:
    return {f"bulletins.jsonl:{d['id']}": d["text"] for d in read_jsonl(DEMO / "corpus" / "bulletins.jsonl")}


def _demo_questions(n: int = 6) -> list[dict]:
    """`n` demo questions about the bulletins, of varied relations (every 7th)."""
    docs = _demo_docs()
    return [q for q in read_jsonl(DEMO / "qa.jsonl") if q["doc_ids"][0] in docs][: n * 7 : 7]


def _demo_prompts(tok, n: int = 6) -> list[str]:
    """`n` demo questions closed book and again with their answer's sentence as context, through
    smollm2's chat template as evaluation shows them (`chat_template: auto`)."""
    from ragft import prompts
    from ragft.sentences import sentence_spans

    docs, questions = _demo_docs(), _demo_questions(n)
    render = prompts.renderer(tok, "auto", None)[0]
    sentences = {d: [text[i:j] for i, j in sentence_spans(text)] for d, text in docs.items()}
    rag = [next(s for s in sentences[q["doc_ids"][0]] if q["answers"][0] in s) for q in questions]
    return [render(prompts.build_prompt(q["question"])) for q in questions] + \
        [render(prompts.build_prompt(q["question"], [c])) for q, c in zip(questions, rag)]


@pytest.fixture
def one_thread():
    """One torch thread, as the evaluate rule runs (two threads on a shared 2-core machine spin
    against each other: several times slower), restored after."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_on_smollm2_the_own_loop_answers_as_batched_generate_does(smollm2_dir, monkeypatch, one_thread):
    """The loop on a real instruct model: demo prompts, batches of 4, 20 new tokens, the demo's stop,
    the same answers as transformers' batched `generate` with the same stop rule."""
    model, tok = load_causal_lm(smollm2_dir), load_tokenizer(smollm2_dir)
    texts = _demo_prompts(tok)
    assert generate.own_loop_ok(model) and len(texts) == 12
    ours = generate.generate_answers(model, tok, texts, max_new_tokens=20, batch_size=4, stop=["\n"])
    monkeypatch.setattr(generate, "own_loop_ok", lambda m: False)
    assert generate.generate_answers(model, tok, texts, max_new_tokens=20, batch_size=4, stop=["\n"]) == ours
    assert all(ours)
    golds = [q["answers"][0] for q in _demo_questions()]
    assert sum(g in a for g, a in zip(golds, ours[6:])) >= 5  # from the context it reads the answers
