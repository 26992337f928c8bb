#!/bin/bash
# Messenger benchmarks against a release binary with its embedded PostgreSQL and the fake
# Graph API (tests/fake_graph.py):
#   loadtest/messenger_bench.sh webhook [BINARY]   webhook answer latency, steady and 10x burst
#   loadtest/messenger_bench.sh sync [BINARY]      contact sync throughput
# webhook: BASE_RATE (POSTs/s, default 20), FACTOR (default 10), PHASE (default 10s);
# sync: CONVERSATIONS (default 1000).
# Build first: cargo build --release --workspace
set -u
here="$(cd "$(dirname "$0")" && pwd)"
mode=${1:?webhook or sync}
bin=${2:-$here/../target/release/switchboard}
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
export LOADTEST_PASSWORD=$pw
if [ "$mode" = sync ]; then
  "$lt" sync-bench --url http://127.0.0.1:$port --email owner@switchboard.local \
    --fake-graph "http://127.0.0.1:$fake_port" --conversations "${CONVERSATIONS:-1000}"
else
  "$lt" webhook-burst --url http://127.0.0.1:$port --email owner@switchboard.local \
    --fake-graph "http://127.0.0.1:$fake_port" --base-rate "${BASE_RATE:-20}" \
    --burst-factor "${FACTOR:-10}" --phase "${PHASE:-10s}"
fi
echo "server_rss_kb=$(awk '/VmRSS/{print $2}' /proc/$pid/status)"
kill $pid $fake_pid; wait $pid 2>/dev/null
rm -rf "$d" "$d.log"
