# The two commands a newcomer needs are `make run` and `make test`; each bootstraps .venv itself.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.DEFAULT_GOAL := help
.PHONY: help install dev run migrate test check lint typecheck contract-check generate fuzz bench bench-cli sdd-check clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required (found %s); set PYTHON=python3.11" % sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed ## Install the runtime dependencies into .venv

dev: $(VENV)/.installed-dev ## Install runtime and development dependencies into .venv

migrate: install ## Apply database migrations (TASKAPI_DATABASE_URL, default: SQLite under var/)
	$(BIN)/python -m taskapi.migrations upgrade

run: migrate ## Serve the API on http://$(HOST):$(PORT) (Swagger UI at /docs)
	$(BIN)/uvicorn taskapi.main:create_app --factory --host $(HOST) --port $(PORT)

test: dev ## Run the whole test suite (PostgreSQL tests skip visibly without a server)
	$(BIN)/python -m pytest

lint: dev
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

typecheck: dev
	$(BIN)/mypy --strict src

contract-check: dev ## Validate the contract and fail if the generated models are stale
	$(BIN)/openapi-spec-validator openapi/openapi.yaml
	$(BIN)/datamodel-codegen --check

sdd-check: dev
	$(BIN)/sdd check

check: lint typecheck contract-check sdd-check ## ruff, mypy --strict, contract validation, model drift, sdd check

generate: dev ## Regenerate src/taskapi/contract/models.py from the contract
	$(BIN)/datamodel-codegen

fuzz: dev ## Fuzz a live server on loopback against the contract (JUnit report under var/)
	$(BIN)/python -m tests.contract.live_fuzz

bench: dev ## Measure API req/s and latency on a seeded throwaway database (JSON under var/bench/)
	$(BIN)/python tests/benchmarks/bench_api.py --output var/bench/api.json

bench-cli: dev ## Measure sdd start-up and command latency (JSON under var/bench/)
	$(BIN)/python tests/benchmarks/bench_cli.py --output var/bench/cli.json

clean: ## Remove the virtualenv and local state
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
