rule report:
    input:
        metrics=expand("results/{{corpus}}/eval/{system}/metrics.json", system=SYSTEMS),
        predictions=expand("results/{{corpus}}/eval/{system}/predictions.jsonl", system=SYSTEMS),
    output:
        md="results/{corpus}/report/comparison.md",
        csv="results/{corpus}/report/comparison.csv",
        tex="results/{corpus}/report/comparison.tex",
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
