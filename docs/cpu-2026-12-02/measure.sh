#!/bin/bash
# One fixed workload on a fresh server run under callgrind, with pg_stat_statements on its
# embedded cluster:  measure.sh BINARY PORT LABEL RATE [OUTDIR]
# VISITORS (200) × RATE msg/s each, 1 agent, DURATION (40s). The load generator runs natively;
# callgrind counts the server's instructions from the first login to the end of the drain
# (instrumentation switched on just before `loadtest run`, off just after). Outputs in OUTDIR:
# callgrind.LABEL (raw), run-LABEL.txt (the load's report, the committer's counters,
# pg_stat_statements, the database's counters).
set -u
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
source loadtest/server.sh
bin=$1 port=$2 label=$3 rate=$4 out=${5:-$here}
lt="${LOADTEST:-${CARGO_TARGET_DIR:-target}/release/loadtest}"
start_server "$bin" "$port"
dir=$sb_dir pw=$sb_password
psql=(psql -h "$dir/postgres/sock" -U switchboard switchboard -X -q -At)
"${psql[@]}" -c "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'"
kill "$sb_pid"; wait "$sb_pid" 2>/dev/null
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out/callgrind.$label" \
  "$bin" serve --data-dir "$dir" --bind 127.0.0.1:"$port" > "$dir.log2" 2>&1 &
pid=$!
for _ in $(seq 1 600); do curl -sf -o /dev/null http://127.0.0.1:$port/healthz && break; sleep 0.5; done
"${psql[@]}" -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
"${psql[@]}" -c "ALTER SYSTEM SET pg_stat_statements.track_planning = on" -c "SELECT pg_reload_conf()" >/dev/null
"${psql[@]}" -c "SELECT pg_stat_statements_reset(); SELECT pg_stat_reset();" >/dev/null
{
echo "== $label $(date -u +%H:%M:%S) load: $(cut -d' ' -f1-3 /proc/loadavg) visitors=${VISITORS:-200} rate=$rate duration=${DURATION:-40s}"
callgrind_control -i on $pid >/dev/null
LOADTEST_PASSWORD=$pw "$lt" run --url http://127.0.0.1:$port --email owner@switchboard.local \
  --visitors "${VISITORS:-200}" --rate-per-visitor "$rate" --agents 1 \
  --duration "${DURATION:-40s}" --server-pid $pid --quiet 2>&1 \
  | grep -E "^(connects|messages|visitor→agent|send→ack|errors|RSS)"
callgrind_control -i off $pid >/dev/null
curl -s http://127.0.0.1:$port/metrics | grep -E "^switchboard_commit_" | grep -v bucket || true
"${psql[@]}" -c "SELECT 'xact_commit', xact_commit, 'xact_rollback', xact_rollback FROM pg_stat_database WHERE datname = 'switchboard'"
"${psql[@]}" -c "SELECT 'wal', wal_records, wal_write, wal_sync FROM pg_stat_wal"
"${psql[@]}" -c "SELECT 'total', sum(calls), round(sum(total_exec_time)::numeric, 1), round(sum(total_plan_time)::numeric, 1), sum(plans) FROM pg_stat_statements"
echo "calls | plans | rows | mean_exec_ms | mean_plan_ms | total_ms | query"
"${psql[@]}" -F ' | ' -c "SELECT calls, plans, rows, round(mean_exec_time::numeric, 3), round(mean_plan_time::numeric, 3), round((total_exec_time + total_plan_time)::numeric, 1), left(regexp_replace(query, '\s+', ' ', 'g'), 160) FROM pg_stat_statements ORDER BY calls DESC LIMIT 40"
} > "$out/run-$label.txt" 2>&1
kill "$pid"; wait "$pid" 2>/dev/null
rm -rf "$dir" "$dir.log" "$dir.log2"
