#!/bin/bash
# Robot hosting benchmark against a release binary with its embedded PostgreSQL:
#   loadtest/hosting_bench.sh [BINARY]
# SESSIONS (default 10000) assigned sessions, then "switch all assigned" on and off.
# Build first: cargo build --release --workspace
set -u
here="$(cd "$(dirname "$0")" && pwd)"
bin=${1:-$here/../target/release/switchboard}
lt=${LOADTEST:-$(dirname "$bin")/loadtest}
port=8121
d=$(mktemp -d /tmp/sb-host-XXXX); chmod 755 "$d"
"$bin" serve --data-dir "$d" --bind 127.0.0.1:$port > "$d.log" 2>&1 &
pid=$!
for _ in $(seq 1 120); do grep -q "password:" "$d.log" && break; sleep 0.5; done
sleep 2
export LOADTEST_PASSWORD=$(grep "password:" "$d.log" | awk '{print $2}')
sock=$(printf '%s' "$d/postgres/sock" | sed 's|/|%2F|g')
"$lt" hosting-bench --url http://127.0.0.1:$port --email owner@switchboard.local \
  --database-url "postgres://switchboard@$sock/switchboard" --sessions "${SESSIONS:-10000}"
echo "server_rss_kb=$(awk '/VmRSS/{print $2}' /proc/$pid/status)"
kill $pid; wait $pid 2>/dev/null
rm -rf "$d" "$d.log"
