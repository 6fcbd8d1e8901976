from ragft.jsonl import read_jsonl
from ragft.logs import setup
from ragft.retrieval.embed import Embedder, gather_shards
from ragft.retrieval.index import build_dense

log = setup(snakemake.log[0], snakemake.threads)
p = snakemake.params
chunks = read_jsonl(snakemake.input.chunks)
# the embed shards' vectors, one row per chunk in chunk order
vectors, embedding = gather_shards(snakemake.input.vectors, [c["text"] for c in chunks])
log.info("%d chunks from %d shards: %d embedded, %d from the cache, %d repeating an earlier chunk's text",
         embedding["texts"], len(snakemake.input.vectors), embedding["embedded"], embedding["cached"], embedding["repeated"])
e = embedding["embedder"]  # queries are embedded as the passages were: backend, quantisation, prompts
embedder = Embedder(e["model"], e["backend"], e["quantize"], query_prompt=e["query_prompt"], passage_prompt=e["passage_prompt"])
meta = build_dense(vectors, [c["id"] for c in chunks], snakemake.output.index, embedder, p.factory,
                   p.search_params, p.target_recall, p.seed,
                   embedding={k: embedding[k] for k in ("texts", "embedded", "cached", "repeated", "backend_choice")
                              if k in embedding})
log.info("dense index %s", meta)
