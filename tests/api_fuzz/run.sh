#!/usr/bin/env bash
# API fuzzing: schemathesis generates requests from our own OpenAPI document and sends them to the
# real binary (embedded PostgreSQL), once with the owner's token and once with a limited agent's.
# Usage: tests/api_fuzz/run.sh [path/to/switchboard]   (SB_FUZZ_EXAMPLES: cases per operation)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${1:-$here/../../target/debug/switchboard}"
examples="${SB_FUZZ_EXAMPLES:-20}"
work="$(mktemp -d /tmp/sb-fuzz-XXXXXX)"
# The embedded cluster runs as the `postgres` user, who must be able to enter the data dir.
chmod o+x "$work"
port=$((20000 + RANDOM % 20000))
base="http://127.0.0.1:$port"
"$bin" serve --data-dir "$work/data" --bind "127.0.0.1:$port" --logins-per-minute 0 \
  --visitor-signups-per-minute 0 >"$work/serve.log" 2>&1 &
server=$!
cleanup() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 1 120); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.5; done
"$bin" create-owner --data-dir "$work/data" --email owner@example.com --password ownerpass123 >/dev/null
python3 "$here/seed.py" "$base" owner@example.com ownerpass123 >"$work/seed.json"
status=0
for who in owner agent; do
  token="$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$work/seed.json" "$who")"
  echo "== schemathesis as $who ($examples cases per operation)"
  SB_FUZZ_SEED="$work/seed.json" SB_FUZZ_AS="$who" SCHEMATHESIS_HOOKS=hooks PYTHONPATH="$here" \
    schemathesis run "$base/api/openapi.json" --url "$base" \
    -H "Authorization: Bearer $token" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,no_other_project_data \
    --max-examples "$examples" --phases examples,fuzzing --workers 2 --no-color || status=1
done
exit $status
