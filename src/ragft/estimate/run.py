"""The estimate of a whole run: its jobs (those Snakemake will run), wall time as the jobs share the
cores, peak memory, and the block of lines the workflow prints before its first job."""

from __future__ import annotations

import os
import time
from typing import NamedTuple

from ragft.estimate.calibration import JOB_MB, REF_GFLOPS, REPORT_S
from ragft.estimate.documents import corpus_inputs
from ragft.estimate.jobs import (
    Job,
    build_jobs,
    model_facts,
    model_jobs,
    prep_jobs,
    prompt_tokens,
    recipe_plans,
)


class Machine(NamedTuple):
    """What this machine offers a run now: one core's float32 matmul rate over a short probe and at
    its fastest single multiplication (the CPU itself), and other work's load, runnable threads per
    CPU over the last minute."""

    now: float
    best: float
    load: float

    @property
    def share(self) -> float:
        """The part of the CPU a run gets: the lower of the probe's part and what the load leaves
        (a run's threads and the others' share the cores: 1 / (1 + load))."""
        return min(1.0, self.now / self.best, 1 / (1 + self.load))

    @property
    def speed(self) -> float:
        """Times on the calibration machine over this: its CPU's speed times the run's share."""
        return self.best / REF_GFLOPS * self.share


def measure_machine(seconds: float = 0.2) -> Machine:
    """Time float32 256 x 256 matmuls (numpy) on one core for about `seconds`, and read the load
    average: one core, because each job's threads are fixed by its rule."""
    import numpy as np

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn, which sentence-transformers needs, brings it
        from contextlib import nullcontext as threadpool_limits
    n = 256
    a, b = np.ones((n, n), np.float32), np.ones((n, n), np.float32)
    flop, best, reps = 2 * n**3, 0.0, 0
    with threadpool_limits(1):
        a @ b
        start = time.perf_counter()
        while (now := time.perf_counter()) - start < seconds:
            a @ b
            best = max(best, flop / (time.perf_counter() - now))
            reps += 1
        rate = flop * reps / (time.perf_counter() - start)
    load = os.getloadavg()[0] / (os.cpu_count() or 1) if hasattr(os, "getloadavg") else 0.0
    return Machine(rate / 1e9, best / 1e9, load)


# Which rules wait for which (per corpus; `build` is every model build): the longest chain of these
# is the least wall time whatever the cores.
DEPENDS = {"chunk": ["ingest"], "generate_qa": ["chunk"], "split_qa": ["ingest", "generate_qa"],
           "embed_backend": ["chunk"], "embed": ["embed_backend", "chunk"], "index_dense": ["embed"],
           "index_bm25": ["chunk"], "hybrid_weights": ["index_dense", "index_bm25", "split_qa"],
           "retrieval_eval": ["hybrid_weights"], "report_retrieval": ["retrieval_eval"],
           "finetune_data": ["index_dense", "split_qa", "build"], "finetune": ["finetune_data"],
           "evaluate": ["finetune", "hybrid_weights", "build"], "judge": ["evaluate"],
           "report": ["evaluate", "judge"], "review_sheet": ["evaluate"]}


def wall_seconds(jobs: list[Job], cores: int) -> dict:
    """Wall time as Snakemake shares `cores` among the jobs: at least the longest chain of
    dependent jobs, at least their CPU work spread over all cores. A job asking for more threads
    than there are cores gets them all and runs that much slower."""
    cores = max(1, cores)
    took = [(j, j.seconds * max(1.0, j.threads / cores)) for j in jobs]
    work = sum(d * min(j.threads, cores) for j, d in took)
    build = max((d for j, d in took if j.rule.startswith("build_")), default=0.0)
    chain = build
    for corpus in {j.corpus for j in jobs if j.corpus}:
        longest = {rule: max(d for j, d in took if j.corpus == corpus and j.rule == rule) for rule in
                   {j.rule for j in jobs if j.corpus == corpus}}
        done: dict[str, float] = {"build": build}

        def finish(rule: str) -> float:
            if rule not in done:
                done[rule] = max((finish(r) for r in DEPENDS.get(rule, [])), default=0.0) + longest.get(rule, 0.0)
            return done[rule]

        chain = max(chain, *(finish(rule) for rule in longest))
    return {"wall_s": max(chain, work / cores), "work_s": work, "chain_s": chain}


