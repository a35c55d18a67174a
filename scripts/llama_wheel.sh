#!/usr/bin/env bash
# Install llama-cpp-python into a virtual environment from a wheel built once per machine.
#
# llama-cpp-python ships as source and compiles llama.cpp (about 4 minutes on 2 cores), so the
# wheel is built into a cache folder outside the repository and every later install (a fresh
# clone, a recreated .venv, CI) reuses it. Usage: scripts/llama_wheel.sh [PYTHON]
set -euo pipefail

PYTHON="${1:-.venv/bin/python}"
VERSION="${LLAMA_CPP_VERSION:-0.3.36}"
CACHE="${DIGEST_QA_WHEELS:-${XDG_CACHE_HOME:-$HOME/.cache}/digest-qa/wheels}"

mkdir -p "$CACHE"
if ! ls "$CACHE"/llama_cpp_python-"$VERSION"-*.whl >/dev/null 2>&1; then
    echo "building llama-cpp-python $VERSION once into $CACHE (a few minutes)" >&2
    # Portable CPU build: no -march=native, so the cached wheel runs on any x86-64 machine.
    CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
        "$PYTHON" -m pip wheel --no-deps --wheel-dir "$CACHE" "llama-cpp-python==$VERSION"
fi
"$PYTHON" -m pip install --quiet --find-links "$CACHE" "llama-cpp-python[server]==$VERSION"
