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
        k=config["retrieval"]["k"],
        generation=generation(),
        seed=config["seed"],
        bootstrap=config["report"]["bootstrap"],
    conda:
        "../envs/ragft.yaml"
    log:
        "logs/{corpus}/eval/{system}.log",
    benchmark:
        "benchmarks/rules/{corpus}/eval/{system}.tsv"
    threads: 1
    resources:
        mem_mb=8000,
    script:
        "../scripts/evaluate.py"
