from ragft.jsonl import iter_jsonl, read_json
from ragft.logs import setup
from ragft.retrieval.embed import Embedder, EmbeddingCache, describe, embed_shard, write_shard

log = setup(snakemake.log[0], snakemake.threads)
p, wc = snakemake.params, snakemake.wildcards
# where vectors are cached and the device do not change the output, so they are not params
cache_dir = snakemake.config["embed"].get("cache") or None
# auto: the backend rule embed_backend chose for this corpus, the same for every shard
choice = read_json(snakemake.input.backend) if p.backend == "auto" else None
embedder = Embedder(p.embedder, choice["backend"] if choice else p.backend, p.quantize, p.batch_size,
                    snakemake.config["embed"].get("device"), cache_dir, p.query_prompt, p.passage_prompt)
cache = EmbeddingCache(cache_dir, embedder) if cache_dir else None
texts = [c["text"] for c in iter_jsonl(snakemake.input.chunks)]
shard, shards = int(wc.shard), int(wc.shards)
keys, vectors, stats = embed_shard(embedder, texts, shard - 1, shards, cache, log=log.info)
meta = {**describe(embedder), "shard": shard, "shards": shards, **stats,
        **({"backend_choice": {k: v for k, v in choice.items() if k != "reused"}} if choice else {})}
write_shard(snakemake.output.vectors, keys, vectors, meta)
log.info("shard %d of %d (%s backend, prompts %r): %d distinct chunk texts: embedded %d, from the cache %d",
         shard, shards, embedder.backend, embedder.prompts, stats["texts"], stats["embedded"], stats["cached"])
