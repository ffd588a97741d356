#!/usr/bin/env bash
# Installs what Raconteur needs on a fresh Debian machine and skips what is already there:
# Debian packages, the Python test packages, and the models (verified by SHA-256).
#
#   scripts/setup.sh           the default model only (what ./scripts/run.sh serves)
#   scripts/setup.sh --test    every model of the catalogue (models/manifest.json), which the tests compare with
#                              llama.cpp (SmolLM2, Gemma 3, Qwen2.5-Coder)
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
apt_packages=(libopenblas-dev libssl-dev libsqlite3-dev)
# The console's browser tests drive Debian's headless Chromium through its chromedriver.
# The store tests run their own PostgreSQL server (Tests/FeedbackTests/PostgresTestServer.swift; docs/STORE.md).
if [ "${1:-}" = "--test" ]; then apt_packages+=(chromium chromium-driver postgresql); fi
for pkg in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "installing Debian packages: ${need_apt[*]}"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! python3 -c 'import gguf, numpy, openai, pytest, jinja2, selenium, jsonschema' 2>/dev/null; then
    echo "installing Python test packages"
    python3 -m pip install -q --disable-pip-version-check -r clients/python/requirements.txt
fi

# The API fuzzer the tests run against a live server (Tests/Python/test_schemathesis.py), for the test command only.
if [ "${1:-}" = "--test" ] && ! python3 -c 'import schemathesis' 2>/dev/null; then
    echo "installing schemathesis"
    python3 -m pip install -q --disable-pip-version-check schemathesis==4.32.5
fi

if [ "${1:-}" = "--test" ]; then
    python3 models/fetch.py
else
    python3 models/fetch.py --default
fi
