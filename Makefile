# The README's two commands: `make demo` and `make test`. Everything else is their plumbing.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install test test-sqlite test-postgres lint demo bench dist clean

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

test-sqlite: install
	bash scripts/test.sh sqlite

test-postgres: install
	bash scripts/test.sh postgres

lint: install
	$(BIN)/ruff check airflow_webhook_trigger tests bench dags_examples
	$(BIN)/ruff format --check airflow_webhook_trigger tests bench dags_examples
	$(BIN)/mypy

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
	rm -rf $(VENV) .demo build dist *.egg-info
