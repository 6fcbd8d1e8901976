"""Stage `ingest` (rules/ingest.smk): raw files to cleaned, deduplicated docs.jsonl, every item
accounted for. `run` is the stage (run_ingest); `sources` finds and reads the files; `readers`,
`formats`, `textnorm` parse and clean each format; `dedup` finds exact and near duplicates;
`squad` reads SQuAD-style JSON."""
