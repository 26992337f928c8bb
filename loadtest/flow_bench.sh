#!/bin/bash
# Automation flows under chat load, against a release binary with its embedded PostgreSQL:
#   loadtest/flow_bench.sh [BINARY] > out.log
# FLOW_VISITORS (default 1000) hosted sessions run a 5-step flow again and again while VISITORS
# (default 2000) chat; chat-only phases before and after. DURATION per phase (default 30s);
# THINK (default 5s): a flow visitor's pause before each answer.
# Build first: cargo build --release --workspace
set -u
here="$(cd "$(dirname "$0")" && pwd)"
bin=${1:-$here/../target/release/switchboard}
lt=${LOADTEST:-$(dirname "$bin")/loadtest}
export SWITCHBOARD_LOGINS_PER_MINUTE=0 SWITCHBOARD_VISITOR_SIGNUPS_PER_MINUTE=0
port=8122
d=$(mktemp -d /tmp/sb-flow-XXXX); chmod 755 "$d"
"$bin" serve --data-dir "$d" --bind 127.0.0.1:$port > "$d.log" 2>&1 &
pid=$!
for _ in $(seq 1 120); do grep -q "password:" "$d.log" && break; sleep 0.5; done
sleep 2
export LOADTEST_PASSWORD=$(grep "password:" "$d.log" | awk '{print $2}')
"$lt" flow-bench --url http://127.0.0.1:$port --email owner@switchboard.local \
  --visitors "${VISITORS:-2000}" --agents 50 --duration "${DURATION:-30s}" \
  --flow-visitors "${FLOW_VISITORS:-1000}" --think "${THINK:-5s}" --server-pid $pid ${JSON:+--json "$JSON"} --quiet
echo "server_rss_kb=$(awk '/VmRSS/{print $2}' /proc/$pid/status)"
kill $pid; wait $pid 2>/dev/null
rm -rf "$d" "$d.log"
