#!/bin/bash
# Two `switchboard serve` processes on one PostgreSQL and one Redis, as docs/scale-out.md
# describes, on this machine: server 1 runs its embedded PostgreSQL (like loadtest/server.sh),
# server 2 uses that cluster through its unix socket (`--database-url`); both get the same
# secret key and a private redis-server.
#
# Sourced by a measuring script:
#   start_two_nodes BINARY PORT1 PORT2 [ENV=value ...]  sets sb_pid, sb_pid2, redis_pid,
#                                                       sb_password and sb_urls (comma list)
#   stop_two_nodes                                      stops all three, removes their dirs
# Run directly, it is a one-node vs two-node smoke comparison with the same load:
#   loadtest/two-nodes.sh BINARY [DURATION]
# PORT (default 18120: one node there, two on the next two ports, Redis 1000 above the last).
# VISITORS (default 200), RATE (messages/s per visitor, default 1), AGENTS (default 4) set the
# load; EXTRA adds loadtest flags. Build the loadtest first: cargo build --release -p loadtest
set -u
here=$(dirname "${BASH_SOURCE[0]}")
source "$here/server.sh"

start_two_nodes() {
  local bin=$1 port1=$2 port2=$3; shift 3
  local key redis_port
  key=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
  redis_port=$((port2 + 1000))
  redis_dir=$(mktemp -d /tmp/sb-load-redis-XXXX)
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$redis_dir" > "$redis_dir/log" 2>&1 &
  redis_pid=$!
  local redis_url="redis://127.0.0.1:$redis_port/0"
  start_server "$bin" "$port1" SWITCHBOARD_SECRET_KEY="$key" SWITCHBOARD_REDIS_URL="$redis_url" "$@"
  # The embedded cluster's socket: a URL any process on this machine can use.
  local sock_enc
  sock_enc=$(printf '%s' "$sb_dir/postgres/sock" | sed 's|/|%2F|g')
  sb_database_url="postgres://switchboard@$sock_enc/switchboard"
  sb_dir2=$(mktemp -d /tmp/sb-load-XXXX); chmod 755 "$sb_dir2"
  env SWITCHBOARD_SECRET_KEY="$key" SWITCHBOARD_REDIS_URL="$redis_url" "$@" \
    "$bin" serve --data-dir "$sb_dir2" --database-url "$sb_database_url" \
    --bind 127.0.0.1:"$port2" > "$sb_dir2.log" 2>&1 &
  sb_pid2=$!
  for _ in $(seq 1 120); do grep -qs "Switchboard is running" "$sb_dir2.log" && break; sleep 0.5; done
  grep -q "Switchboard is running" "$sb_dir2.log" || { echo "server 2 did not start:" >&2; cat "$sb_dir2.log" >&2; }
  sb_urls="http://127.0.0.1:$port1,http://127.0.0.1:$port2"
}

stop_two_nodes() {
  kill "$sb_pid2" 2>/dev/null; wait "$sb_pid2" 2>/dev/null
  rm -rf "$sb_dir2" "$sb_dir2.log"
  stop_server
  kill "$redis_pid" 2>/dev/null; wait "$redis_pid" 2>/dev/null
  rm -rf "$redis_dir"
}

# Executed (not sourced): one node, then two, each on fresh data.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  bin=${1:?usage: loadtest/two-nodes.sh BINARY [DURATION]}
  duration=${2:-10s}
  lt="${LOADTEST:-$here/../target/release/loadtest}"
  load() { # urls, pid
    LOADTEST_PASSWORD=$sb_password "$lt" run --url "$1" --email owner@switchboard.local \
      --visitors "${VISITORS:-200}" --rate-per-visitor "${RATE:-1}" --agents "${AGENTS:-4}" \
      --duration "$duration" --server-pid "$2" --quiet ${EXTRA:-} 2>&1 \
      | grep -E "^(connects|messages|visitor→agent|send→ack|throughput|agents|RSS|errors|  +error frames)"
  }
  echo "== one node"
  start_server "$bin" "${PORT:-18120}"
  load "http://127.0.0.1:${PORT:-18120}" "$sb_pid"
  stop_server
  echo "== two nodes (server 1's RSS only; server 2 is pid-less in the report)"
  start_two_nodes "$bin" $((${PORT:-18120} + 1)) $((${PORT:-18120} + 2))
  load "$sb_urls" "$sb_pid"
  echo "server 2 rss_kb=$(awk '/VmRSS/{print $2}' /proc/$sb_pid2/status)"
  stop_two_nodes
fi
