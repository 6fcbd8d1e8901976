from ragft.jsonl import iter_jsonl, write_json, write_jsonl
from ragft.logs import setup
from ragft.qa.cloze import cloze_questions

log = setup(snakemake.log[0])
settings = dict(snakemake.params.generate)
settings.pop("method")  # cloze, the one method the schema allows for now
questions, manifest = cloze_questions(iter_jsonl(snakemake.input.chunks), snakemake.params.seed, **settings)
write_jsonl(snakemake.output.questions, questions)
write_json(snakemake.output.manifest, manifest)
log.info("generated %s", manifest)
