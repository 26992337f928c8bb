#!/bin/bash
# loadtest/ab.sh with a --series file per run (/tmp/first-ab/OLD-or-NEW-ROUND.json):
#   docs/first-message-2026-12-02/ab-series.sh OLD_BINARY NEW_BINARY ROUNDS; then series-summary.py
set -u
mkdir -p /tmp/first-ab
cd "$(dirname "$0")/../.."
source loadtest/server.sh
old=$1 new=$2 rounds=${3:-2}
lt="${LOADTEST:-target/release/loadtest}"
port=8130
for round in $(seq 1 "$rounds"); do
  for v in old new; do
    bin=${!v}
    start_server "$bin" $port
    pid=$sb_pid pw=$sb_password
    echo "== $v round $round load=$(cut -d' ' -f1-3 /proc/loadavg)"
    LOADTEST_PASSWORD=$pw "$lt" run --url http://127.0.0.1:$port --email owner@switchboard.local \
      --visitors "${VISITORS:-2000}" --rate-per-visitor "${RATE:-0.2}" --agents "${AGENTS:-1}" \
      --duration "${DURATION:-20s}" --server-pid $pid --series /tmp/first-ab/$v-$round.json 2>&1 \
      | grep -E "^(connects|messages|visitor→agent|send→ack|RSS|errors)"
    stop_server
  done
done
