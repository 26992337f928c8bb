#!/bin/bash
# Idle-socket A/B of switchboard binaries, alternating, each on a fresh data dir:
#   loadtest/idle-ab.sh ROUNDS LABEL=BINARY [LABEL=BINARY ...] > out.log
# Each entry may carry an environment for the server: LABEL=BINARY@VAR=value@VAR2=value
# (values may contain commas, e.g. _RJEM_MALLOC_CONF=narenas:2,dirty_decay_ms:0).
# VISITORS (default 10000) and CYCLES (default 3) set the load. Build loadtest first.
set -u
export SWITCHBOARD_LOGINS_PER_MINUTE=0 SWITCHBOARD_VISITOR_SIGNUPS_PER_MINUTE=0
rounds=$1; shift
lt="${LOADTEST:-$(dirname "$0")/../target/release/loadtest}"
port=${PORT:-8140}
for round in $(seq 1 "$rounds"); do
  for entry in "$@"; do
    label=${entry%%=*} rest=${entry#*=}
    bin=${rest%%@*} envs=""
    [[ $rest == *@* ]] && envs=${rest#*@}
    d=$(mktemp -d /tmp/sb-idle-XXXX); chmod 755 "$d"
    env ${envs//@/ } "$bin" serve --data-dir "$d" --bind 127.0.0.1:$port > "$d.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 120); do grep -q "password:" "$d.log" && break; sleep 0.5; done
    sleep 2
    pw=$(grep "password:" "$d.log" | awk '{print $2}')
    echo "== $label round $round"
    LOADTEST_PASSWORD=$pw "$lt" idle --url http://127.0.0.1:$port --email owner@switchboard.local \
      --server-pid $pid --visitors "${VISITORS:-10000}" --cycles "${CYCLES:-3}" 2>/dev/null \
      | grep -E "^(cycle|start)"
    kill $pid; wait $pid 2>/dev/null
    rm -rf "$d" "$d.log"
  done
done
