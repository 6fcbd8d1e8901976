rule report:
    input:
        metrics=expand("results/{{corpus}}/eval/{system}/metrics.json", system=SYSTEMS),
        predictions=expand("results/{{corpus}}/eval/{system}/predictions.jsonl", system=SYSTEMS),
        loss_curves=expand("results/{{corpus}}/finetune/{recipe}/loss_curve.png", recipe=adapters_used()),
    output:
        md="results/{corpus}/report/comparison.md",
        csv="results/{corpus}/report/comparison.csv",
        tex="results/{corpus}/report/comparison.tex",
        loss_curves=expand("results/{{corpus}}/report/plots/loss_{recipe}.png", recipe=adapters_used()),
    params:
        systems=config["systems"],
        bootstrap=config["report"]["bootstrap"],
        seed=config["seed"],
    conda:
        "../envs/ragft.yaml"
    log:
        "logs/{corpus}/report.log",
    script:
        "../scripts/report.py"


rule report_retrieval:
    input:
        metrics=rules.retrieval_eval.output.metrics,
        hybrid=rules.hybrid_weights.output.weights,
    output:
        md="results/{corpus}/report/retrieval.md",
        recall_at_k="results/{corpus}/report/plots/recall_at_k.png",
    conda:
        "../envs/ragft.yaml"
    log:
        "logs/{corpus}/report_retrieval.log",
    script:
        "../scripts/report_retrieval.py"
