# Two commands do all set-up on a fresh machine:
#   make demo   creates .venv, installs ragft and its pinned dependencies, runs the demo workflow
#   make test   creates .venv with the dev extras, runs the whole test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# --no-compile: bytecode is written on first import anyway; compiling all of torch and
# transformers up front costs about a minute of install time.
PIP    := $(PY) -m pip install --no-compile --disable-pip-version-check -q
CORES  ?= all

.PHONY: demo test lint clean venv

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP) -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

demo: $(VENV)/.installed
	$(VENV)/bin/snakemake --cores $(CORES)

test: $(VENV)/.installed-dev
	$(VENV)/bin/pytest

lint: $(VENV)/.installed
	$(VENV)/bin/snakemake --lint

clean:
	rm -rf results logs benchmarks/rules .snakemake
