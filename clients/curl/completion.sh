#!/usr/bin/env bash
# A text completion. RACONTEUR_BASE_URL and RACONTEUR_API_KEY say where the server is.
set -euo pipefail
BASE="${RACONTEUR_BASE_URL:-http://127.0.0.1:8080/v1}"
curl -sS --fail-with-body "$BASE/completions" \
    -H "Content-Type: application/json" \
    -H "Authorization: Bearer ${RACONTEUR_API_KEY:-none}" \
    -d '{"prompt": "The three primary colours are", "max_tokens": 16, "temperature": 0}'
echo
