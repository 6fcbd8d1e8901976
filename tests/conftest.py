import random

import pytest


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """An untrained builtin:tiny-shaped model (tokenizer + random Llama) saved like the real one."""
    from ragft import reading_corpus, tiny

    out = tmp_path_factory.mktemp("tiny")
    rng = random.Random(0)
    texts = ["".join(tiny.example_text(ex, rng)) for ex in reading_corpus.examples(0, 300)]
    tokenizer = tiny.train_tokenizer(texts, 400)
    model = tiny.make_model(tokenizer, hidden=32, layers=2, heads=2, max_positions=512, seed=0)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return str(out)
