from ragft.jsonl import iter_jsonl, read_jsonl
from ragft.logs import setup
from ragft.report.review import review_table, write_review

log = setup(snakemake.log[0])
inp, out = snakemake.input, snakemake.output
corpus = snakemake.wildcards.corpus
predictions = {run: read_jsonl(path) for run, path in zip(snakemake.params.runs, inp.predictions)}
sheet = review_table(corpus, read_jsonl(inp.questions), iter_jsonl(inp.chunks), predictions)
write_review(sheet, out.csv, out.html, corpus)
log.info("review sheet of %d eval questions and %d runs written; %d without a source text",
         len(sheet), len(predictions), int((sheet["source"] == "").sum()))
