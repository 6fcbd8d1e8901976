rule finetune_data:
    input:
        chunks=rules.chunk.output.chunks,
        train=rules.split_qa.output.train,
        eval=rules.split_qa.output.eval,  # for the contamination report only
        index=rules.index_dense.output.index if RETRIEVAL_DATA else [],  # the RAFT-style builder's distractors
        model=base_model(),
        generator=synthetic_model(),
    output:
        train="results/{corpus}/finetune/{recipe}/train.jsonl",
        report="results/{corpus}/finetune/{recipe}/data_report.json",
    params:
        base=base_model_path,
        builders=config["finetune"]["data"],
        decontamination=config["finetune"]["decontamination"],
        recipe=recipe_shape,
        templates=config["model"].get("templates"),
        chat_template=config["model"]["chat_template"],  # QA examples are shown as evaluation shows them
        seed=config["seed"],
    conda:
        "../envs/ragft.yaml"
    log:
        "logs/{corpus}/finetune/{recipe}/data.log",
    benchmark:
        "benchmarks/rules/{corpus}/finetune/{recipe}_data.tsv"
    threads: 1  # retrieves for a few hundred questions: mostly start-up, so it shares the CPU with an evaluation
    resources:
        # synthetic QA runs an LLM over the chunks: a GPU job then
        gpu=1 if SYNTHETIC else 0,
        mem_mb=lambda wc, input: llm_mem_mb(wc, {"model": input.generator or input.model}) if SYNTHETIC else 4000,
    script:
        "../scripts/finetune_data.py"


rule finetune:
    input:
        train=recipe_data,
        model=base_model(),
        init_adapter=init_adapter,
    output:
        adapter=directory("results/{corpus}/finetune/{recipe}/adapter"),
        log="results/{corpus}/finetune/{recipe}/train_log.jsonl",
        summary="results/{corpus}/finetune/{recipe}/train_summary.json",
        loss_curve="results/{corpus}/finetune/{recipe}/loss_curve.png",
    params:
        base=base_model_path,
        recipe=recipe,
        # not outputs: they outlive a killed job, so that its rerun resumes
        checkpoints=lambda wc: f"results/{wc.corpus}/finetune/{wc.recipe}/checkpoints",
        tensorboard=lambda wc: f"results/{wc.corpus}/finetune/{wc.recipe}/tensorboard",
        seed=recipe_seed,
        trust_remote_code=config["model"]["trust_remote_code"],
    conda:
        "../envs/ragft.yaml"
    log:
        "logs/{corpus}/finetune/{recipe}/train.log",
    benchmark:
        "benchmarks/rules/{corpus}/finetune/{recipe}.tsv"
    threads: 2
    resources:
        gpu=1,  # SLURM places it on a GPU node; a local run limits such jobs with --resources gpu=N
        mem_mb=lambda wc, input: llm_mem_mb(wc, input, recipe(wc)),
        runtime=120,  # minutes; raise it (--set-resources finetune:runtime=...) for a real model
    script:
        "../scripts/finetune.py"
