#!/usr/bin/env bash
# Builds Raconteur (release) and runs it on the default model. Extra arguments go to the command.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
swift build -c release --product raconteur
exec .build/release/raconteur generate --model models/SmolLM2-135M-Instruct.Q4_1.gguf \
    --prompt "${RACONTEUR_PROMPT:-<|im_start|>user
Write a haiku about the sea.<|im_end|>
<|im_start|>assistant
}" --max-tokens 64 "$@"
