from ragft.prompts import answer_text, build_prompt


def test_closed_context_and_fewshot_prompts():
    assert build_prompt("What?") == "Question: What?\nAnswer:"
    assert build_prompt("What?", ["A.", "B."]) == "Context:\nA.\n\nB.\n\nQuestion: What?\nAnswer:"
    shots = [{"question": "Q1?", "answers": ["one", "uno"]}]
    assert build_prompt("What?", shots=shots) == "Question: Q1?\nAnswer: one\n\nQuestion: What?\nAnswer:"
    assert build_prompt("What?", templates={"closed": "Q: {question}\nA:"}) == "Q: What?\nA:"
    assert answer_text("42 days") == " 42 days\n"


CHATML = ("{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
          "{% if add_generation_prompt %}<|assistant|>{% endif %}")


def test_chat_models_get_the_instruction_then_the_prompt_as_a_user_turn(tiny_model_dir):
    from ragft.models.load import load_tokenizer
    from ragft.prompts import chat_prompt, renderer, uses_chat

    tok = load_tokenizer(tiny_model_dir)
    render, answer, chat = renderer(tok, "auto")  # builtin:tiny has no chat template: plain prompts
    assert (render("Q?"), answer("x"), chat) == ("Q?", " x\n", False)
    tok.chat_template = CHATML
    assert uses_chat(tok, "auto") and uses_chat(tok, True) and not uses_chat(tok, False)
    render, answer, chat = renderer(tok, "auto", {"instruction": "Be brief."})
    assert (render("Q?"), answer("x"), chat) == ("<|system|>Be brief.\n<|user|>Q?\n<|assistant|>", "x</s>", True)
    assert chat_prompt(tok, "Q?", {"instruction": "Be brief.", "instruction_role": "user"}) == "<|user|>Be brief.\n\nQ?\n<|assistant|>"
    assert chat_prompt(tok, "Q?", {"instruction": None}) == "<|user|>Q?\n<|assistant|>"
    assert renderer(tok, False)[2] is False
