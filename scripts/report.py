import shutil

from ragft.jsonl import read_json, read_jsonl
from ragft.logs import setup
from ragft.report import plots
from ragft.report.tables import (
    add_missing_stats,
    comparison_table,
    paired_p,
    stats_note,
    system_scores,
    write_comparison,
)

log = setup(snakemake.log[0])
p, inp, out = snakemake.params, snakemake.input, snakemake.output
corpus = snakemake.wildcards.corpus
systems = list(p.systems)
judged = dict(zip(systems, inp.judge)) if inp.judge else {}

# 1) per-question scores of every system (for the p-values); the intervals evaluate wrote to
#    metrics.json with the same bootstrap and seed, plus the judge's, which only the report has
scores = {}
for system, preds in zip(systems, inp.predictions):
    scores[system] = system_scores(read_jsonl(preds), read_jsonl(judged[system]) if system in judged else None)
metrics = {system: add_missing_stats(read_json(path), scores[system], p.bootstrap, p.seed)
           for system, path in zip(systems, inp.metrics)}
shown = [m for m in p.metrics if all(m in s for s in scores.values())] + (["judge"] if judged else [])

# 2) paired bootstrap p against each reference system present
references = [r for r in p.references if r in systems]
paired = {r: paired_p(scores, r, p.bootstrap, p.seed) for r in references}

# 3) tables
table = comparison_table(metrics, p.systems, paired, shown)
n = metrics[systems[0]]["n"]
write_comparison(table, out.md, out.csv, out.tex, out.html, headline=[m for m in p.headline if m in shown],
                 title=f"Systems compared on {corpus}", note=stats_note(n, p.bootstrap, p.seed, references))

# 4) plots: each metric's bars, quality against cost, each used adapter's training loss
for metric, path in zip(p.bar_metrics, out.bars):
    plots.metric_bars({s: metrics[s][metric] for s in systems}, metric, path, corpus, n)
points = {s: {**metrics[s], "adapter": p.systems[s].get("adapter", "none")} for s in systems}
plots.quality_vs_cost(points, p.cost_metric, out.quality_vs_cost, corpus)
for curve, copy in zip(inp.loss_curves, out.loss_curves):
    shutil.copyfile(curve, copy)
log.info("comparison of %d systems on %d questions written (metrics: %s)", len(systems), n, ", ".join(shown))
