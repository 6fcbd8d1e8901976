rule chunk:
    input:
        docs=rules.ingest.output.docs,
    output:
        chunks="results/{corpus}/chunks.jsonl",
    params:
        embedder=config["embed"]["model"],
        strategy=config["chunk"]["strategy"],
        size=config["chunk"]["size"],
        overlap=config["chunk"]["overlap"],
    conda:
        "../envs/ragft.yaml"
    log:
        "logs/{corpus}/chunk.log",
    script:
        "../scripts/chunk.py"
