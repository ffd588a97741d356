#!/usr/bin/env bash
# The served model, health (503 while loading, 200 after) and Prometheus metrics.
set -euo pipefail
BASE="${RACONTEUR_BASE_URL:-http://127.0.0.1:8080/v1}"
ROOT="${BASE%/v1}"
curl -sS --fail-with-body "$BASE/models" -H "Authorization: Bearer ${RACONTEUR_API_KEY:-none}"
echo
curl -sS --fail-with-body "$ROOT/health"
echo
curl -sS --fail-with-body "$ROOT/metrics" | grep -E '^raconteur_(http_requests_total|generated_tokens_total|queue_depth)'
