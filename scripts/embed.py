from ragft.jsonl import iter_jsonl
from ragft.logs import setup
from ragft.retrieval.embed import Embedder, EmbeddingCache, embed_shard, write_shard

log = setup(snakemake.log[0], snakemake.threads)
p, wc = snakemake.params, snakemake.wildcards
# where vectors are cached and the device do not change the output, so they are not params
cache_dir = snakemake.config["embed"].get("cache") or None
embedder = Embedder(p.embedder, p.backend, p.quantize, p.batch_size, snakemake.config["embed"].get("device"), cache_dir)
cache = EmbeddingCache(cache_dir, embedder) if cache_dir else None
texts = [c["text"] for c in iter_jsonl(snakemake.input.chunks)]
shard, shards = int(wc.shard), int(wc.shards)
keys, vectors, stats = embed_shard(embedder, texts, shard - 1, shards, cache, log=log.info)
meta = {"model": p.embedder, "backend": p.backend, "quantize": p.quantize, "shard": shard, "shards": shards, **stats}
write_shard(snakemake.output.vectors, keys, vectors, meta)
log.info("shard %d of %d: %d distinct chunk texts: embedded %d, from the cache %d",
         shard, shards, stats["texts"], stats["embedded"], stats["cached"])
