#!/bin/bash
# Side-by-side A/B of two switchboard binaries under the same load, alternating, each on a
# fresh data dir: idle RSS, then `loadtest run` (which logs in its agents first), then RSS.
#   loadtest/ab.sh OLD_BINARY NEW_BINARY [ROUNDS] > out.log
# VISITORS (default 2000), RATE (messages/s per visitor, default 0.2), AGENTS (default 50) and
# DURATION (default 20s) change the load; EXTRA adds loadtest flags (e.g. --honour-busy).
# Build the loadtest first: cargo build --release -p loadtest
set -u
source "$(dirname "$0")/server.sh"
old=$1 new=$2 rounds=${3:-2}
lt="${LOADTEST:-$(dirname "$0")/../target/release/loadtest}"
port=8110
for round in $(seq 1 "$rounds"); do
  for v in old new; do
    bin=${!v}
    start_server "$bin" $port
    pid=$sb_pid pw=$sb_password
    echo "== $v round $round idle_rss_kb=$(awk '/VmRSS/{print $2}' /proc/$pid/status)"
    LOADTEST_PASSWORD=$pw "$lt" run --url http://127.0.0.1:$port --email owner@switchboard.local \
      --visitors "${VISITORS:-2000}" --rate-per-visitor "${RATE:-0.2}" --agents "${AGENTS:-50}" \
      --duration "${DURATION:-20s}" --server-pid $pid ${EXTRA:-} 2>&1 \
      | grep -E "^(connects|messages|visitor→agent|send→ack|throughput|agents|RSS|errors|  +error frames)"
    curl -s http://127.0.0.1:$port/metrics | grep -E "^switchboard_connections_lagging_total" || true
    echo "after_run_rss_kb=$(awk '/VmRSS/{print $2}' /proc/$pid/status)"
    stop_server
  done
done
