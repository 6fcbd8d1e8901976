import shutil

from ragft.jsonl import read_json, read_jsonl
from ragft.logs import setup
from ragft.report import comparison_table, paired_vs, write_comparison

log = setup(snakemake.log[0])
systems = list(snakemake.params.systems)
metrics = {s: read_json(path) for s, path in zip(systems, snakemake.input.metrics)}
predictions = {s: read_jsonl(path) for s, path in zip(systems, snakemake.input.predictions)}
paired = paired_vs(predictions, "base", snakemake.params.bootstrap, snakemake.params.seed)
table = comparison_table(metrics, snakemake.params.systems, "base", paired or None)
write_comparison(table, snakemake.output.md, snakemake.output.csv, snakemake.output.tex)
for curve, copy in zip(snakemake.input.loss_curves, snakemake.output.loss_curves):  # each used adapter's training loss
    shutil.copyfile(curve, copy)
log.info("comparison of %d systems written", len(systems))
