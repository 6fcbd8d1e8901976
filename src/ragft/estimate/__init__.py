"""Before the first job: how long a run will take on this machine and how much memory it needs.

The Snakefile's `onstart` handler prints it (a real run only: not a dry run, --lint, or a job that
a cluster runs). Each job's time is a small cost model of its inputs (pages, characters, chunks,
questions, training tokens, prompt tokens, model parameters) whose constants were measured on this
project's 2-core AMD EPYC (calibration.py), divided by this machine's speed: its CPU's one-core
matmul rate (0.2 s of numpy) over the calibration CPU's, times the part of it the run gets (the
lower of what the probe got and 1 / (1 + other work's load per CPU)). Jobs then share the cores as
Snakemake runs them: wall time = max(longest chain of jobs, CPU work / cores). Peak memory is the
largest job's (the QLoRA fine-tune's, on a CPU). It aims at a factor of 2 on a CPU, not a GPU.
Nothing here imports torch or reads a document's text.
"""

from ragft.estimate.run import Machine, estimate, format_estimate, measure_machine

__all__ = ["Machine", "estimate", "format_estimate", "measure_machine"]
