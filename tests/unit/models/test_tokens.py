"""What the model is shown: BOS, prompt and completion tokenised jointly, the chat turn's end, and
one truncation policy for training and evaluation; on real tokenizers (builtin:smollm2's, and a
SentencePiece-style one as Llama 2, Mistral and Gemma have)."""

import pytest
import torch

from ragft import prompts
from ragft.finetune.collate import Collator
from ragft.models import generate
from ragft.models.load import load_causal_lm, load_tokenizer
from ragft.models.tokens import (
    PromptTooLong,
    adds_bos,
    encode_pair,
    fit_prompt,
    prompt_ids,
)

PROMPT = "Question: What is the capital of France?\nAnswer:"


@pytest.fixture(scope="module")
def sentencepiece_tok():
    """A Llama-2-style tokenizer (SentencePiece BPE: a "▁" word prefix, BOS added), trained here."""
    from tokenizers import SentencePieceBPETokenizer
    from transformers import LlamaTokenizerFast

    texts = ["Question: What is the capital of France?\nAnswer:", "Paris is early May in Variety1."] * 50
    sp = SentencePieceBPETokenizer()
    sp.train_from_iterator(texts, vocab_size=300, special_tokens=["<unk>", "<s>", "</s>"], show_progress=False)
    tok = LlamaTokenizerFast(tokenizer_object=sp._tokenizer, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                             add_bos_token=True)
    tok.chat_template = "{% for m in messages %}{{ m.content }}\n{% endfor %}"
    return tok


def test_a_completion_is_tokenised_with_its_prompt(sentencepiece_tok):
    tok = sentencepiece_tok
    prompt, completion = PROMPT + "\n", "Paris"
    # alone, the completion gets a word-start piece that the joint text never has
    assert tok.convert_ids_to_tokens(tok("Paris", add_special_tokens=False)["input_ids"])[0].startswith("▁")
    ids, start = Collator(tok, 64).encode({"prompt": prompt, "completion": completion})
    joint = tok(prompt + completion)["input_ids"]  # BOS first, as the model was trained
    assert joint[0] == tok.bos_token_id
    assert ids == joint + [tok.eos_token_id]
    assert tok.decode(ids[start:-1]) == "Paris"  # the targets are exactly the completion's characters
    assert tok.decode(ids[1:start]) == prompt


def test_bos_is_added_once_where_the_tokenizer_calls_for_it(smollm2_dir):
    tok = load_tokenizer(smollm2_dir)  # its post-processor puts <|im_start|> (BOS) first
    assert adds_bos(tok) and tok.bos_token == "<|im_start|>"
    plain = prompt_ids(tok, [PROMPT])[0]
    assert plain[0] == tok.bos_token_id and plain[1:] == tok(PROMPT, add_special_tokens=False)["input_ids"]
    chat = prompts.renderer(tok, "auto")[0](PROMPT)  # the chat template writes <|im_start|> itself
    assert prompt_ids(tok, [chat])[0] == tok(chat, add_special_tokens=False)["input_ids"]
    ids, start = Collator(tok, 256).encode({"prompt": PROMPT, "completion": " Paris\n"})
    assert ids[0] == tok.bos_token_id and ids[1] != tok.bos_token_id and tok.decode(ids[start:]) == " Paris\n<|im_end|>"


def test_a_chat_completion_ends_as_the_template_ends_a_turn(smollm2_dir, sentencepiece_tok):
    tok = load_tokenizer(smollm2_dir)
    assert prompts.turn_end(tok) == "<|im_end|>"
    _, answer, chat = prompts.renderer(tok, "auto")
    assert chat and answer("Paris") == "Paris<|im_end|>"
    ids, _ = Collator(tok, 256).encode({"prompt": "x", "completion": answer("Paris")})
    assert ids[-1] == tok.convert_tokens_to_ids("<|im_end|>") and ids[-2] != ids[-1]  # no EOS after it
    gemma = '{% for m in messages %}<start_of_turn>{{ m.role }}\n{{ m.content }}<end_of_turn>\n{% endfor %}'
    sentencepiece_tok.add_special_tokens({"additional_special_tokens": ["<start_of_turn>", "<end_of_turn>"]})
    sentencepiece_tok.chat_template = gemma
    sentencepiece_tok.__dict__.pop("_ragft_turn_end", None)
    assert prompts.turn_end(sentencepiece_tok) == "<end_of_turn>"


