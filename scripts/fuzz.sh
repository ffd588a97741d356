#!/usr/bin/env bash
# Coverage-guided fuzzing (docs/FUZZING.md): builds the libFuzzer targets of Fuzz/ (a package of its own, cached in
# Fuzz/.build, never part of the normal build) and runs each for SECONDS (default 60), one after the other.
# Fails on any crash, trap, hang (-timeout), out-of-memory (-rss_limit_mb, -malloc_limit_mb) or wrong answer the
# targets check for; the input that did it is left in Fuzz/.build/findings/.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]      TARGET: FuzzGGUF, FuzzRequests (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(FuzzGGUF FuzzRequests)
case "$seconds" in ''|*[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]" >&2; exit 2 ;; esac

build=(swift build --package-path Fuzz --scratch-path Fuzz/.build -Xswiftc -sanitize=fuzzer -Xswiftc -parse-as-library)
"${build[@]}"
bin="$("${build[@]}" --show-bin-path)"
mkdir -p Fuzz/.build/findings
cleanup() { rm -f /dev/shm/raconteur-fuzz-*; }
trap cleanup EXIT

for target in "${targets[@]}"; do
    case "$target" in
        FuzzGGUF) corpus=gguf; max_len=16384 ;;
        FuzzRequests) corpus=requests; max_len=8192 ;;
        *) echo "unknown target $target" >&2; exit 2 ;;
    esac
    # New inputs go to the scratch corpus; the committed seeds are only read.
    mkdir -p "Fuzz/.build/corpus/$corpus"
    echo "== $target for ${seconds}s"
    "$bin/$target" -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10 \
        -max_len="$max_len" -use_value_profile=1 -dict="Fuzz/$corpus.dict" -print_final_stats=1 \
        -artifact_prefix="Fuzz/.build/findings/$target-" \
        "Fuzz/.build/corpus/$corpus" "Fuzz/Corpus/$corpus"
done
