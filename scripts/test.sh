#!/usr/bin/env bash
# The whole test suite: set-up (idempotent), generated fixtures, Swift tests, Python integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
python3 Tests/Fixtures/make_fixtures.py
swift build --build-tests
swift test --skip-build 2>&1 | tee .build/swift-test.log
grep -qE "Test run with [0-9]+ tests? .*passed|Executed [0-9]+ tests?, with 0 failures" .build/swift-test.log
# Integration tests: the real `raconteur serve` (the debug build above) driven by the official openai client.
RACONTEUR_BIN="$(swift build --show-bin-path)/raconteur" python3 -m pytest -q Tests/Python
