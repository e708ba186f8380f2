# The two commands a newcomer needs are `make run` and `make test`; each bootstraps .venv itself.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.DEFAULT_GOAL := help
.PHONY: help install dev run migrate test check lint typecheck contract-check contract-lint contract-diff trace client-generator generate fuzz bench soak bench-tools bench-cli sdd-check clean

# Tools that are not Python dependencies of the project live inside .venv too, so `make clean`
# removes them and nothing is committed for them (no lock file, no registry address).
# Redocly CLI comes from npm and needs Node.js 20.19+ (or 22.12+).
REDOCLY_VERSION := 2.77.0
NODE_TOOLS := $(VENV)/node
REDOCLY := $(NODE_TOOLS)/node_modules/.bin/redocly
# openapi-python-client gets a virtualenv of its own, so its pins never meet the project's.
CLIENT_GENERATOR := openapi-python-client==0.29.1
CLIENT_GENERATOR_VENV := $(VENV)/tools/openapi-python-client

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
	$(BIN)/python -m taskapi.server --host $(HOST) --port $(PORT)

test: dev client-generator ## Run the whole test suite (PostgreSQL tests skip visibly without a server)
	$(BIN)/python -m pytest

lint: dev
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

typecheck: dev
	$(BIN)/mypy --strict src

contract-check: dev ## Validate the contract and fail if the generated models are stale
	$(BIN)/openapi-spec-validator openapi/openapi.yaml
	$(BIN)/datamodel-codegen --check

contract-lint: ## Lint the contract with Redocly CLI (rules: redocly.yaml; needs Node.js 20.19+)
	@if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 \
	    && node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 12) || (a === 20 && b >= 19) ? 0 : 1)'; then \
	    { [ -f $(NODE_TOOLS)/.redocly-$(REDOCLY_VERSION) ] || $(MAKE) --no-print-directory $(NODE_TOOLS)/.redocly-$(REDOCLY_VERSION); } \
	    && echo "redocly lint" && REDOCLY_SUPPRESS_UPDATE_NOTICE=true $(REDOCLY) lint; \
	else \
	    reason="contract-lint: Node.js 20.19+ or 22.12+ with npm is needed to lint the contract (found: $$(node --version 2>/dev/null || echo none))"; \
	    case "$${CI:-}" in ""|0|false) echo "$$reason; SKIPPED" >&2;; *) echo "$$reason; FAILED under CI" >&2; exit 1;; esac; \
	fi

$(NODE_TOOLS)/.redocly-$(REDOCLY_VERSION): | $(BIN)/python
	npm install --no-save --no-package-lock --no-audit --no-fund --loglevel=error --prefix $(NODE_TOOLS) @redocly/cli@$(REDOCLY_VERSION)
	@touch $@

client-generator: $(CLIENT_GENERATOR_VENV)/.installed ## Install openapi-python-client for the generated-client test

$(CLIENT_GENERATOR_VENV)/.installed: Makefile | $(BIN)/python
	$(PYTHON) -m venv $(CLIENT_GENERATOR_VENV)
	$(CLIENT_GENERATOR_VENV)/bin/python -m pip install --quiet --disable-pip-version-check $(CLIENT_GENERATOR)
	@touch $@

contract-diff: dev ## Fail on a breaking contract change since main's merge base (CONTRACT_BASE=REF to choose)
	$(BIN)/sdd contract diff $(if $(CONTRACT_BASE),--base $(CONTRACT_BASE))

sdd-check: dev
	$(BIN)/sdd check

check: lint typecheck contract-check contract-lint contract-diff sdd-check ## ruff, mypy --strict, contract validation and lint, model drift, breaking changes, sdd check

generate: dev ## Regenerate src/taskapi/contract/models.py from the contract
	$(BIN)/datamodel-codegen

fuzz: dev ## Fuzz a live server on loopback against the contract (JUnit report under var/)
	$(BIN)/python -m tests.contract.live_fuzz

trace: dev ## Write the traceability page (requirements, operations, handlers, tests, fuzzing) to var/trace.html
	$(BIN)/sdd trace --html var/trace.html

bench: dev bench-tools ## API reads as ratios to a raw ceiling run beside them, direct and via PgBouncer (var/bench/api.json)
	$(BIN)/python -m tests.benchmarks.bench_api --output var/bench/api.json $(BENCH_ARGS)
	$(BIN)/python -m tests.benchmarks.bench_abuse --output var/bench/abuse.json

soak: dev bench-tools ## 10 min of mixed load on two servers, then a database outage through a proxy (var/bench/soak.json)
	$(BIN)/python -m tests.benchmarks.soak --output var/bench/soak.json $(SOAK_ARGS)

# wrk drives the load; pgbouncer is the pooler measured and tested. Debian packages.
bench-tools:
	@command -v wrk >/dev/null && command -v pgbouncer >/dev/null || { \
		echo "installing wrk and pgbouncer (Debian packages)"; \
		apt-get install -y -qq wrk pgbouncer >/dev/null 2>&1 || \
		{ apt-get update -qq && apt-get install -y -qq wrk pgbouncer; }; }

bench-cli: dev ## Measure sdd start-up and command latency (JSON under var/bench/)
	$(BIN)/python tests/benchmarks/bench_cli.py --output var/bench/cli.json

clean: ## Remove the virtualenv and local state
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
