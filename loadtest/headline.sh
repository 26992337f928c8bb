#!/usr/bin/env bash
# Issue 14's figures in one run on one fresh server, so the ratios compare like with like:
#   1. `compare` at 400 msg/s from 2,000 visitors to 1 agent (the raw websocket baseline, then us);
#   2. `sweep` with 1 agent and with 50 agents (p99 <= 100 ms, no loss), each step against the
#      baseline too, with the per-second series of the 50-agent sweep drawn as an HTML report;
#   3. `pgbench.sh` on the server's own cluster: what PostgreSQL alone commits on our table.
# Usage: loadtest/headline.sh SWITCHBOARD_BINARY OUT_DIR
#   (env: LOADTEST binary, STEP_SECS per sweep step, MAX1 / MAX50 the sweeps' last steps)
set -euo pipefail
bin=${1:?switchboard binary} out=${2:?output dir}
lt="${LOADTEST:-$(dirname "$0")/../target/release/loadtest}"
mkdir -p "$out"
source "$(dirname "$0")/server.sh"
port=8140
start_server "$bin" $port
trap stop_server EXIT
pid=$sb_pid d=$sb_dir
export LOADTEST_PASSWORD=$sb_password
common=(--url "http://127.0.0.1:$port" --email owner@switchboard.local --server-pid "$pid")
secs=${STEP_SECS:-10}

echo "== compare: 2000 visitors, 400 msg/s, 1 agent" | tee "$out/compare-400x1.txt"
"$lt" compare "${common[@]}" --visitors 2000 --rate-per-visitor 0.2 --agents 1 --duration 20s \
  --json "$out/compare-400x1.json" 2>/dev/null | tee -a "$out/compare-400x1.txt"

for agents in 1 50; do
  max=${MAX1:-12800}; [ "$agents" = 50 ] && max=${MAX50:-6400}
  echo "== sweep: 2000 visitors, $agents agent(s), 400 msg/s ×2 up to $max" | tee "$out/sweep-x$agents.txt"
  "$lt" sweep "${common[@]}" --visitors 2000 --agents "$agents" --duration "${secs}s" \
    --start 400 --factor 2 --max "$max" --max-p99-ms 100 --max-loss 0 --baseline --quiet \
    --json "$out/sweep-x$agents.json" --series "$out/series-x$agents.json" 2>&1 \
    | grep -v "^\s*$" | tee -a "$out/sweep-x$agents.txt"
  "$lt" report "$out/series-x$agents.json" --out "$out/sweep-x$agents.html"
done

echo "== pgbench on the same cluster (${secs}s each)" | tee "$out/pgbench.txt"
"$(dirname "$0")/pgbench.sh" "$d/postgres/sock" "$secs" | tee -a "$out/pgbench.txt"
