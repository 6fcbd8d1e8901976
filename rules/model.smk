rule build_tiny:
    output:
        model=directory("resources/models/tiny"),
    params:
        tiny=config["model"]["tiny"],
        seed=config["seed"],
    conda:
        "../envs/ragft.yaml"
    log:
        "logs/build_tiny.log",
    benchmark:
        "benchmarks/rules/build_tiny.tsv"
    threads: 2
    resources:
        mem_mb=4000,
    script:
        "../scripts/build_tiny.py"


rule build_smollm2:
    output:
        model=directory("resources/models/smollm2"),
    conda:
        "../envs/ragft.yaml"
    log:
        "logs/build_smollm2.log",
    benchmark:
        "benchmarks/rules/build_smollm2.tsv"
    resources:
        mem_mb=4000,
    script:
        "../scripts/build_smollm2.py"
