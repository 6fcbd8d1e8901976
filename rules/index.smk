rule index_dense:
    input:
        chunks=rules.chunk.output.chunks,
    output:
        index=directory("results/{corpus}/index/dense"),
    params:
        embedder=config["embed"]["model"],
        batch_size=config["embed"]["batch_size"],
        factory=config["index"]["factory"],
    conda:
        "../envs/ragft.yaml"
    log:
        "logs/{corpus}/index_dense.log",
    benchmark:
        "benchmarks/rules/{corpus}/index_dense.tsv"
    threads: 2
    resources:
        mem_mb=4000,
    script:
        "../scripts/index_dense.py"


rule index_bm25:
    input:
        chunks=rules.chunk.output.chunks,
    output:
        index=directory("results/{corpus}/index/bm25"),
    params:
        k1=config["index"]["bm25"]["k1"],
        b=config["index"]["bm25"]["b"],
    conda:
        "../envs/ragft.yaml"
    log:
        "logs/{corpus}/index_bm25.log",
    script:
        "../scripts/index_bm25.py"


rule retrieval_eval:
    input:
        chunks=rules.chunk.output.chunks,
        questions=rules.split_qa.output.eval,
        dense=rules.index_dense.output.index,
        bm25=rules.index_bm25.output.index,
    output:
        metrics="results/{corpus}/retrieval/metrics.json",
        runs=expand("results/{{corpus}}/retrieval/runs/{retriever}.jsonl", retriever=RETRIEVERS),
    params:
        embedder=config["embed"]["model"],
        retrievers=RETRIEVERS,
        ks=[1, 3, 5, 10, 20],
    conda:
        "../envs/ragft.yaml"
    log:
        "logs/{corpus}/retrieval_eval.log",
    script:
        "../scripts/retrieval_eval.py"
