# Two commands for a newcomer: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# `make run` needs the runtime only; `make test` the dev extras too.
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev

# `make run ARGS="--allow-networks 127.0.0.0/8"`: options for `hookflow up`.
ARGS ?=

.PHONY: run test lint types pytest clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUN_STAMP)

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(DEV_STAMP)

run: $(RUN_STAMP)
	$(BIN)/hookflow up $(ARGS)

test: $(DEV_STAMP) lint types pytest

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(DEV_STAMP)
	$(BIN)/mypy

# Starts PostgreSQL when none answers and gets Chromium when missing (scripts/test_services.py).
pytest: $(DEV_STAMP)
	$(BIN)/python scripts/test_services.py $(BIN)/pytest

clean:
	rm -rf $(VENV) .hookflow .pytest_cache .mypy_cache .ruff_cache
