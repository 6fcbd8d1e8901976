rule finetune_data:
    input:
        chunks=rules.chunk.output.chunks,
        train=rules.split_qa.output.train,
        index=rules.index_dense.output.index,
        model=base_model(),
    output:
        train="results/{corpus}/finetune/{recipe}/train.jsonl",
        report="results/{corpus}/finetune/{recipe}/data_report.json",
    params:
        base=base_model_path,
        builders=config["finetune"]["data"],
        embedder=config["embed"]["model"],
        templates=config["model"].get("templates"),
        seed=config["seed"],
    conda:
        "../envs/ragft.yaml"
    log:
        "logs/{corpus}/finetune/{recipe}/data.log",
    script:
        "../scripts/finetune_data.py"


rule finetune:
    input:
        train=rules.finetune_data.output.train,
        model=base_model(),
    output:
        adapter=directory("results/{corpus}/finetune/{recipe}/adapter"),
        log="results/{corpus}/finetune/{recipe}/train_log.jsonl",
        summary="results/{corpus}/finetune/{recipe}/train_summary.json",
    params:
        base=base_model_path,
        recipe=recipe,
        checkpoints=lambda wc: f"results/{wc.corpus}/finetune/{wc.recipe}/checkpoints",
        seed=config["seed"],
        trust_remote_code=config["model"]["trust_remote_code"],
    conda:
        "../envs/ragft.yaml"
    log:
        "logs/{corpus}/finetune/{recipe}/train.log",
    benchmark:
        "benchmarks/rules/{corpus}/finetune/{recipe}.tsv"
    threads: 2
    resources:
        mem_mb=8000,
        runtime=120,
    script:
        "../scripts/finetune.py"
