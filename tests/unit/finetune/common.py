"""The chunks, questions and recipe that the fine-tuning tests share, and `build`: the training data
that some builders make of them."""

from ragft.finetune.examples import build_train_data

CHUNKS = [{"id": f"d{i}.md#0000", "doc_id": f"d{i}.md", "text": f"The sowing window of Variety{i} is early May."} for i in range(6)]
QUESTIONS = [{"id": f"q{i}", "question": f"What is the sowing window of Variety{i}?", "answers": ["early May"],
              "doc_ids": [f"d{i}.md"]} for i in range(4)]
RECIPE = {"quantization": "nf4", "r": 4, "alpha": 8, "dropout": 0.0, "target_modules": "all-linear", "lr": 0.01,
          "scheduler": "constant", "warmup_ratio": 0.0, "epochs": 1, "max_steps": 6, "batch_size": 2, "grad_accum": 1,
          "max_length": 64, "log_every": 2, "save_every": 3}


def build(builders, **kw):
    return build_train_data(CHUNKS, QUESTIONS, builders, seed=kw.pop("seed", 0), **kw)
