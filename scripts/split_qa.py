from ragft.jsonl import iter_jsonl, read_json, write_json, write_jsonl
from ragft.logs import setup
from ragft.qa.cloze import summary
from ragft.qa.gold import doc_index, read_gold, rejected_gold_docs, split_manifest, split_questions
from ragft.qa.review import apply_review, read_verdicts

log = setup(snakemake.log[0])
p, inp = snakemake.params, snakemake.input
questions, skipped, lost = read_gold(inp.qa, doc_index(inp.docs))
train, evaluation = split_questions(questions, p.eval_fraction, p.seed, p.max_eval)
review = None
if inp.review:  # qa.review: questions people marked bad leave both sides after the split, nothing else moves
    verdicts = read_verdicts(inp.review, snakemake.wildcards.corpus)
    questions, train, evaluation, review = apply_review(questions, train, evaluation, verdicts, list(inp.review))
write_jsonl(snakemake.output.train, train)
write_jsonl(snakemake.output.eval, evaluation)
rejected, not_found = rejected_gold_docs(lost, iter_jsonl(inp.rejected))
generator = summary(read_json(inp.generated[0])) if inp.generated else None  # generate_qa's manifest, if any
manifest = split_manifest(questions, train, evaluation, skipped, rejected, not_found, generator,
                          {"eval_fraction": p.eval_fraction, "max_eval": p.max_eval, "seed": p.seed}, review)
write_json(snakemake.output.manifest, manifest)
log.info("split %s", manifest)
