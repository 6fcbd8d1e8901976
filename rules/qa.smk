# A corpus without gold questions gets generated ones (ragft.qa.cloze), labelled as generated.
rule generate_qa:
    input:
        chunks=rules.chunk.output.chunks,
    output:
        questions="results/{corpus}/qa/generated.jsonl",
        manifest="results/{corpus}/qa/generated_manifest.json",
    params:
        generate=config["qa"]["generate"],
        seed=config["seed"],
    conda:
        "../envs/ragft.yaml"
    log:
        "logs/{corpus}/generate_qa.log",
    benchmark:
        "benchmarks/rules/{corpus}/generate_qa.tsv"
    script:
        "../scripts/generate_qa.py"


rule split_qa:
    input:
        qa=corpus_qa,
        generated=generation_manifest,
        docs=rules.ingest.output.docs,
        rejected=rules.ingest.output.rejected,
        review=review_sheets,  # qa.review's marked sheets with rows of this corpus: editing one reruns the split
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
