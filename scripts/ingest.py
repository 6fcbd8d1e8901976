from ragft.ingest import run_ingest
from ragft.logs import setup

log = setup(snakemake.log[0])
manifest = run_ingest(
    snakemake.params.source,
    snakemake.output.docs,
    snakemake.output.rejected,
    snakemake.output.manifest,
    jsonl_fields=snakemake.params.jsonl_fields,
    min_chars=snakemake.params.min_chars,
    threads=snakemake.threads,
    log=log,
)
log.info("seen %d, accepted %d, rejected %d", manifest["items_seen"], manifest["accepted"], manifest["rejected"])
