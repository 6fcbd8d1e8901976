from ragft.jsonl import iter_jsonl, write_json, write_jsonl
from ragft.logs import setup
from ragft.qa import load_questions, split_questions

log = setup(snakemake.log[0])
doc_ids = {d["id"] for d in iter_jsonl(snakemake.input.docs)}
questions = load_questions(snakemake.input.qa, known_doc_ids=doc_ids)
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
    "eval_fraction": snakemake.params.eval_fraction,
    "max_eval": snakemake.params.max_eval,
    "seed": snakemake.params.seed,
}
write_json(snakemake.output.manifest, manifest)
log.info("split %s", manifest)