def estimate(config: dict, cores: int, machine: Machine, planned: set | None = None) -> dict:
    """The run's inputs, its jobs (only those in `planned`, as (rule, corpus, name), when given:
    what Snakemake will run), wall time and peak memory with `cores` cores of `machine`. `config`
    is validated (schema defaults filled in)."""
    model = model_facts(config["model"]["base"])
    inputs = {c: corpus_inputs(config, c) for c in config["corpora"]}
    recipes = {c: recipe_plans(config, inputs[c]) for c in config["corpora"]}
    jobs = build_jobs(config)
    for c in config["corpora"]:
        jobs += prep_jobs(config, c, inputs[c]) + model_jobs(config, c, inputs[c], model, recipes[c])
    if len(config["corpora"]) > 1:
        jobs.append(Job("report_corpora", "", "", REPORT_S, 1, JOB_MB["report_corpora"]))
    if planned is not None:
        jobs = [j for j in jobs if (j.rule, j.corpus, j.name) in planned]
    jobs = [j._replace(seconds=j.seconds / machine.speed) for j in jobs]
    peak = max(jobs, key=lambda j: j.mem_mb, default=Job("", "", "", 0.0, 1, 0.0))
    prompts = {c: {name: prompt_tokens(system, config, inputs[c]["questions"]["source"])
                   for name, system in config["systems"].items()} for c in config["corpora"]}
    return {"cores": cores, "machine": machine, "model": model,
            "inputs": inputs, "recipes": recipes, "prompt_tokens": prompts, "replicates": config["finetune"]["replicates"],
            "jobs": jobs, **wall_seconds(jobs, cores), "peak_mb": peak.mem_mb,
            "peak_job": f"{peak.rule}[{peak.name}]" if peak.name else peak.rule}


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def _size(n: float) -> str:
    for unit, scale in (("GB", 2**30), ("MB", 2**20), ("KB", 2**10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n:.0f} B"


def _count(jobs: list[Job], rule: str, corpus: str) -> str:
    n = sum(j.rule == rule and j.corpus == corpus for j in jobs)
    return f"{n} job{'s' if n != 1 else ''} to run"


def format_estimate(est: dict) -> str:
    """The estimate as a block of lines: the headline, each input, and the time by rule."""
    jobs = est["jobs"]
    lines = [f"ragft estimate (this machine, {est['cores']} cores): ~{_duration(est['wall_s'])}, peak memory "
             f"~{est['peak_mb'] / 1024:.1f} GB ({est['peak_job']})"]
    for corpus, inp in est["inputs"].items():
        formats = ", ".join(f"{f['files']} {fmt} ({_size(f['bytes'])}" + (f", {f['pages']} pages)" if "pages" in f else ")")
                            for fmt, f in sorted(inp["formats"].items()))
        q = inp["questions"]
        lines += [f"  documents   {corpus}: {inp['files']} files: {formats}; ~{inp['chars']:,} characters, "
                  f"~{inp['chunks']:,} chunks",
                  f"  questions   {corpus}: ~{q['total']:,} {q['source']}, {q['eval']} for evaluation, {q['train']:,} for training"]
        for name, plan in est["recipes"][corpus].items():
            r = plan["recipe"]
            lines.append(f"  training    {corpus}/{name}: {plan['steps']} steps x {r['batch_size'] * r['grad_accum']} x "
                         f"{r['max_length']} tokens = {plan['slots']:,} at most (~{plan['tokens']:,} padded) x "
                         f"{est['replicates']} replicate(s); {_count(jobs, 'finetune', corpus)}")
        tokens = est["prompt_tokens"][corpus]
        lines.append(f"  evaluation  {corpus}: {q['eval']} questions x {len(tokens)} systems x {min(tokens.values())}-"
                     f"{max(tokens.values())} prompt tokens = {q['eval'] * sum(tokens.values()):,} prompt tokens; "
                     f"{_count(jobs, 'evaluate', corpus)}")
    m = est["model"]
    lines.append(f"  model       {m['spec']}: {m['params'] / 1e6:.1f}M parameters, {m['weights_mb']:,.0f} MB in float32")
    by_rule: dict[str, list[float]] = {}
    for j in jobs:
        by_rule.setdefault(j.rule, []).append(j.seconds)
    parts = [f"{rule} {_duration(t[0])}" if len(t) == 1 else f"{rule} {len(t)} x {_duration(sum(t) / len(t))}"
             for rule, t in sorted(by_rule.items(), key=lambda kv: -sum(kv[1]))]
    lines.append("  time        " + ", ".join(parts))
    lines.append(f"              CPU work {_duration(est['work_s'])} shared by {est['cores']} cores; the longest chain "
                 f"of jobs {_duration(est['chain_s'])}")
    cpu = est["machine"]
    lines.append(f"  machine     one core's matmul {cpu.now:.0f} GFLOP/s now, {cpu.best:.0f} at best; other work's load "
                 f"{cpu.load:.1f} per CPU: this run gets ~{cpu.share:.0%} of it; times are the calibration CPU's "
                 f"(2-core AMD EPYC, {REF_GFLOPS:.0f} at best) / {cpu.speed:.2f}. A rough guide, within about 2x "
                 f"on a CPU; not for a GPU")
    return "\n".join(lines)
