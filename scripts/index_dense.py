from ragft.embed import Embedder, EmbeddingCache, embed_texts
from ragft.index import build_dense
from ragft.jsonl import read_jsonl
from ragft.logs import setup

log = setup(snakemake.log[0], snakemake.threads)
p = snakemake.params
# where vectors are cached and the device do not change the output, so they are not params
cache_dir = snakemake.config["embed"].get("cache") or None
embedder = Embedder(p.embedder, p.backend, p.quantize, p.batch_size, snakemake.config["embed"].get("device"), cache_dir)
cache = EmbeddingCache(cache_dir, embedder) if cache_dir else None
chunks = read_jsonl(snakemake.input.chunks)
vectors, stats = embed_texts(embedder, [c["text"] for c in chunks], cache, progress=True)
log.info("%d chunks: %d embedded, %d from the cache, %d repeating an earlier chunk's text",
         stats["texts"], stats["embedded"], stats["cached"], stats["repeated"])
meta = build_dense(vectors, [c["id"] for c in chunks], snakemake.output.index, embedder, p.factory,
                   p.search_params, p.target_recall, p.seed, embedding=stats)
log.info("dense index %s", meta)
