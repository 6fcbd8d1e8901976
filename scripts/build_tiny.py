from ragft.logs import setup
from ragft.models.tiny import build_tiny

log = setup(snakemake.log[0], snakemake.threads)
report = build_tiny(snakemake.output.model, snakemake.params.tiny, snakemake.params.seed, log=log.info)
log.info("builtin:tiny built: %s", report)
