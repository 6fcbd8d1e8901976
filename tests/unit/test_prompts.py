from ragft.prompts import answer_text, build_prompt


def test_closed_context_and_fewshot_prompts():
    assert build_prompt("What?") == "Question: What?\nAnswer:"
    assert build_prompt("What?", ["A.", "B."]) == "Context:\nA.\n\nB.\n\nQuestion: What?\nAnswer:"
    shots = [{"question": "Q1?", "answers": ["one", "uno"]}]
    assert build_prompt("What?", shots=shots) == "Question: Q1?\nAnswer: one\n\nQuestion: What?\nAnswer:"
    assert build_prompt("What?", templates={"closed": "Q: {question}\nA:"}) == "Q: What?\nA:"
    assert answer_text("42 days") == " 42 days\n"
