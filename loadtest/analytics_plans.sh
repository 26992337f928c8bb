#!/usr/bin/env bash
# The query plans of the automation analytics' SQL on a database seeded by `loadtest seed --flows
# --runs --transitions` (docs/performance.md): the drill-down's first page (status=completed, 30
# days) and the funnel's two aggregates, for the version with the most step rows. Each query runs
# once to warm the cache, then under EXPLAIN (ANALYZE, BUFFERS).
# Usage: loadtest/analytics_plans.sh SOCKET_DIR   (e.g. /tmp/perfseed/postgres/sock)
set -euo pipefail
sock=${1:?socket dir of the seeded cluster}
psql=(psql -h "$sock" -U switchboard switchboard -X -q -v ON_ERROR_STOP=1)
version=$("${psql[@]}" -At -c "SELECT flow_version_id FROM flow_run_steps GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
flow=$("${psql[@]}" -At -c "SELECT flow_id FROM flow_versions WHERE id = $version")
drill="WITH v AS (
  SELECT r.contact_id, count(*) AS triggers, min(r.triggered_at) AS first_triggered_at,
         max(r.triggered_at) AS last_triggered_at, bool_or(r.completed_at IS NOT NULL) AS completed,
         bool_or(r.participated_at IS NOT NULL) AS participated,
         (array_agg(r.session_id ORDER BY r.triggered_at DESC, r.id DESC))[1] AS last_session_id,
         (array_agg(r.channel_id ORDER BY r.triggered_at DESC, r.id DESC))[1] AS channel_id
  FROM flow_runs r
  WHERE r.flow_id = $flow AND NOT r.preview AND r.triggered_at >= now() - interval '30 days' AND r.triggered_at < now()
  GROUP BY r.contact_id), f AS (SELECT * FROM v WHERE completed)
SELECT f.contact_id, c.name, c.note_name, c.avatar_url, f.channel_id, ch.kind, ch.name, f.completed,
       f.participated, f.triggers, f.first_triggered_at, f.last_triggered_at, f.last_session_id,
       (SELECT count(*) FROM f) AS total
FROM f JOIN contacts c ON c.id = f.contact_id JOIN channels ch ON ch.id = f.channel_id
ORDER BY f.last_triggered_at DESC, f.contact_id DESC LIMIT 50"
entries="SELECT step_id, min(step_type) AS step_type, from_step, via_port, count(*) AS n
FROM flow_run_steps WHERE flow_version_id = $version GROUP BY step_id, from_step, via_port"
at="SELECT current_step, status, count(*) FROM flow_runs WHERE flow_version_id = $version GROUP BY current_step, status"
echo "flow $flow, version row $version ($("${psql[@]}" -At -c "SELECT count(*) FROM flow_run_steps WHERE flow_version_id = $version") step rows)"
for q in "$drill" "$entries" "$at"; do
  "${psql[@]}" -c "$q" > /dev/null
  echo
  echo "$q;"
  "${psql[@]}" -c "EXPLAIN (ANALYZE, BUFFERS) $q"
done
