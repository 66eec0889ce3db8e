# The README's two commands: `make demo` and `make test`. Everything else is their plumbing.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install test unit test-sqlite test-postgres lint demo bench dist clean ui ui-check screenshots

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	# the build leaves an egg-info here; with the repo on sys.path Airflow would load the plugin twice
	rm -rf airflow_webhook_trigger.egg-info
	touch $@

install: $(BIN)/.installed

## Run the whole suite on SQLite, then on PostgreSQL (127.0.0.1:5432), plus lint and types.
test: install
	bash scripts/test.sh

## The developer's loop (~40 s): the tests that need no Airflow, no database server and no browser.
unit: install
	$(BIN)/python -m pytest -q -m "not airflow and not e2e and not browser and not fault and not demo"

test-sqlite: install
	bash scripts/test.sh sqlite

test-postgres: install
	bash scripts/test.sh postgres

lint: install
	$(BIN)/ruff check airflow_webhook_trigger tests bench dags_examples
	$(BIN)/ruff format --check airflow_webhook_trigger tests bench dags_examples
	$(BIN)/mypy

## The Webhooks page: ui/ (TypeScript, React, Chakra) built into the package, which ships it
## built, so installing needs no Node. Building it needs Node 20 and npm.
ui/node_modules/.installed: ui/package-lock.json
	cd ui && npm ci --no-audit --no-fund --loglevel=error
	touch $@

ui: ui/node_modules/.installed
	cd ui && npm run --silent build

## What CI checks: the committed bundle is what the sources build; the component tests pass.
ui-check: ui
	git diff --exit-code --stat -- airflow_webhook_trigger/web/ui/webhooks.js || \
	  { echo "airflow_webhook_trigger/web/ui/webhooks.js differs from what ui/ builds: run make ui and commit it" >&2; exit 1; }
	cd ui && npm run --silent test

## The README's pictures, from the browser tests against a real api-server.
screenshots: install
	WEBHOOK_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest -q -m browser -p no:cacheprovider tests/web/test_browser.py

## Set everything up and run Airflow on SQLite with the example DAGs and webhooks.
demo: install
	bash scripts/demo.sh

bench: install
	$(BIN)/python bench/parse.py

## Build the wheel into dist/ (the package is not on PyPI yet: pip install dist/*.whl).
dist: install
	rm -rf dist
	$(BIN)/pip wheel --no-deps -q -w dist .
	rm -rf build airflow_webhook_trigger.egg-info

clean:
	rm -rf $(VENV) .demo build dist *.egg-info ui/node_modules
