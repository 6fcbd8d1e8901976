rule evaluate:
    input:
        unpack(system_inputs),
        questions=rules.split_qa.output.eval,
        train=rules.split_qa.output.train,
        chunks=rules.chunk.output.chunks,
        model=base_model(),
    output:
        predictions="results/{corpus}/eval/{system}/predictions.jsonl",
        metrics="results/{corpus}/eval/{system}/metrics.json",
    params:
        system=system,
        base=base_model_path,
        reranker=lambda wc: reranker_settings(system(wc)["retriever"]),
        k=lambda wc: config["retrieval"]["k"] if system(wc)["retriever"] != "none" else None,  # closed-book systems: not theirs
        generation=generation(),
        seed=config["seed"],
    conda:
        "../envs/ragft.yaml"
    log:
        "logs/{corpus}/eval/{system}.log",
    benchmark:
        "benchmarks/rules/{corpus}/eval/{system}.tsv"
    threads: 1
    resources:
        gpu=1,
        mem_mb=llm_mem_mb,
    script:
        "../scripts/evaluate.py"


rule judge:
    input:
        predictions=rules.evaluate.output.predictions,
        model=judge_model(),
    output:
        judge="results/{corpus}/eval/{system}/judge.jsonl",
    params:
        judge=config["report"]["judge"],
        trust_remote_code=config["model"]["trust_remote_code"],
    conda:
        "../envs/ragft.yaml"
    log:
        "logs/{corpus}/judge/{system}.log",
    benchmark:
        "benchmarks/rules/{corpus}/judge/{system}.tsv"
    threads: 1
    resources:
        gpu=1,
        mem_mb=llm_mem_mb,
    script:
        "../scripts/judge.py"
