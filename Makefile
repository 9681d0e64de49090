# Two commands set up a fresh machine: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
CONSTRAINTS := constraints/py311.txt
STAMP := $(VENV)/.basin-installed
EXAMPLE := examples/reference
SCALE ?= 0.01
# Three workers (pytest-xdist) on 2 cores: many tests wait on servers (Airflow, Superset,
# PostgreSQL) more than they compute; the suite is safe in parallel. One test at a time
# per worker, the longest first (tests/conftest.py HEAVY): no long test runs alone at the end.
PYTEST_ARGS ?= -n 3 --maxschedchunk 1 --durations=15

.PHONY: help install web-assets run test lint format docs constraints clean

help:
	@echo "make run    install Basin, generate the reference platform's sources and run it end to end"
	@echo "make test   install what the tests need and run the whole suite"
	@echo "make docs   serve the documentation site on http://127.0.0.1:8000"
	@echo "make lint   ruff check, format check, the import layers (lint-imports) and types (mypy)"

$(STAMP): pyproject.toml $(CONSTRAINTS)
	@test -n "$(PYTHON)" || { echo "error: python3.11 not found"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python scripts/vendor_web_assets.py
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP) web-assets

# The web UI's browser files, from npm packages pinned in src/basin/web/assets.json
# (the wheel build does the same); nothing to do when they are there.
web-assets: $(STAMP)
	$(BIN)/python scripts/vendor_web_assets.py

run: install
	$(BIN)/python $(EXAMPLE)/generator.py --scale $(SCALE)
	$(BIN)/basin --project $(EXAMPLE) run
	$(BIN)/basin --project $(EXAMPLE) status

# Lint (≈ 40 s of mypy on a fresh checkout) runs beside the suite, its report after the
# tests'; either failing fails `make test`.
test: install
	bash scripts/ensure-services.sh
	@log=$$(mktemp); $(MAKE) --no-print-directory lint > $$log 2>&1 & lint=$$!; \
	$(BIN)/python -m pytest $(PYTEST_ARGS); tests=$$?; \
	wait $$lint; linted=$$?; echo "--- make lint (ran beside the tests)"; cat $$log; rm -f $$log; \
	if [ $$linted -ne 0 ]; then echo "make lint failed (exit $$linted)"; fi; \
	[ $$tests -eq 0 ] && [ $$linted -eq 0 ]

lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts setup.py
	$(BIN)/ruff format --check src tests bench scripts setup.py
	$(BIN)/lint-imports
	$(BIN)/mypy

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve -a 127.0.0.1:8000

format: $(STAMP)
	$(BIN)/ruff format src tests bench scripts setup.py
	$(BIN)/ruff check --fix src tests bench scripts setup.py

# Re-pin after changing dependencies in pyproject.toml.
constraints: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e ' > $(CONSTRAINTS)

clean:
	rm -rf $(VENV) $(EXAMPLE)/.basin $(EXAMPLE)/drops .pytest_cache
