# The README's two commands: `make run` (set up, then one sample photo through the embedded
# local stack) and `make test` (set up, with the test tools, then the tests). Both work on a
# fresh machine.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
SAMPLE ?= samples/photos/ccp_1014.jpg

.PHONY: setup models tools run test test-all sizes

setup: $(VENV)/.installed models

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

models: $(VENV)/.installed
	$(BIN)/python scripts/fetch_models.py

# What the tests need beyond the venv:
# - aws-sam-cli in its own venv (its pins differ from the project's) for `sam validate` and
#   `sam build`; asl-validator from npm (statelint is a Ruby gem, not reachable here) in .tools/;
# - Debian's Chromium and playwright-core (pinned in tests/e2e/package-lock.json; no browser
#   download) for the browser test of the web page.
tools:
	[ -x .venv-sam/bin/sam ] || { $(PYTHON) -m venv .venv-sam && .venv-sam/bin/pip install --quiet aws-sam-cli==1.170.0; }
	[ -x .tools/node_modules/.bin/asl-validator ] || npm install --silent --no-audit --no-fund --prefix .tools asl-validator@4.0.0
	command -v chromium >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }
	[ -d tests/e2e/node_modules/playwright-core ] || npm ci --silent --no-audit --no-fund --prefix tests/e2e

run: setup
	$(BIN)/lookmatch run $(SAMPLE)

test: setup tools
	$(BIN)/pytest

test-all: setup tools
	$(BIN)/pytest -m ""

# sam build, then each Lambda function's unzipped size with its layers (fails over 250 MB).
sizes: setup tools
	$(BIN)/python scripts/lambda_sizes.py
