# The README's two commands: `make run` (set up, then one sample photo through the embedded
# local stack) and `make test` (set up, then the tests). Both work on a fresh machine.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
SAMPLE ?= samples/photos/ccp_1065.jpg

.PHONY: setup models run test test-all

setup: $(VENV)/.installed models

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

models: $(VENV)/.installed
	$(BIN)/python scripts/fetch_models.py

run: setup
	$(BIN)/lookmatch run $(SAMPLE)

test: setup
	$(BIN)/pytest

test-all: setup
	$(BIN)/pytest -m ""
