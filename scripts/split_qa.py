from ragft.jsonl import write_json, write_jsonl
from ragft.logs import setup
from ragft.qa.gold import doc_index, load_gold, split_questions

log = setup(snakemake.log[0])
questions, skipped = load_gold(snakemake.input.qa, doc_index(snakemake.input.docs))
train, evaluation = split_questions(
    questions, snakemake.params.eval_fraction, snakemake.params.seed, snakemake.params.max_eval
)
write_jsonl(snakemake.output.train, train)
write_jsonl(snakemake.output.eval, evaluation)
manifest = {
    "questions": len(questions),
    "train": len(train),
    "eval": len(evaluation),
    "without_gold_doc": sum(not q["doc_ids"] for q in questions),
    "skipped": skipped,
    "eval_fraction": snakemake.params.eval_fraction,
    "max_eval": snakemake.params.max_eval,
    "seed": snakemake.params.seed,
}
write_json(snakemake.output.manifest, manifest)
log.info("split %s", manifest)
