#!/bin/bash
# Messenger webhook answer latency, steady and under a 10x burst, against a release binary
# with its embedded PostgreSQL and the fake Graph API (tests/fake_graph.py).
#   loadtest/webhook_bench.sh [BINARY] > out.log
# BASE_RATE (POSTs/s, default 20), FACTOR (default 10), PHASE (default 10s) change the load.
# Build first: cargo build --release --workspace
set -u
here="$(cd "$(dirname "$0")" && pwd)"
bin=${1:-$here/../target/release/switchboard}
lt="$here/../target/release/loadtest"
port=8120
fifo=$(mktemp -u /tmp/sb-fake-XXXX); mkfifo "$fifo"
python3 "$here/../tests/fake_graph.py" --port 0 > "$fifo" &
fake_pid=$!
read -r _ fake_port < "$fifo"; rm -f "$fifo"
d=$(mktemp -d /tmp/sb-wh-XXXX); chmod 755 "$d"
SWITCHBOARD_GRAPH_BASE_URL="http://127.0.0.1:$fake_port/v25.0" \
  "$bin" serve --data-dir "$d" --bind 127.0.0.1:$port > "$d.log" 2>&1 &
pid=$!
for _ in $(seq 1 120); do grep -q "password:" "$d.log" && break; sleep 0.5; done
sleep 2
pw=$(grep "password:" "$d.log" | awk '{print $2}')
LOADTEST_PASSWORD=$pw "$lt" webhook-burst --url http://127.0.0.1:$port --email owner@switchboard.local \
  --fake-graph "http://127.0.0.1:$fake_port" --base-rate "${BASE_RATE:-20}" \
  --burst-factor "${FACTOR:-10}" --phase "${PHASE:-10s}"
echo "server_rss_kb=$(awk '/VmRSS/{print $2}' /proc/$pid/status)"
kill $pid $fake_pid; wait $pid 2>/dev/null
rm -rf "$d" "$d.log"
