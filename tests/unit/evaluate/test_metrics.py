"""Answer metrics (accuracy, exact match, token F1, ROUGE-L) and their means over predictions (the
intervals and p-values are the report's: tests/unit/report/test_stats.py)."""

import pytest

from ragft.evaluate.metrics import (
    aggregate_answers,
    answer_accuracy,
    exact_match,
    per_question,
    rouge_l,
    token_f1,
)


def test_exact_match():
    assert exact_match("The Cat.", ["cat"]) == 1.0
    assert exact_match("cat sat", ["cat"]) == 0.0
    assert exact_match("x", ["no", "X."]) == 1.0
    assert exact_match("x", []) == 0.0


def test_token_f1():
    # tokens {cat, sat} vs {cat, sat, on}: precision 1, recall 2/3 -> F1 0.8
    assert token_f1("the cat sat", ["a cat sat on"]) == pytest.approx(0.8)
    assert token_f1("cat", ["dog", "cat dog"]) == pytest.approx(2 / 3)  # best answer wins
    assert token_f1("cat cat", ["cat"]) == pytest.approx(2 / 3)  # multiset overlap
    assert token_f1("the", ["a"]) == 1.0  # both normalise to empty
    assert token_f1("", ["cat"]) == 0.0
    assert token_f1("cat", ["the"]) == 0.0
    assert token_f1("dog", ["cat"]) == 0.0


def test_answer_accuracy_matches_whole_tokens():
    assert answer_accuracy("It was Paris, France.", ["paris"]) == 1.0
    assert answer_accuracy("in 1999", ["1"]) == 0.0
    assert answer_accuracy("concatenate", ["cat"]) == 0.0
    assert answer_accuracy("the blue whale swims", ["Blue Whale"]) == 1.0
    assert answer_accuracy("", ["the"]) == 1.0  # empty gold only matches an empty prediction
    assert answer_accuracy("cat", ["the"]) == 0.0


def test_rouge_l():
    # rouge-score's tokens keep articles: [the, cat, sat, on, a, mat] vs [cat, on, the, mat] -> LCS 3, P 1/2, R 3/4
    assert rouge_l("the cat sat on a mat", ["cat on the mat"]) == pytest.approx(0.6)
    assert rouge_l("dog", ["cat"]) == 0.0
    # LCS [w, c, e] of 5 tokens each: P = R = 3/5
    assert rouge_l("w b c d e", ["w x c y e"]) == pytest.approx(0.6)
    # Lin (2004)'s example, no stemming (the library's default): killed != kill, LCS 3 of 4
    assert rouge_l("police killed the gunman", ["police kill the gunman"]) == pytest.approx(0.75)
    # order matters (unlike F1): [the, gunman, police, killed] vs [police, killed, the, gunman] -> LCS 2
    assert rouge_l("the gunman police killed", ["police killed the gunman"]) == pytest.approx(0.5)
    assert token_f1("the gunman police killed", ["police killed the gunman"]) == 1.0
    assert rouge_l("b a", ["a b", "b a c"]) == pytest.approx(0.8)  # the best answer: LCS [b, a], P 1, R 2/3
    # where the SQuAD-normalised tokens the old rouge_l used gave another score (old value after "was")
    assert rouge_l("state-of-the-art", ["state of the art"]) == 1.0  # was 0.0: one token "stateoftheart"
    assert rouge_l("1,000", ["1000"]) == 0.0  # was 1.0: [1, 000] vs [1000]
    assert rouge_l("well-known author J.K. Rowling", ["J. K. Rowling"]) == pytest.approx(2 / 3)  # was 2/7
    assert rouge_l("", ["the"]) == 0.0  # was 1.0 (both empty after normalisation); rouge-score: no token, 0
    assert rouge_l("東京", ["東京"]) == 0.0  # was 1.0; rouge-score keeps ASCII letters and digits only
    assert rouge_l("cat", []) == 0.0


