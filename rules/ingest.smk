rule ingest:
    input:
        corpus_files,
    output:
        docs="results/{corpus}/docs.jsonl",
        rejected="results/{corpus}/rejected.jsonl",
        manifest="results/{corpus}/ingest_manifest.json",
    params:
        source=lambda wc: config["corpora"][wc.corpus]["source"],
        jsonl_fields=lambda wc: config["corpora"][wc.corpus].get("jsonl_fields"),
        clean=config["clean"],
    conda:
        "../envs/ragft.yaml"
    log:
        "logs/{corpus}/ingest.log",
    benchmark:
        "benchmarks/rules/{corpus}/ingest.tsv"
    threads: 4
    resources:
        mem_mb=4000,
    script:
        "../scripts/ingest.py"
