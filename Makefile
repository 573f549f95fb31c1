# Hazina: `make run` starts the whole system, `make test` proves it. Both install what they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
VENV := .venv
SYNC_STAMP := $(VENV)/.synced
PY := $(VENV)/bin/python

.PHONY: help uv-installed install run replay verify lint secrets secrets-baseline fmt schemas caddyfile test e2e bench bench-ledger bench-c2b bench-c2b-hot bench-ussd clean

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'

uv-installed:
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet --disable-pip-version-check uv

$(SYNC_STAMP): uv.lock pyproject.toml $(wildcard libs/*/pyproject.toml services/*/pyproject.toml deploy/*/pyproject.toml simulators/pyproject.toml tests/e2e/pyproject.toml) | uv-installed
	$(UV) sync --locked --all-packages --all-extras
	@touch $(SYNC_STAMP)

install: $(SYNC_STAMP) ## install every package into .venv (uv, from the lock file)

run: $(SYNC_STAMP) ## start the whole system behind the front door on HAZINA_PORT (8000)
	exec $(PY) -m hazina_devstack run

replay: $(SYNC_STAMP) ## rebuild the ledger's read models of the system `make run` started (or DATABASE_URL), audit, compare
	@$(PY) -m hazina_devstack with-running -- $(VENV)/bin/hazina-ledger replay

verify: $(SYNC_STAMP) ## audit the ledger's books of the system `make run` started (or DATABASE_URL)
	@$(PY) -m hazina_devstack with-running -- $(VENV)/bin/hazina-ledger verify

lint: $(SYNC_STAMP) ## ruff, format check, import contracts, mypy, contract schemas, secrets
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	$(PY) -m hazina_contracts.schemas check
	@$(MAKE) --no-print-directory secrets

# Every file git tracks or would track (untracked but not ignored), scanned by detect-secrets
# against a copy of .secrets.baseline: a value not declared there fails (exit 1); the copy only
# keeps the hook from rewriting the committed baseline when known values merely moved lines.
secrets: $(SYNC_STAMP) ## fail on any secret-looking value not declared in .secrets.baseline
	@files=$$(git ls-files --cached --others --exclude-standard | while read -r f; do [ -f "$$f" ] && echo "$$f"; done); \
	baseline=$$(mktemp); cp .secrets.baseline "$$baseline"; \
	out=$$($(VENV)/bin/detect-secrets-hook --no-verify --baseline "$$baseline" $$files 2>&1); rc=$$?; rm -f "$$baseline"; \
	if [ $$rc -ne 0 ] && [ $$rc -ne 3 ]; then \
	  echo "$$out"; echo "detect-secrets: a secret-looking value above is not in .secrets.baseline. Remove it and use"; \
	  echo "an environment variable; if it is a simulator/test value, run 'make secrets-baseline', check"; \
	  echo "the new entry and commit the baseline (or mark the line '# pragma: allowlist secret')."; \
	  exit 1; fi; echo "detect-secrets: no undeclared secrets"

secrets-baseline: $(SYNC_STAMP) ## record the current simulator/test values in .secrets.baseline (review the diff!)
	$(VENV)/bin/detect-secrets scan --no-verify --baseline .secrets.baseline

fmt: $(SYNC_STAMP) ## format and fix what ruff can
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

schemas: $(SYNC_STAMP) ## write JSON Schemas for new event versions into libs/contracts/schemas
	$(PY) -m hazina_contracts.schemas export

caddyfile: $(SYNC_STAMP) ## regenerate deploy/Caddyfile from deploy/services.toml
	$(PY) -m hazina_devstack caddyfile > deploy/Caddyfile

# Two pytest workers, a test module each at a time (a package sharing one system stays whole,
# see conftest.py), handed out in testpaths' order (end-to-end first): most of a test's time is
# spent waiting on PostgreSQL, NATS and the system's processes, so two fill a 2-core machine.
# PYTEST_WORKERS=0 runs every test in one process.
PYTEST_WORKERS ?= 2

test: lint ## lint, then every unit, integration and e2e test against real PostgreSQL and NATS
	$(PY) -m hazina_devstack with-infra -- $(VENV)/bin/pytest -n $(PYTEST_WORKERS) --dist loadscope --no-loadscope-reorder $(PYTEST_ARGS)

test-%: $(SYNC_STAMP) ## one package's tests alone, e.g. make test-identity
	$(PY) -m hazina_devstack with-infra -- $(UV) run --package hazina-$* pytest $(if $(wildcard services/$*),services/$*,libs/$*)/tests

e2e: $(SYNC_STAMP) ## only the end-to-end tests through the front door
	$(PY) -m hazina_devstack with-infra -- $(VENV)/bin/pytest tests/e2e

bench: bench-ledger bench-c2b bench-ussd ## every benchmark (prints measured figures)

bench-ledger: $(SYNC_STAMP) ## ledger write path, replay and memory (issue 4)
	$(PY) -m hazina_devstack with-infra -- $(PY) bench/ledger_bench.py

bench-c2b: $(SYNC_STAMP) ## C2B confirmations through the front door (issue 5)
	$(PY) -m hazina_devstack with-infra -- $(PY) bench/c2b_bench.py

bench-c2b-hot: $(SYNC_STAMP) ## the same, every payment to one client's savings (one hot account; issue 12)
	$(PY) -m hazina_devstack with-infra -- $(PY) bench/c2b_bench.py --hot

bench-ussd: $(SYNC_STAMP) ## five-step USSD sessions at 64 concurrent through the front door (issue 13)
	$(PY) -m hazina_devstack with-infra -- $(PY) bench/ussd_bench.py

clean: ## remove local state (embedded databases, logs) and the virtualenv
	rm -rf .devstack $(VENV)
