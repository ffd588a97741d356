#!/usr/bin/env bash
# Sets up llama.cpp for the side-by-side benchmarks, outside the repository:
#   1. a virtualenv with llama-cpp-python (compare_llamacpp.py runs under its python);
#   2. llama.cpp's own tools, llama-server (serving), llama-bench (warm prompt and generation speed)
#      and llama-perplexity, built from the vendored llama.cpp inside the llama-cpp-python sdist from
#      PyPI (same llama.cpp revision as the Python binding).
# Each step is skipped when its result is already present. Everything comes from PyPI.
#
# Environment:
#   RACONTEUR_BENCH_VENV    venv path        (default ~/.cache/raconteur/llama-venv)
#   RACONTEUR_LLAMA_SERVER  tools build dir (default ~/.cache/raconteur/llama-server; binaries in bin/)
#   LLAMA_CPP_VERSION       llama-cpp-python version (default 0.3.36)
#   JOBS                    parallel compile jobs (default 2)
# Options: --venv-only | --server-only
set -euo pipefail

VERSION="${LLAMA_CPP_VERSION:-0.3.36}"
VENV="${RACONTEUR_BENCH_VENV:-$HOME/.cache/raconteur/llama-venv}"
SERVER_DIR="${RACONTEUR_LLAMA_SERVER:-$HOME/.cache/raconteur/llama-server}"
JOBS="${JOBS:-2}"
DO_VENV=1; DO_SERVER=1
case "${1:-}" in
  --venv-only) DO_SERVER=0 ;;
  --server-only) DO_VENV=0 ;;
  "") ;;
  *) echo "usage: $0 [--venv-only|--server-only]" >&2; exit 2 ;;
esac

log() { echo "[setup_llamacpp] $*" >&2; }

ensure_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating venv $VENV"
    python3 -m venv "$VENV"
  fi
}

# --- 1. llama-cpp-python --------------------------------------------------------------------
if [ "$DO_VENV" = 1 ]; then
  ensure_venv
  have="$("$VENV/bin/python" -c 'import llama_cpp; print(llama_cpp.__version__)' 2>/dev/null || true)"
  if [ "$have" = "$VERSION" ]; then
    log "llama-cpp-python $VERSION already in $VENV"
  else
    log "building llama-cpp-python==$VERSION from source into $VENV (several minutes on 2 cores)"
    CMAKE_ARGS="-DGGML_NATIVE=ON" CMAKE_BUILD_PARALLEL_LEVEL="$JOBS" \
      "$VENV/bin/pip" install --no-binary llama-cpp-python "llama-cpp-python==$VERSION"
  fi
fi

# --- 2. llama.cpp tools -----------------------------------------------------------------------
if [ "$DO_SERVER" = 1 ]; then
  TOOLS="llama-server llama-bench llama-perplexity"
  missing=""
  for tool in $TOOLS; do
    [ -x "$SERVER_DIR/bin/$tool" ] || missing="$missing $tool"
  done
  if [ -z "$missing" ]; then
    log "llama.cpp tools already built in $SERVER_DIR/bin"
    exit 0
  fi
  ensure_venv
  CMAKE="$(command -v cmake || true)"
  if [ -z "$CMAKE" ]; then
    if [ ! -x "$VENV/bin/cmake" ]; then
      log "no cmake on PATH: installing the cmake package from PyPI into $VENV"
      "$VENV/bin/pip" install cmake
    fi
    CMAKE="$VENV/bin/cmake"
  fi
  mkdir -p "$SERVER_DIR"
  SRC="$SERVER_DIR/src"
  if [ ! -f "$SRC/vendor/llama.cpp/CMakeLists.txt" ]; then
    log "downloading the llama-cpp-python==$VERSION sdist"
    dl="$(mktemp -d)"
    # --no-binary for this package only: ':all:' would also build every one of pip's build
    # dependencies (scikit-build-core, hatchling, setuptools, ...) from source, recursively.
    "$VENV/bin/pip" download --no-deps --no-binary llama-cpp-python -d "$dl" "llama-cpp-python==$VERSION"
    rm -rf "$SRC"; mkdir -p "$SRC"
    tar -xzf "$dl"/llama_cpp_python-"$VERSION".tar.gz -C "$SRC" --strip-components=1
    rm -rf "$dl"
  fi
  log "configuring llama.cpp (vendored in the sdist)"
  "$CMAKE" -S "$SRC/vendor/llama.cpp" -B "$SERVER_DIR/build" \
    -DCMAKE_BUILD_TYPE=Release -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_EXAMPLES=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_TOOLS=ON -DGGML_NATIVE=ON -DLLAMA_CURL=OFF \
    -DBUILD_SHARED_LIBS=OFF
  log "building$missing with -j$JOBS"
  # shellcheck disable=SC2086
  "$CMAKE" --build "$SERVER_DIR/build" --target $missing -j "$JOBS"
  mkdir -p "$SERVER_DIR/bin"
  for tool in $missing; do
    built="$(find "$SERVER_DIR/build" -type f -name "$tool" -perm -u+x | head -n1)"
    [ -n "$built" ] || { log "$tool not found after the build"; exit 1; }
    cp "$built" "$SERVER_DIR/bin/$tool"
  done
  "$SERVER_DIR/bin/llama-server" --version >&2 || true
  log "llama.cpp tools ready in $SERVER_DIR/bin"
fi