def test_gold_nll_is_the_models_own_loss_on_the_joint_text(smollm2_dir):
    model, tok = load_causal_lm(smollm2_dir), load_tokenizer(smollm2_dir)
    render, answer, _ = prompts.renderer(tok, "auto")
    texts = [render(PROMPT), render("Question: Who wrote Hamlet?\nAnswer:")]
    golds = ["Paris", "William Shakespeare"]
    nll = generate.answer_nll(model, tok, texts, golds, batch_size=2, answer=answer)
    for text, gold, got in zip(texts, golds, nll):
        ids, start = encode_pair(tok, text, answer(gold))
        labels = torch.tensor([[-100] * start + ids[start:]])
        with torch.no_grad():
            loss = model(input_ids=torch.tensor([ids]), labels=labels).loss
        assert got == pytest.approx(float(loss), abs=2e-5)


class CharTokenizer:
    """One token per character: token counts are string lengths, so fitting is exact to check."""

    chat_template, bos_token_id = None, None

    def __call__(self, text, add_special_tokens=False):
        return {"input_ids": [[ord(c) for c in t] for t in text] if isinstance(text, list) else [ord(c) for c in text]}

    def decode(self, ids):
        return "".join(chr(i) for i in ids)


def test_fit_prompt_drops_the_lowest_ranked_chunk_first():
    tok = CharTokenizer()
    # 31 characters of template and question + 22 of context ("abcdefghij\n\nklmnopqrst")
    assert fit_prompt(tok, "Q?", ["abcdefghij", "klmnopqrst"], None, None, 60) == (
        "Context:\nabcdefghij\n\nklmnopqrst\n\nQuestion: Q?\nAnswer:", 0)
    assert fit_prompt(tok, "Q?", ["abcdefghij", "klmnopqrst"], None, None, 41) == (
        "Context:\nabcdefghij\n\nQuestion: Q?\nAnswer:", 12)  # the second chunk goes whole
    assert fit_prompt(tok, "Q?", ["abcdefghij", "klmnopqrst"], None, None, 36) == (
        "Context:\nabcde\n\nQuestion: Q?\nAnswer:", 17)  # then the best chunk loses its end


def test_fit_prompt_never_cuts_the_question():
    tok = CharTokenizer()
    shots = [{"question": "S1?", "answers": ["a1"]}, {"question": "S2?", "answers": ["a2"]}]
    # each shot is 26 characters, the closed prompt 20
    assert fit_prompt(tok, "Q?", None, shots, None, 50) == ("Question: S2?\nAnswer: a2\n\nQuestion: Q?\nAnswer:", 26)
    assert fit_prompt(tok, "Q?", ["abc"], None, None, 31) == ("Context:\n\n\nQuestion: Q?\nAnswer:", 3)  # stays RAG
    with pytest.raises(PromptTooLong, match="takes 20 tokens without any context"):
        fit_prompt(tok, "Q?", None, shots, None, 15)


def test_training_and_evaluation_fit_a_long_rag_prompt_alike(smollm2_dir):
    from ragft.finetune.examples import prompt_fitter

    tok = load_tokenizer(smollm2_dir)
    render, answer, _ = prompts.renderer(tok, "auto")
    chunks = ["The sowing window of Variety1 is early May. " * 8, "Variety2 ripens late. " * 30]
    fit = prompt_fitter(None, render, tok, max_length=160)
    text = fit("When is Variety1 sown?", chunks, answer("early May"))
    ids, start = Collator(tok, 160).encode({"prompt": text, "completion": answer("early May")})
    assert len(ids) <= 160 and tok.decode(ids[start:]) == "early May<|im_end|>"  # nothing of it cut
    assert "When is Variety1 sown?" in text and "Variety2" not in text  # the lowest-ranked chunk went
    assert text == fit_prompt(tok, "When is Variety1 sown?", chunks, None, None, 160 - 5, render)[0]
