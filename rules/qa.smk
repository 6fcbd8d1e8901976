# A corpus without gold questions gets generated ones (ragft.qa.llm or ragft.qa.cloze), labelled as generated.
rule generate_qa:
    input:
        chunks=rules.chunk.output.chunks,
        docs=rules.ingest.output.docs,  # their titles: each question names what it is about
        model=qa_generator(),  # method llm: the generating model (a built-in's or a local folder)
    output:
        questions="results/{corpus}/qa/generated.jsonl",
        manifest="results/{corpus}/qa/generated_manifest.json",
    params:
        generate=qa_generation(),
        seed=config["seed"],
        model=generation(("dtype", "trust_remote_code", "max_new_tokens", "templates", "chat_template")) if QA_LLM else {},
    conda:
        "../envs/ragft.yaml"
    log:
        "logs/{corpus}/generate_qa.log",
    benchmark:
        "benchmarks/rules/{corpus}/generate_qa.tsv"
    threads: 2 if QA_LLM else 1
    resources:
        # method llm runs the generating model: a GPU job then
        gpu=1 if QA_LLM else 0,
        mem_mb=lambda wc, input: llm_mem_mb(wc, input) if QA_LLM else 2000,
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
