import pandas as pd

from ragft.jsonl import write_text
from ragft.logs import setup
from ragft.report.tables import corpora_html, corpora_markdown

log = setup(snakemake.log[0])
tables = {corpus: pd.read_csv(path) for corpus, path in zip(snakemake.params.corpora, snakemake.input.tables)}
write_text(snakemake.output.md, corpora_markdown(tables, snakemake.params.metrics))
write_text(snakemake.output.html, corpora_html(tables, snakemake.params.metrics))
log.info("%d corpora compared", len(tables))
