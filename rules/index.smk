rule embed_backend:
    input:
        # the backends are timed on a sample of the chunks; once a choice for this model and
        # machine is in the embedding cache, a rerun (an edited corpus) reuses it untimed
        chunks=rules.chunk.output.chunks,
    output:
        choice="results/{corpus}/embed/backend.json",
    params:
        embedder=config["embed"]["model"],
        quantize=config["embed"]["quantize"],
        batch_size=config["embed"]["batch_size"],
    conda:
        "../envs/ragft.yaml"
    log:
        "logs/{corpus}/embed_backend.log",
    benchmark:
        "benchmarks/rules/{corpus}/embed_backend.tsv"
    threads: 2  # as many as embed has: the backends are timed on the threads they will embed with
    resources:
        mem_mb=4000,
    script:
        "../scripts/embed_backend.py"


rule embed:
    input:
        chunks=rules.chunk.output.chunks,
        backend=backend_choice,
    output:
        vectors="results/{corpus}/embed/{shard}-of-{shards}.npz",
    params:
        embedder=config["embed"]["model"],
        backend=config["embed"]["backend"],
        quantize=config["embed"]["quantize"],
        batch_size=config["embed"]["batch_size"],
        query_prompt=config["embed"]["query_prompt"],
        passage_prompt=config["embed"]["passage_prompt"],
    conda:
        "../envs/ragft.yaml"
    log:
        "logs/{corpus}/embed/{shard}-of-{shards}.log",
    benchmark:
        "benchmarks/rules/{corpus}/embed/{shard}-of-{shards}.tsv"
    threads: 2
    resources:
        mem_mb=4000,
    script:
        "../scripts/embed.py"


rule index_dense:
    input:
        chunks=rules.chunk.output.chunks,
        vectors=embed_shards,
    output:
        index=directory("results/{corpus}/index/dense"),
    params:
        factory=config["index"]["factory"],
        search_params=config["index"]["search_params"],
        target_recall=config["index"]["target_recall"],
        seed=config["seed"],
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
    benchmark:
        "benchmarks/rules/{corpus}/index_bm25.tsv"
    script:
        "../scripts/index_bm25.py"


rule hybrid_weights:
    input:
        chunks=rules.chunk.output.chunks,
        questions=rules.split_qa.output.train,
        dense=rules.index_dense.output.index,
        bm25=rules.index_bm25.output.index,
    output:
        weights="results/{corpus}/index/hybrid.json",
    params:
        hybrid=config["retrieval"]["hybrid"],
    conda:
        "../envs/ragft.yaml"
    log:
        "logs/{corpus}/hybrid_weights.log",
    benchmark:
        "benchmarks/rules/{corpus}/hybrid_weights.tsv"
    threads: 1  # embeds a few hundred questions: mostly start-up, so it shares the CPU with an evaluation
    # as soon as the indexes exist: the hybrid system's evaluation waits on it, and can then run
    # beside the other one-thread evaluations instead of alone at the end
    priority: 10
    script:
        "../scripts/hybrid_weights.py"


rule retrieval_eval:
    input:
        unpack(lambda wc: retriever_inputs(wc.corpus, *RETRIEVERS)),
        chunks=rules.chunk.output.chunks,
        questions=rules.split_qa.output.eval,
    output:
        metrics="results/{corpus}/retrieval/metrics.json",
        runs=expand("results/{{corpus}}/retrieval/runs/{retriever}.jsonl", retriever=RETRIEVERS),
    params:
        retrievers=RETRIEVERS,
        ks=[1, 3, 5, 10, 20],
        reranker=reranker_settings(*RETRIEVERS),
    conda:
        "../envs/ragft.yaml"
    log:
        "logs/{corpus}/retrieval_eval.log",
    benchmark:
        "benchmarks/rules/{corpus}/retrieval_eval.tsv"
    threads: 1  # embeds a few hundred questions: mostly start-up, so it shares the CPU with an evaluation
    script:
        "../scripts/retrieval_eval.py"
