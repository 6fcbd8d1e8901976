from ragft.jsonl import iter_jsonl, write_json, write_jsonl
from ragft.logs import setup
from ragft.qa.cloze import cloze_questions, none_kept

log = setup(snakemake.log[0], snakemake.threads)
settings = dict(snakemake.params.generate)
chunks, seed = iter_jsonl(snakemake.input.chunks), snakemake.params.seed
titles = {doc["id"]: doc["title"] for doc in iter_jsonl(snakemake.input.docs)}  # each question names its doc's subject
if settings["method"] == "cloze":
    questions, manifest = cloze_questions(chunks, seed, settings["questions"], settings["per_chunk"],
                                          settings["min_words"], settings["max_words"], titles,
                                          settings["max_bare_share"])
else:  # llm: the model writes the questions, then answers them from their chunk (round trip)
    from tqdm import tqdm

    from ragft.models.questions import write_questions

    path = snakemake.input.get("model") or settings["model"]  # a built-in's or a local folder, else a hub id
    with tqdm(total=settings["questions"], desc="generated questions kept", unit="q") as progress:
        questions, manifest = write_questions(chunks, seed, path, settings, snakemake.params.model,
                                              progress.update, titles)
if error := none_kept(manifest):
    raise SystemExit(f"ragft: {error}")
write_jsonl(snakemake.output.questions, questions)
write_json(snakemake.output.manifest, manifest)
log.info("generated %s", manifest)
