from ragft.finetune.trainer import train
from ragft.jsonl import read_jsonl, write_json
from ragft.logs import setup
from ragft.report.plots import loss_curve

log = setup(snakemake.log[0], snakemake.threads)
p = snakemake.params
summary = train(
    p.base, read_jsonl(snakemake.input.train), p.recipe, snakemake.output.adapter, snakemake.output.log,
    p.checkpoints, p.seed, log=log.info, trust_remote_code=p.trust_remote_code, tensorboard_dir=p.tensorboard,
)
loss_curve(read_jsonl(snakemake.output.log), snakemake.output.loss_curve, title=f"{snakemake.wildcards.recipe} on {snakemake.wildcards.corpus}")
summary["seed"] = p.seed  # replicate k of a recipe trains with seed + k - 1 (finetune.replicates)
write_json(snakemake.output.summary, summary)
log.info("trained: %s", summary)
