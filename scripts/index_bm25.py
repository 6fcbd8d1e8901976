from ragft.jsonl import read_jsonl
from ragft.logs import setup
from ragft.retrieval.index import build_bm25

log = setup(snakemake.log[0])
chunks = read_jsonl(snakemake.input.chunks)
build_bm25([c["text"] for c in chunks], [c["id"] for c in chunks], snakemake.output.index, snakemake.params.k1, snakemake.params.b)
log.info("bm25 index of %d chunks", len(chunks))
