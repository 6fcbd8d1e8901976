# ragft: for a domain corpus, what does retrieval buy, what does fine-tuning buy, and what do
# both together buy, at what cost? Every result lives under results/{corpus}/<stage>/, its log
# under logs/{corpus}/<stage>/, and heavy rules' timings under benchmarks/rules/.
from snakemake.utils import min_version

min_version("9.0")


# config/config.yaml is the demo's config; a config file of your own (--configfile my.yaml) replaces
# it, every key it leaves out taking the schema's default. (--config key=value alone still edits it.)
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/ingest.smk"
include: "rules/chunk.smk"
include: "rules/qa.smk"
include: "rules/index.smk"
include: "rules/model.smk"
include: "rules/finetune.smk"
include: "rules/evaluate.smk"
include: "rules/report.smk"


# Before the first job: the run's estimated wall time and peak memory on this machine (not in a dry
# run, --lint, or a cluster's jobs; --no-hooks skips it).
onstart:
    print_estimate()


# On a cluster (profiles/slurm) these light jobs run on the submitting host, not as SLURM jobs.
localrules:
    all,
    split_qa,
    report,
    review_sheet,
    report_retrieval,
    report_corpora,


rule all:
    input:
        expand(rules.report.output, corpus=CORPORA),  # every table and plot, so a new one (judge.png) is made
        expand("results/{corpus}/retrieval/metrics.json", corpus=CORPORA),
        expand(rules.report_retrieval.output, corpus=CORPORA),
        expand(rules.review_sheet.output, corpus=CORPORA),  # the eval questions, for people to mark (qa.review)
        rules.report_corpora.output if len(CORPORA) > 1 else [],
