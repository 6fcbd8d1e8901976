import shutil

from ragft.config import split_replicate
from ragft.jsonl import read_json, read_jsonl
from ragft.logs import setup
from ragft.report import plots
from ragft.report.stats import Scores
from ragft.report.tables import (
    comparison_table,
    p_values,
    questions_label,
    review_label,
    stats_note,
    system_scores,
    system_stats,
    write_comparison,
)
from ragft.report.warnings import run_warnings

log = setup(snakemake.log[0])
p, inp, out = snakemake.params, snakemake.input, snakemake.output
corpus = snakemake.wildcards.corpus
systems = list(p.systems)
judged = dict(zip(p.runs, inp.judge)) if inp.judge else {}

# 1) per-question scores of every evaluation run (one per training-seed replicate of a fine-tuned
#    system), the judge's verdicts among them; each system's runs together
runs = {system: [] for system in systems}
for run, preds, metrics_path in zip(p.runs, inp.predictions, inp.metrics):
    scores = system_scores(read_jsonl(preds), read_jsonl(judged[run]) if run in judged else None)
    runs[split_replicate(run)[0]].append((scores, read_json(metrics_path)))
scores = {system: Scores.from_runs([s for s, _ in r]) for system, r in runs.items()}
metrics = {system: system_stats([m for _, m in r], scores[system], p.bootstrap, p.seed) for system, r in runs.items()}
shown = [m for m in p.metrics if all(m in s.values for s in scores.values())] + (["judge"] if judged else [])

# 2) paired bootstrap p against each reference system present (and Holm's adjustment, in the table)
references = [r for r in p.references if r in systems]
paired = {r: p_values(scores, r, p.bootstrap, p.seed) for r in references}

# 3) tables
table = comparison_table(metrics, p.systems, paired, shown)
n = metrics[systems[0]]["n"]
replicates = max(m["replicates"] for m in metrics.values())
split = read_json(inp.questions)
label = questions_label(split)  # "" for gold questions; the title says generated ones
title = f"Systems compared on {corpus}" + (f" ({label})" if label else "")
warnings = run_warnings(split, metrics, p.systems, read_jsonl(inp.eval), p.max_new_tokens, p.answer_type_share)
write_comparison(table, out.md, out.csv, out.tex, out.html, headline=[m for m in p.headline if m in shown],
                 title=title, md_title=title, warnings=warnings, n_boot=p.bootstrap,
                 note=stats_note(n, p.bootstrap, p.seed, references, replicates, questions=label,
                                 review=review_label(split)))  # and what people's review (qa.review) dropped
for warning in warnings:
    log.warning("%s", warning)

# 4) plots: each metric's bars, quality against cost, each used adapter's training loss
for metric, path in zip(p.bar_metrics, out.bars):
    plots.metric_bars({s: metrics[s][metric] for s in systems}, metric, path, corpus, n)
points = {s: {**metrics[s], "adapter": p.systems[s].get("adapter", "none")} for s in systems}
plots.quality_vs_cost(points, p.cost_metric, out.quality_vs_cost, corpus)
for curve, copy in zip(inp.loss_curves, out.loss_curves):
    shutil.copyfile(curve, copy)
log.info("comparison of %d systems (%d evaluation runs) on %d questions written (metrics: %s)",
         len(systems), len(p.runs), n, ", ".join(shown))
