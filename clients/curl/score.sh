#!/usr/bin/env bash
# Scores a text without generating: echo + logprobs + max_tokens 0 returns log p of every prompt token.
set -euo pipefail
BASE="${RACONTEUR_BASE_URL:-http://127.0.0.1:8080/v1}"
curl -sS --fail-with-body "$BASE/completions" \
    -H "Content-Type: application/json" \
    -H "Authorization: Bearer ${RACONTEUR_API_KEY:-none}" \
    -d '{"prompt": "The cat sat on the mat.", "max_tokens": 0, "echo": true, "logprobs": 1}'
echo
