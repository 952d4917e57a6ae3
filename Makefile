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

DEMO     ?= instances/demo
DEMO_OUT ?= out/demo
DEMO_DB  := $(DEMO_OUT)/fluxopt.db

# The demo starts a new year in a new ledger (it removes its own ledger file, nothing else):
# each batch replaces only the papers a demo batch published in its folder (the folder's
# marker lists them; --force because they come from the previous ledger); other files stay.
demo: $(STAMP) ## three monthly batches on the demo instance, simulated committee outcomes between them, then the annual bilan
	$(FLUXOPT) validate $(DEMO)
	rm -f $(DEMO_DB)
	@set -e; for month in 2026-01 2026-02 2026-03; do \
	  echo "== batch $$month"; \
	  $(FLUXOPT) batch $(DEMO) --month $$month --ledger $(DEMO_DB) --out $(DEMO_OUT)/$$month --time-limit 30 --force; \
	  $(FLUXOPT) outcomes simulate --month $$month --ledger $(DEMO_DB) --out $(DEMO_OUT)/$$month/outcomes-simulated.csv --seed 1; \
	  $(FLUXOPT) outcomes import $(DEMO_OUT)/$$month/outcomes-simulated.csv --ledger $(DEMO_DB); \
	done
	$(FLUXOPT) bilan --year 2026 --ledger $(DEMO_DB) --out $(DEMO_OUT)/bilan
	$(FLUXOPT) ledger info --ledger $(DEMO_DB)
	@echo "report of the last batch: $(DEMO_OUT)/2026-03/report.html (committee papers and notices beside it)"

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
