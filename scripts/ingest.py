from ragft.ingest.run import run_ingest
from ragft.logs import setup

if __name__ == "__main__":  # ingest's worker processes must not run this again
    log = setup(snakemake.log[0])
    manifest = run_ingest(
        snakemake.params.source,
        snakemake.output.docs,
        snakemake.output.rejected,
        snakemake.output.manifest,
        jsonl_fields=snakemake.params.jsonl_fields,
        threads=snakemake.threads,
        log=log,
        **snakemake.params.clean,
    )
    log.info("seen %d, accepted %d, rejected %d", manifest["items_seen"], manifest["accepted"], manifest["rejected"])
