"""builtin:smollm2, a real instruct model, end to end on a few questions: built from the installed
package, prompted through its chat template after the instruction in evaluation and in training
data alike, answering in words (never empty), with retrieval lifting its accuracy."""

import json

import pytest
from workdirs import copy_run, make_workdir, read_config, snakemake, tiny_config, write_config

pytestmark = pytest.mark.workflow


def jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def smol_run(tmp_path_factory):
    config = tiny_config()
    config["qa"]["max_eval"] = 6
    config["model"] = {"base": "builtin:smollm2", "max_new_tokens": 20, "batch_size": 6}
    config["finetune"]["recipes"]["qlora"].update(max_steps=2, batch_size=2, max_length=192, log_every=1, save_every=2,
                                                  lr=0.0005)
    config["finetune"]["data"] = {"chunks": {"enabled": False}, "qa": {"enabled": True},
                                  "retrieval": {"enabled": True, "k": 1}}
    config["systems"] = {"base": {"retriever": "none"}, "rag": {"retriever": "bm25"},
                         "ft": {"retriever": "none", "adapter": "qlora"}}
    config["retrieval"] = {"k": 1}
    config["embed"]["backend"] = "auto"  # the demo's default: rule embed_backend picks it, every shard reads it
    work = make_workdir(tmp_path_factory.mktemp("smollm2") / "work", config)
    proc = snakemake(work, "results/demo/report/comparison.md")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return work


def test_the_instruct_model_answers_in_words_and_retrieval_lifts_it(smol_run):
    res = smol_run / "results" / "demo"
    build = json.loads((smol_run / "resources/models/smollm2/build_report.json").read_text())
    assert build["parameters"] == 134515008
    preds = {s: jsonl(res / "eval" / s / "predictions.jsonl") for s in ("base", "rag", "ft")}
    assert all(len(p) == 6 and all(r["prediction"] for r in p) for p in preds.values())  # never empty
    metrics = {s: json.loads((res / "eval" / s / "metrics.json").read_text()) for s in preds}
    assert metrics["rag"]["accuracy"]["mean"] >= 0.5 > metrics["base"]["accuracy"]["mean"]
    # the adapter changes how likely the gold answers are, and the chat prompts are the same length
    assert metrics["ft"]["gold_nll"]["mean"] != metrics["base"]["gold_nll"]["mean"]
    assert [r["prompt_tokens"] for r in preds["ft"]] == [r["prompt_tokens"] for r in preds["base"]]
    assert metrics["ft"]["adapter_load"] == "on the 4-bit NF4 base"  # as it was trained, unmerged
    choice = json.loads((res / "embed" / "backend.json").read_text())
    meta = json.loads((res / "index" / "dense" / "meta.json").read_text())
    assert choice["backend"] in {"torch", "onnx", "openvino"} and meta["backend"] == choice["backend"]
    header = next(line for line in (res / "report" / "comparison.md").read_text().splitlines() if line.startswith("| system"))
    assert header.split("|")[5].strip() == "accuracy" and "p(accuracy) vs base / rag" in header


def test_training_prompts_are_the_evaluation_prompts(smol_run):
    train = jsonl(smol_run / "results/demo/finetune/qlora/train.jsonl")
    qa = [e for e in train if e["builder"] == "qa"]
    instruction = "Answer with a short phrase, the exact words from the context when there is one. Do not explain."
    assert qa and all(e["prompt"].startswith(f"<|im_start|>system\n{instruction}<|im_end|>\n<|im_start|>user\nQuestion: ")
                      and e["prompt"].endswith("Answer:<|im_end|>\n<|im_start|>assistant\n") for e in qa)
    assert all("\n" not in e["completion"] for e in qa)  # the bare answer; the trainer ends it with <|im_end|>
    summary = json.loads((smol_run / "results/demo/finetune/qlora/train_summary.json").read_text())
    assert summary["steps"] == 2


def test_an_llm_jobs_peak_host_memory_is_below_what_it_declares(smol_run):
    from ragft.models.specs import llm_host_mb

    model = smol_run / "resources/models/smollm2"
    declared = {"eval": llm_host_mb(model), "train": llm_host_mb(model, batch=2, length=192)}  # the recipe above
    peaks = {}
    for tsv in [*(smol_run / "benchmarks/rules/demo/eval").glob("*.tsv"), smol_run / "benchmarks/rules/demo/finetune/qlora.tsv"]:
        header, row = tsv.read_text().splitlines()[:2]
        peaks[tsv.stem] = float(dict(zip(header.split("\t"), row.split("\t")))["max_rss"])
    print("peak host memory (MB):", peaks, "declared:", declared)
    assert set(peaks) == {"base", "rag", "ft", "qlora"}
    assert all(0 < peaks[s] < declared["eval"] for s in ("base", "rag", "ft")) and 0 < peaks["qlora"] < declared["train"]


def test_an_llm_writes_the_questions_of_a_corpus_without_them(smol_run, tmp_path):
    """Rule generate_qa with method llm: builtin:smollm2 writes questions about the documents, each
    kept or dropped by reason, and a forced rerun writes the same ones."""
    work = copy_run(smol_run, tmp_path / "work")
    config = read_config(work)
    config["corpora"]["docs"] = {"source": "data/corpus"}  # no questions
    config["qa"]["generate"] = {"method": "llm", "questions": 2, "max_candidates": 24, "batch_size": 6}
    write_config(work, config)
    target = "results/docs/qa/generated.jsonl"
    proc = snakemake(work, target)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    manifest = json.loads((work / "results/docs/qa/generated_manifest.json").read_text())
    assert manifest["method"] == "llm" and manifest["model"] == "builtin:smollm2" and manifest["invariant_ok"]
    assert manifest["generated"] == manifest["kept"] + sum(manifest["dropped"].values()) <= 24
    assert manifest["generated"] - manifest["kept"] == sum(manifest["dropped"].values())
    questions = jsonl(work / target)
    assert len(questions) == manifest["kept"] >= 1
    assert all(q["question"].endswith("?") and q["meta"]["model"] == "builtin:smollm2" for q in questions)
    first = (work / target).read_bytes()
    proc = snakemake(work, target, "--forcerun", "generate_qa")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (work / target).read_bytes() == first
