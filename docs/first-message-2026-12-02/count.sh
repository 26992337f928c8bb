#!/bin/bash
# A run with pg_stat_statements on a fresh server: count.sh BINARY PORT LABEL
# (2,000 visitors x 0.2 msg/s, 1 agent, 20 s), printed as calls + mean + query.
set -u
cd "$(dirname "$0")/../.."
source loadtest/server.sh
bin=$1 port=$2 label=$3
lt="${LOADTEST:-target/release/loadtest}"
start_server "$bin" "$port"
pid=$sb_pid pw=$sb_password dir=$sb_dir
psql=(psql -h "$dir/postgres/sock" -U switchboard switchboard -X -q -At)
"${psql[@]}" -c "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'"
kill "$pid"; wait "$pid" 2>/dev/null
env "$bin" serve --data-dir "$dir" --bind 127.0.0.1:"$port" > "$dir.log2" 2>&1 &
pid=$!
for _ in $(seq 1 120); do "${psql[@]}" -c "SELECT 1" >/dev/null 2>&1 && break; sleep 0.5; done
sleep 3
"${psql[@]}" -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
"${psql[@]}" -c "SELECT pg_stat_statements_reset(); SELECT pg_stat_reset();" >/dev/null
LOADTEST_PASSWORD=$pw "$lt" run --url http://127.0.0.1:$port --email owner@switchboard.local \
  --visitors "${VISITORS:-2000}" --rate-per-visitor "${RATE:-0.2}" --agents "${AGENTS:-1}" \
  --duration "${DURATION:-20s}" --server-pid $pid 2>&1 | grep -E "^(connects|messages|visitor→agent|send→ack|errors)"
sleep 2
echo "== $label"
"${psql[@]}" -c "SELECT 'contacts', count(*) FROM contacts; SELECT 'sessions', count(*) FROM sessions; SELECT 'messages', count(*) FROM messages;"
"${psql[@]}" -c "SELECT 'xact_commit', xact_commit, 'xact_rollback', xact_rollback FROM pg_stat_database WHERE datname = 'switchboard'"
"${psql[@]}" -c "SELECT 'wal', wal_records, wal_write, wal_sync FROM pg_stat_wal"
"${psql[@]}" -c "CHECKPOINT" ; "${psql[@]}" -c "SELECT 'multixacts', next_multixact_id, next_multi_offset FROM pg_control_checkpoint()"
"${psql[@]}" -c "SELECT 'total_calls', sum(calls), round(sum(total_exec_time)::numeric, 1) FROM pg_stat_statements"
"${psql[@]}" -F ' | ' -c "SELECT calls, round(mean_exec_time::numeric, 3), round(total_exec_time::numeric, 1), left(regexp_replace(query, '\s+', ' ', 'g'), 150) FROM pg_stat_statements ORDER BY calls DESC LIMIT 45"
kill "$pid"; wait "$pid" 2>/dev/null
rm -rf "$dir" "$dir.log" "$dir.log2"
