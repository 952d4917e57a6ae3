# fluxopt — every target creates the virtual environment when it is missing.
VENV    ?= .venv
PYTHON  ?= python3
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed-stamp
FLUXOPT := $(VENV)/bin/fluxopt

.PHONY: demo test lint bench env clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

env: $(STAMP) ## create .venv and install fluxopt with its development tools

demo: $(STAMP) ## validate and summarise the bundled demo instance
	$(FLUXOPT) validate instances/demo
	$(FLUXOPT) summary instances/demo

lint: $(STAMP) ## ruff (lint + format check) and mypy
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy

test: $(STAMP) lint ## lint, then the whole test suite (benchmarks only as smoke runs)
	$(PY) -m pytest -q

bench: $(STAMP) ## the full benchmark suite; rewrites benchmarks/RESULTS.md
	$(PY) -m benchmarks.run

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .benchmarks
