#!/bin/bash
# Idle-socket A/B of switchboard binaries, alternating, each on a fresh data dir:
#   loadtest/idle-ab.sh ROUNDS LABEL=BINARY [LABEL=BINARY ...] > out.log
# Each entry may carry an environment for the server: LABEL=BINARY@VAR=value@VAR2=value
# (values may contain commas, e.g. _RJEM_MALLOC_CONF=narenas:2,dirty_decay_ms:0).
# VISITORS (default 10000) and CYCLES (default 3) set the load. Build loadtest first.
set -u
source "$(dirname "$0")/server.sh"
rounds=$1; shift
lt="${LOADTEST:-$(dirname "$0")/../target/release/loadtest}"
port=${PORT:-8140}
for round in $(seq 1 "$rounds"); do
  for entry in "$@"; do
    label=${entry%%=*} rest=${entry#*=}
    bin=${rest%%@*} envs=""
    [[ $rest == *@* ]] && envs=${rest#*@}
    # shellcheck disable=SC2086 # the entries' variables are split on purpose
    start_server "$bin" $port ${envs//@/ }
    pid=$sb_pid pw=$sb_password
    echo "== $label round $round"
    LOADTEST_PASSWORD=$pw "$lt" idle --url http://127.0.0.1:$port --email owner@switchboard.local \
      --server-pid $pid --visitors "${VISITORS:-10000}" --cycles "${CYCLES:-3}" 2>/dev/null \
      | grep -E "^(cycle|start)"
    stop_server
  done
done
