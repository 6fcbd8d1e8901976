rule split_qa:
    input:
        qa=corpus_qa,
        docs=rules.ingest.output.docs,
        rejected=rules.ingest.output.rejected,
    output:
        train="results/{corpus}/qa/train.jsonl",
        eval="results/{corpus}/qa/eval.jsonl",
        manifest="results/{corpus}/qa/split_manifest.json",
    params:
        eval_fraction=config["qa"]["eval_fraction"],
        max_eval=config["qa"]["max_eval"],
        seed=config["seed"] + config["qa"]["seed_offset"],
    conda:
        "../envs/ragft.yaml"
    log:
        "logs/{corpus}/split_qa.log",
    script:
        "../scripts/split_qa.py"
