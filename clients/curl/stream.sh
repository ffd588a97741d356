#!/usr/bin/env bash
# A streamed chat completion: server-sent events, one `data:` line per chunk, ending with `data: [DONE]`.
set -euo pipefail
BASE="${RACONTEUR_BASE_URL:-http://127.0.0.1:8080/v1}"
curl -sS -N --fail-with-body "$BASE/chat/completions" \
    -H "Content-Type: application/json" \
    -H "Authorization: Bearer ${RACONTEUR_API_KEY:-none}" \
    -d '{"messages": [{"role": "user", "content": "Count to five."}], "max_tokens": 24, "temperature": 0, "stream": true}'
