rule chunk:
    input:
        docs=rules.ingest.output.docs,
    output:
        chunks="results/{corpus}/chunks.jsonl",
    params:
        tokenizer=config["chunk"]["tokenizer"] or config["embed"]["model"],  # the model whose tokens are counted
        strategy=config["chunk"]["strategy"],
        size=config["chunk"]["size"],
        overlap=config["chunk"]["overlap"],
    conda:
        "../envs/ragft.yaml"
    log:
        "logs/{corpus}/chunk.log",
    benchmark:
        "benchmarks/rules/{corpus}/chunk.tsv"
    script:
        "../scripts/chunk.py"
