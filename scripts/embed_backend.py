from ragft.jsonl import iter_jsonl, write_json
from ragft.logs import setup
from ragft.retrieval.auto_backend import choose_backend

log = setup(snakemake.log[0], snakemake.threads)
p, embed = snakemake.params, snakemake.config["embed"]
texts = [c["text"] for c in iter_jsonl(snakemake.input.chunks)]
# the device, the cache folder and the prompt do not change the choice, so they are not params
choice = choose_backend(p.embedder, texts, p.quantize, embed.get("device"), embed.get("cache") or None, p.batch_size,
                        embed.get("passage_prompt"), log=log.info)
write_json(snakemake.output.choice, choice)
