#!/bin/bash
# One node vs two for issue 15, measured side by side in alternating rounds on this machine:
#   one       one server, no Redis (as today)
#   one+redis one server publishing every committed event to Redis (what the bus costs alone)
#   two       two servers on one PostgreSQL and Redis; visitors and agents spread over both,
#             so the messages of the visitors on server 2 reach the agent (on server 1,
#             with AGENTS=1) through Redis: half of them
# Each round: the same load (VISITORS × RATE msg/s, AGENTS agents, DURATION), then the load
# tester's report lines and the CPU used during the load by the servers, PostgreSQL and Redis,
# per acknowledged message (from /proc/PID/stat; clock ticks of 10 ms).
# Usage: loadtest/nodes-ab.sh BINARY ROUNDS   (env VISITORS=2000 RATE=0.2 AGENTS=1 DURATION=20s)
set -u
here=$(dirname "${BASH_SOURCE[0]}")
source "$here/two-nodes.sh"
bin=${1:?usage: loadtest/nodes-ab.sh BINARY ROUNDS}
rounds=${2:-3}
lt="${LOADTEST:-$here/../target/release/loadtest}"
visitors=${VISITORS:-2000} rate=${RATE:-0.2} agents=${AGENTS:-1} duration=${DURATION:-20s}
port=${PORT:-18200}
tick=$(getconf CLK_TCK)

ticks() { # pids... → utime+stime of each and of its children that exited, summed
  local t=0 p
  for p in "$@"; do
    [ -r "/proc/$p/stat" ] || continue
    t=$((t + $(awk '{print $14+$15+$16+$17}' "/proc/$p/stat")))
  done
  echo "$t"
}
pg_pids() { # the embedded cluster's postmaster and its backends
  local pm
  pm=$(head -1 "$sb_dir/postgres/data/postmaster.pid" 2>/dev/null) || return
  echo "$pm $(pgrep -P "$pm" | tr '\n' ' ')"
}

run_one() { # mode
  local mode=$1 urls servers
  case $mode in
    one) start_server "$bin" "$port"; urls="http://127.0.0.1:$port"; servers="$sb_pid" ;;
    one+redis)
      redis_dir=$(mktemp -d /tmp/sb-load-redis-XXXX)
      redis-server --port $((port + 1000)) --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$redis_dir" > "$redis_dir/log" 2>&1 &
      redis_pid=$!
      start_server "$bin" "$port" SWITCHBOARD_REDIS_URL="redis://127.0.0.1:$((port + 1000))/0"
      urls="http://127.0.0.1:$port"; servers="$sb_pid" ;;
    two) start_two_nodes "$bin" "$port" $((port + 1)); urls="$sb_urls"; servers="$sb_pid $sb_pid2" ;;
  esac
  local pgs rp before_s before_p before_r out acked
  pgs=$(pg_pids); rp=${redis_pid:-}
  [ "$mode" = one ] && rp=""
  before_s=$(ticks $servers); before_p=$(ticks $pgs); before_r=$(ticks $rp)
  out=$(LOADTEST_PASSWORD=$sb_password "$lt" run --url "$urls" --email owner@switchboard.local \
    --visitors "$visitors" --rate-per-visitor "$rate" --agents "$agents" --duration "$duration" \
    --server-pid "$sb_pid" --quiet 2>&1)
  local after_s after_p after_r
  after_s=$(ticks $servers); after_p=$(ticks $(pg_pids)); after_r=$(ticks $rp)
  echo "$out" | grep -E "^(connects|messages|visitor→agent|send→ack|throughput|agents|errors)"
  acked=$(echo "$out" | sed -n 's/^messages *: sent [0-9]*, acked \([0-9]*\).*/\1/p')
  awk -v s=$((after_s - before_s)) -v p=$((after_p - before_p)) -v r=$((after_r - before_r)) \
      -v n="${acked:-0}" -v hz="$tick" 'BEGIN { if (n > 0) printf "cpu per message: servers %.3f ms, postgres %.3f ms, redis %.3f ms, total %.3f ms (n=%d)\n", s*1000/hz/n, p*1000/hz/n, r*1000/hz/n, (s+p+r)*1000/hz/n, n }'
  case $mode in
    two) stop_two_nodes ;;
    one+redis) stop_server; kill "$redis_pid" 2>/dev/null; wait "$redis_pid" 2>/dev/null; rm -rf "$redis_dir"; unset redis_pid ;;
    *) stop_server ;;
  esac
}

for r in $(seq 1 "$rounds"); do
  for mode in one one+redis two; do
    echo "== $mode round $r $(date -u +%H:%M:%S) load: $(cut -d' ' -f1-3 /proc/loadavg)"
    run_one "$mode"
  done
done
