from ragft.finetune.data_report import (
    contamination,
    count_parameters,
    data_report,
    decontaminate,
    format_data_report,
    matmul_flops,
)
from ragft.finetune.examples import build_train_data
from ragft.finetune.synthetic import synthetic_qa
from ragft.jsonl import read_jsonl, write_json, write_jsonl
from ragft.logs import setup
from ragft.models.load import load_causal_lm, load_tokenizer
from ragft.models.specs import resolve

log = setup(snakemake.log[0], snakemake.threads)
p = snakemake.params
chunks = read_jsonl(snakemake.input.chunks)
questions = read_jsonl(snakemake.input.train)  # the QA builders never see qa/eval.jsonl
eval_questions = read_jsonl(snakemake.input.eval)  # only to measure contamination
tokenizer = load_tokenizer(p.base)

# 1) what the builders need: retrieved chunks, generated questions
hits = None
retrieval = p.builders.get("retrieval", {})
if retrieval.get("enabled", False):
    from ragft.retrieval.index import DenseSearcher

    # the k best distractors are found among a deeper ranking, once the gold doc's chunks are set aside
    searcher = DenseSearcher(snakemake.input.index, cache_dir=snakemake.config["embed"].get("cache") or None)
    hits = searcher.search([q["question"] for q in questions], 2 * retrieval["k"] + 3)
synthetic, synthetic_stats = None, None
spec = p.builders.get("synthetic", {})
if spec.get("enabled", False):
    path = snakemake.input.get("generator") or (resolve(spec["model"]) if spec.get("model") else p.base)
    synthetic, synthetic_stats = synthetic_qa(chunks, load_causal_lm(path), load_tokenizer(path), spec, p.seed)

# 2) build, measure contamination (and drop it if asked; overlap with the chunks builder is knowledge
#    injection, reported apart), report
data, stats = build_train_data(chunks, questions, p.builders, p.seed, p.templates, hits, synthetic, tokenizer,
                               eval_ids={q["id"] for q in eval_questions}, chat_template=p.chat_template,
                               max_length=p.recipe["max_length"])
if synthetic_stats:
    stats["synthetic"] = synthetic_stats
overlap = contamination(eval_questions, data, p.decontamination["ngram"], questions + (synthetic or []))  # paraphrases: LLM-written ones too
if p.decontamination["drop"]:  # never the chunks builder's corpus text: that is knowledge injection
    data, overlap["dropped_examples"] = decontaminate(data, overlap)
report = data_report(data, tokenizer, p.recipe, stats, overlap, count_parameters(p.base), matmul_flops())
write_jsonl(snakemake.output.train, data, sort_key=None)  # seeded training order
write_json(snakemake.output.report, report)
log.info("data report (also in %s):\n%s", snakemake.output.report, format_data_report(report))
