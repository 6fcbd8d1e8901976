"""Before the first job: how long a run will take on this machine and how much memory it needs.

The Snakefile's `onstart` handler prints it (a real run only: not a dry run, --lint, or a job that
a cluster runs). Each job's time is a small cost model of its inputs (pages, characters, chunks,
questions, training tokens, prompt tokens, model parameters) whose constants were measured on
this project's 2-core AMD EPYC (the demo's benchmarks/rules/**.tsv, and ingest of a 160-page 10-K),
scaled by this machine's matmul speed, measured in 0.2 s with numpy; jobs then share the cores as
Snakemake runs them: wall time = max(longest chain of jobs, CPU work / cores). Peak memory is the
largest job's (the QLoRA fine-tune's, on a CPU). It aims at a factor of 2 on a CPU; a GPU, or a
machine that other work shares, changes it. Nothing here imports torch or reads a document's text.
"""

from ragft.estimate.run import estimate, format_estimate, machine_gflops

__all__ = ["estimate", "format_estimate", "machine_gflops"]
