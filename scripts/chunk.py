from ragft.jsonl import iter_jsonl, write_jsonl
from ragft.logs import setup
from ragft.models.specs import resolve
from ragft.retrieval.chunk import chunk_docs, load_offsets_tokenizer

log = setup(snakemake.log[0])
p = snakemake.params
tokenizer = load_offsets_tokenizer(resolve(p.tokenizer))
chunks = chunk_docs(iter_jsonl(snakemake.input.docs), tokenizer, p.size, p.overlap, p.strategy)
write_jsonl(snakemake.output.chunks, chunks, sort_key=None)  # doc order, then position
log.info("%d chunks, %d tokens", len(chunks), sum(c["n_tokens"] for c in chunks))
