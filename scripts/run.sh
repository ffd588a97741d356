#!/usr/bin/env bash
# Builds Raconteur (release) and serves the default model (SmolLM2) on http://127.0.0.1:8080 with the
# settings of configs/raconteur.toml. Extra arguments go to `raconteur serve` (for example --port 9000).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
swift build -c release --product raconteur
exec .build/release/raconteur serve --model models/SmolLM2-135M-Instruct.Q4_1.gguf "$@"
