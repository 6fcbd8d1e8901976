from ragft.index import build_dense, embed_texts
from ragft.jsonl import read_jsonl
from ragft.logs import setup
from ragft.models import load_embedder

log = setup(snakemake.log[0], snakemake.threads)
chunks = read_jsonl(snakemake.input.chunks)
model = load_embedder(snakemake.params.embedder)
vectors = embed_texts(model, [c["text"] for c in chunks], snakemake.params.batch_size, progress=True)
meta = build_dense(
    vectors, [c["id"] for c in chunks], snakemake.output.index, snakemake.params.embedder, snakemake.params.factory
)
log.info("dense index %s", meta)
