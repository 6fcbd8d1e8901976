# Two commands do all set-up on a fresh machine:
#   make demo   creates .venv, installs ragft and its pinned dependencies, runs the demo workflow
#   make test   creates .venv with the dev extras, runs the whole test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# Install without bytecode, then compile it on every core at once: faster than pip's one-by-one
# compile, and every workflow job then imports torch and transformers from bytecode, even where
# PYTHONDONTWRITEBYTECODE is set.
PIP    := $(PY) -m pip install --no-compile --disable-pip-version-check -q
COMPILE := $(PY) -m compileall -q -j 0 $(VENV)/lib >/dev/null || true
CORES  ?= all

.PHONY: demo test lint clean venv

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) -e .
	$(COMPILE)
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP) -e '.[dev]'
	$(COMPILE)
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
