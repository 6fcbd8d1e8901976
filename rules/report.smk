rule report:
    input:
        metrics=expand("results/{{corpus}}/eval/{run}/metrics.json", run=RUNS),
        predictions=expand("results/{{corpus}}/eval/{run}/predictions.jsonl", run=RUNS),
        judge=judge_inputs,
        loss_curves=expand("results/{{corpus}}/finetune/{recipe}/loss_curve.png", recipe=adapters_used()),
        questions=rules.split_qa.output.manifest,  # gold or generated: the title says which
        eval=rules.split_qa.output.eval,  # their gold answers' types: a warning when one type dominates
    output:
        md="results/{corpus}/report/comparison.md",
        csv=report("results/{corpus}/report/comparison.csv", caption="../report/comparison.rst",
                   category="Comparison", subcategory="{corpus}", labels={"corpus": "{corpus}", "item": "table (CSV)"}),
        tex=report("results/{corpus}/report/comparison.tex", caption="../report/comparison.rst",
                   category="Comparison", subcategory="{corpus}", labels={"corpus": "{corpus}", "item": "table (LaTeX)"}),
        html=report("results/{corpus}/report/comparison.html", caption="../report/comparison.rst",
                    category="Comparison", subcategory="{corpus}", labels={"corpus": "{corpus}", "item": "table"}),
        bars=[report(f"results/{{corpus}}/report/plots/{m}.png", caption="../report/metric_bars.rst",
                     category="Comparison", subcategory="{corpus}", labels={"corpus": "{corpus}", "item": f"{m} by system"})
              for m in REPORT_METRICS],
        quality_vs_cost=report("results/{corpus}/report/plots/quality_vs_cost.png", caption="../report/quality_vs_cost.rst",
                               category="Comparison", subcategory="{corpus}",
                               labels={"corpus": "{corpus}", "item": "quality against cost"}),
        loss_curves=[report(f"results/{{corpus}}/report/plots/loss_{r}.png", caption="../report/loss_curve.rst",
                            category="Fine-tuning", subcategory="{corpus}", labels={"corpus": "{corpus}", "item": f"{r} loss"})
                     for r in adapters_used()],
    params:
        systems=config["systems"],
        runs=RUNS,
        bootstrap=config["report"]["bootstrap"],
        seed=config["seed"],
        metrics=config["report"]["metrics"],
        bar_metrics=REPORT_METRICS,
        headline=config["report"]["headline"],
        references=config["report"]["references"],
        cost_metric=(config["report"]["headline"] or REPORT_METRICS)[0],
        max_new_tokens=config["model"]["max_new_tokens"],  # named in the warning on cut answers
        answer_type_share=config["report"]["answer_type_share"],
    conda:
        "../envs/ragft.yaml"
    log:
        "logs/{corpus}/report.log",
    script:
        "../scripts/report.py"


# Every eval question with its source text and each run's answer, for a person to mark ok or bad and
# give back as qa.review (ragft.report.review).
rule review_sheet:
    input:
        questions=rules.split_qa.output.eval,
        chunks=rules.chunk.output.chunks,
        predictions=expand("results/{{corpus}}/eval/{run}/predictions.jsonl", run=RUNS),
    output:
        csv="results/{corpus}/report/questions_review.csv",
        html=report("results/{corpus}/report/questions_review.html", caption="../report/questions_review.rst",
                    category="Comparison", subcategory="{corpus}", labels={"corpus": "{corpus}", "item": "questions to review"}),
    params:
        runs=RUNS,
    conda:
        "../envs/ragft.yaml"
    log:
        "logs/{corpus}/review_sheet.log",
    script:
        "../scripts/review_sheet.py"


rule report_retrieval:
    input:
        metrics=rules.retrieval_eval.output.metrics,
        hybrid=rules.hybrid_weights.output.weights,
    output:
        md="results/{corpus}/report/retrieval.md",
        html=report("results/{corpus}/report/retrieval.html", caption="../report/retrieval.rst",
                    category="Retrieval", subcategory="{corpus}", labels={"corpus": "{corpus}", "item": "table"}),
        recall_at_k=report("results/{corpus}/report/plots/recall_at_k.png", caption="../report/recall_at_k.rst",
                           category="Retrieval", subcategory="{corpus}", labels={"corpus": "{corpus}", "item": "recall@k"}),
    conda:
        "../envs/ragft.yaml"
    log:
        "logs/{corpus}/report_retrieval.log",
    script:
        "../scripts/report_retrieval.py"


rule report_corpora:
    input:
        tables=expand("results/{corpus}/report/comparison.csv", corpus=CORPORA),
    output:
        md="results/report.md",
        html=report("results/report.html", caption="../report/corpora.rst", category="Corpora",
                    labels={"item": "systems across corpora"}),
    params:
        corpora=CORPORA,
        metrics=REPORT_METRICS,
    conda:
        "../envs/ragft.yaml"
    log:
        "logs/report_corpora.log",
    script:
        "../scripts/report_corpora.py"
