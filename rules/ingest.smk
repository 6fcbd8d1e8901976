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
        min_chars=config["clean"]["min_chars"],
    conda:
        "../envs/ragft.yaml"
    log:
        "logs/{corpus}/ingest.log",
    benchmark:
        "benchmarks/rules/{corpus}/ingest.tsv"
    script:
        "../scripts/ingest.py"
