#!/usr/bin/env bash
# The whole test suite: set-up (idempotent), generated fixtures, Swift tests, Python tests.
# Tests that could not run (a model or fixture missing) are reported as skipped, never passed: the
# skips are listed at the end, and when CI=true any skip fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh --test
export OPENBLAS_NUM_THREADS=1   # numpy in the fixture scripts: small matrices on a shared machine
python3 Tests/Fixtures/make_fixtures.py
# llama.cpp's tokenizer test cases and chat templates, from the llama-cpp-python sdist on PyPI (hash-pinned).
python3 Tests/Fixtures/fetch_llamacpp_references.py
swift build --build-tests
mkdir -p .build
swift test --skip-build 2>&1 | tee .build/swift-test.log
grep -qE "Test run with [0-9]+ tests? .*passed" .build/swift-test.log
# Python tests, among them the real `raconteur serve` (the debug build above) driven by the official openai client.
# -rs lists every skipped test with its reason.
RACONTEUR_BIN="$(swift build --show-bin-path)/raconteur" python3 -m pytest -q -rs Tests/Python 2>&1 \
    | tee .build/python-test.log

./scripts/fuzz.sh 60   # libFuzzer on the GGUF reader and the request decoding, 60 s per target (docs/FUZZING.md)
./scripts/check-skips.sh .build/swift-test.log .build/python-test.log
