#!/usr/bin/env bash
# Lists the tests that did not run, from the logs of `swift test` and `pytest -rs`, and fails when
# CI=true and there is any: in CI a missing model or fixture must not pass as a green run.
#
#     scripts/check-skips.sh SWIFT_TEST_LOG PYTEST_LOG
#
# Swift Testing prints one line per skipped test or suite, `➜ Test name() skipped.` or
# `➜ Suite Name skipped: "reason"` (the tests of a skipped suite are listed one by one too: those are
# counted, and a skipped suite counts even if none of its tests is listed); pytest's last line counts its skips (`38 passed, 2 skipped in 9.81s`) and -rs
# lists them as `SKIPPED [1] file:line: reason`.
set -euo pipefail
swift_log=$1
python_log=$2

skipped_line='^[^ ]+ (Test|Suite) .+ skipped(\.|: ".*")$'
swift_skips=$(grep -E "$skipped_line" "$swift_log" | grep -cE '^[^ ]+ Test ' || true)
swift_suites=$(grep -E "$skipped_line" "$swift_log" | grep -cE '^[^ ]+ Suite ' || true)
python_summary=$(sed 's/\x1b\[[0-9;]*m//g' "$python_log" | grep -E '[0-9]+ (passed|failed|skipped|errors?|deselected)' | tail -n 1 || true)
python_skips=$(grep -oE '[0-9]+ skipped' <<<"$python_summary" | grep -oE '[0-9]+' || true)
python_skips=${python_skips:-0}

if [ "$swift_skips" -eq 0 ] && [ "$swift_suites" -eq 0 ] && [ "$python_skips" -eq 0 ]; then
    echo "No test was skipped."
    exit 0
fi
echo
echo "Skipped: $swift_skips Swift test(s) (and $swift_suites whole suite(s)), $python_skips Python test(s):"
grep -E "$skipped_line" "$swift_log" || true
sed 's/\x1b\[[0-9;]*m//g' "$python_log" | grep -E '^SKIPPED' || true
if [ "${CI:-}" = "true" ]; then
    echo "CI=true: skipped tests fail the run (scripts/setup.sh fetches the models; Tests/Fixtures/make_fixtures.py makes the fixtures)." >&2
    exit 1
fi
