#!/usr/bin/env bash
# What PostgreSQL alone does with our messages table on this machine, for the ratios in
# docs/performance.md: single-row INSERT commits from 1 and from 8 clients, and 100-row INSERTs
# (rows/s), each for DURATION seconds, on a running server's cluster (the same table, indexes
# and WAL settings as the messages it stores). The rows go to one session at sequence numbers
# no message reaches, with client ids (as the widget sends them), and are deleted afterwards.
# Usage: loadtest/pgbench.sh SOCKET_DIR [DURATION]   (e.g. DATA_DIR/postgres/sock)
set -euo pipefail
sock=${1:?socket dir of the cluster}
secs=${2:-10}
pgbin=$(dirname "$(command -v pgbench 2>/dev/null || ls /usr/lib/postgresql/*/bin/pgbench | tail -1)")
psql=("$pgbin/psql" -h "$sock" -U switchboard switchboard -X -q -At -v ON_ERROR_STOP=1)
sid=$("${psql[@]}" -c "SELECT id FROM sessions ORDER BY id LIMIT 1")
[ -n "$sid" ] || { echo "no session to write to: run a load first" >&2; exit 1; }
"${psql[@]}" -c "CREATE SEQUENCE IF NOT EXISTS pgbench_seq START 1000000000000"
dir=$(mktemp -d)
trap '"${psql[@]}" -c "DELETE FROM messages WHERE session_id = $sid AND seq >= 1000000000000; DROP SEQUENCE IF EXISTS pgbench_seq"; rm -rf "$dir"' EXIT
cat > "$dir/one.sql" <<SQL
\set n random(1, 1000000000)
INSERT INTO messages (session_id, seq, sender_kind, client_id, body, created_at, content)
VALUES ($sid, nextval('pgbench_seq'), 'visitor', 'pgb-' || :n || '-' || currval('pgbench_seq'), 'hello from pgbench', now(), '{}');
SQL
cat > "$dir/hundred.sql" <<SQL
INSERT INTO messages (session_id, seq, sender_kind, client_id, body, created_at, content)
SELECT $sid, nextval('pgbench_seq'), 'visitor', 'pgb-' || currval('pgbench_seq'), 'hello from pgbench', now(), '{}'
FROM generate_series(1, 100);
SQL
run() { # label, pgbench args…
  local label=$1; shift
  local tps
  tps=$("$pgbin/pgbench" -h "$sock" -U switchboard -n -M prepared -T "$secs" "$@" switchboard 2>/dev/null \
    | awk -F'= ' '/^tps/{print $2}' | awk '{print $1}')
  echo "$label $tps"
}
run "single_row_commits_per_s_1_client" -c 1 -f "$dir/one.sql"
run "single_row_commits_per_s_8_clients" -c 8 -j 2 -f "$dir/one.sql"
hundred=$(run x -c 1 -f "$dir/hundred.sql" | awk '{print $2}')
echo "rows_per_s_as_100_row_inserts $(awk -v t="$hundred" 'BEGIN{printf "%.0f", t*100}')"
