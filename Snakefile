# ragft: for a domain corpus, what does retrieval buy, what does fine-tuning buy, and what do
# both together buy, at what cost? Every result lives under results/{corpus}/<stage>/, its log
# under logs/{corpus}/<stage>/, and heavy rules' timings under benchmarks/rules/.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "rules/common.smk"
include: "rules/ingest.smk"
include: "rules/qa.smk"
include: "rules/chunk.smk"
include: "rules/index.smk"
include: "rules/model.smk"
include: "rules/finetune.smk"
include: "rules/evaluate.smk"
include: "rules/report.smk"


rule all:
    input:
        expand("results/{corpus}/report/comparison.md", corpus=CORPORA),
        expand("results/{corpus}/retrieval/metrics.json", corpus=CORPORA),
        expand(rules.report_retrieval.output, corpus=CORPORA),
