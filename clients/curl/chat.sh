#!/usr/bin/env bash
# A chat completion with the model's chat template.
set -euo pipefail
BASE="${RACONTEUR_BASE_URL:-http://127.0.0.1:8080/v1}"
curl -sS --fail-with-body "$BASE/chat/completions" \
    -H "Content-Type: application/json" \
    -H "Authorization: Bearer ${RACONTEUR_API_KEY:-none}" \
    -d '{"messages": [{"role": "user", "content": "Name three rivers."}], "max_tokens": 32, "temperature": 0}'
echo