# (prediction, gold answers) on which tokenisers disagree, each with the score of the old rouge_l
# (SQuAD-normalised tokens) where it differed
TRICKY = [
    ("state-of-the-art", ["state of the art"]),  # old 0.0
    ("north-east", ["north east", "NE"]),  # old 0.0
    ("1,000", ["1000"]),  # old 1.0
    ("1,000 people", ["1000 people"]),  # old 1.0
    ("3.5 kg", ["3.5kg"]),  # old 0.0
    ("U.S.A.", ["USA", "United States"]),  # old 1.0
    ("well-known author J.K. Rowling", ["J. K. Rowling"]),  # old 2/7
    ("It's a dog", ["it is a dog"]),  # old 0.4
    ("an apple a day", ["apple day"]),  # old 1.0
    ("The cat", ["cat"]),  # old 1.0
    ("The Pale, STONY loam.", ["pale stony loam"]),
    ("Zürich café naïve", ["Zurich cafe naive"]),
    ("東京", ["東京"]),  # old 1.0
    ("", ["the"]),  # old 1.0
    ("", [""]),  # old 1.0
    ("cat", [""]),
    ("the answer is early May", ["late May", "early May", "May"]),
    ("b a", ["a b", "b a c"]),
    ("x y z", ["z y x", "y", "x z"]),
]


def test_rouge_l_equals_rouge_score():
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"])  # the library's defaults: no stemmer
    for prediction, answers in TRICKY:
        expected = scorer.score_multi(answers, prediction)["rougeL"].fmeasure  # its best over targets
        assert abs(rouge_l(prediction, answers) - expected) <= 1e-12, (prediction, answers)


def _pred(id, answers, prediction, nll, tokens, latency):
    return {"id": id, "question": "?", "answers": answers, "prediction": prediction,
            "contexts": [], "prompt_tokens": tokens, "latency_s": latency, "gold_nll": nll}


PREDS = [
    _pred("q2", ["Paris"], "paris", 1.0, 10, 0.5),
    _pred("q1", ["blue whale"], "a whale", 3.0, 20, 1.5),
]


def test_per_question_in_id_order():
    assert per_question(PREDS) == {
        "id": ["q1", "q2"],
        "exact_match": [0.0, 1.0],
        "f1": [pytest.approx(2 / 3), 1.0],
        "rouge_l": [0.5, 1.0],  # [a, whale] vs [blue, whale]
        "accuracy": [0.0, 1.0],
        "gold_nll": [3.0, 1.0],
    }


def test_aggregate_answers_shape_and_means():
    out = aggregate_answers(PREDS)
    metrics = ["accuracy", "exact_match", "f1", "rouge_l", "gold_nll"]  # the headline first
    assert list(out) == ["n", *metrics, "prompt_tokens", "latency_s", "questions_per_s"]
    assert out["n"] == 2
    assert all(list(out[m]) == ["mean"] for m in metrics)  # no intervals: report.bootstrap reruns the report only
    assert out["exact_match"]["mean"] == 0.5
    assert out["f1"]["mean"] == pytest.approx(5 / 6)
    assert out["accuracy"]["mean"] == 0.5
    assert out["gold_nll"]["mean"] == 2.0
    assert out["rouge_l"]["mean"] == 0.75
    assert out["prompt_tokens"] == 15.0 and out["latency_s"] == 1.0 and out["questions_per_s"] == 1.0
    assert out == aggregate_answers(PREDS)


def test_aggregate_answers_counts_truncated_prompts():
    preds = [dict(PREDS[0], truncated_tokens=0), dict(PREDS[1], truncated_tokens=37)]
    assert aggregate_answers(preds)["truncated"] == {"prompts": 1, "tokens": 37}


def test_aggregate_answers_counts_answers_cut_at_max_new_tokens():
    preds = [dict(PREDS[0], cut=True), dict(PREDS[1], cut=False)]
    assert aggregate_answers(preds)["cut"] == {"answers": 1, "share": 0.5}
    assert aggregate_answers([dict(p, cut=False) for p in PREDS])["cut"] == {"answers": 0, "share": 0.0}  # 0 is a count
    assert "cut" not in aggregate_answers(PREDS)  # predictions from before the field: unknown


def test_aggregate_answers_without_gold_nll():
    preds = [dict(p, gold_nll=None) for p in PREDS]
    assert aggregate_answers(preds)["gold_nll"] == {"mean": None}
