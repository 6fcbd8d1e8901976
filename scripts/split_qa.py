from ragft.jsonl import iter_jsonl, read_json, write_json, write_jsonl
from ragft.logs import setup
from ragft.qa.cloze import summary
from ragft.qa.gold import doc_index, read_gold, rejected_gold_docs, split_questions
from ragft.qa.groups import group_counts

log = setup(snakemake.log[0])
questions, skipped, lost = read_gold(snakemake.input.qa, doc_index(snakemake.input.docs))
train, evaluation = split_questions(
    questions, snakemake.params.eval_fraction, snakemake.params.seed, snakemake.params.max_eval
)
write_jsonl(snakemake.output.train, train)
write_jsonl(snakemake.output.eval, evaluation)
rejected, not_found = rejected_gold_docs(lost, iter_jsonl(snakemake.input.rejected))
generated = snakemake.input.generated  # [generate_qa's manifest] where the questions are generated, else []
manifest = {
    "source": "generated" if generated else "gold",
    **({"generator": summary(read_json(generated[0]))} if generated else {}),
    "questions": len(questions),
    "train": len(train),
    "eval": len(evaluation),
    "groups": group_counts(train, evaluation),  # questions sharing a gold doc and answer, or a chunk, stay together
    "without_gold_doc": sum(not q["doc_ids"] for q in questions),
    "rejected_gold_docs": rejected,  # rejected items that held a question's gold doc
    "gold_docs_not_found": not_found,  # questions naming a doc neither kept nor rejected
    "skipped": skipped,
    "eval_fraction": snakemake.params.eval_fraction,
    "max_eval": snakemake.params.max_eval,
    "seed": snakemake.params.seed,
}
write_json(snakemake.output.manifest, manifest)
log.info("split %s", manifest)
