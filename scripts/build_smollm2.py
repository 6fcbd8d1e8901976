from ragft.logs import setup
from ragft.models.smollm2 import build_smollm2

log = setup(snakemake.log[0])
report = build_smollm2(snakemake.output.model, log=log.info)
log.info("builtin:smollm2 built: %s", report)
