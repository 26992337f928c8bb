#!/bin/bash
# ejabberd 23.01 (its archive on a private PostgreSQL 15 cluster) and Switchboard (its
# embedded PostgreSQL) under the same chat load, alternating, each on fresh data:
# VISITORS clients send RATE msg/s each to AGENTS receivers for DURATION.
#   loadtest/ejabberd-ab.sh SWITCHBOARD_BINARY [ROUNDS] > out.log
# Defaults: VISITORS=2000 RATE=0.2 (400 msg/s in total) AGENTS=1 DURATION=30s ROUNDS=3.
# Ports: SB_PORT (8111; ab.sh uses 8110), EJ_PORT (5480, ejabberd's /ws) and EJ_PG_PORT (5481).
# One line per run, then the medians and the ratios switchboard / ejabberd. CPU per message
# is (server + its database) CPU over the window and drain, from the per-second series,
# divided by the messages delivered; RSS is the server process alone (not its database).
# "steady" p50/p99: the median of the per-second p50/p99 from second 8 of the window on.
# The raw JSON and series files stay in OUT (default: a new /tmp/ejab-XXXX).
# Build first: cargo build --release -p loadtest; runs as root (see ejabberd/ejabberd.sh).
set -u
here=$(cd "$(dirname "$0")" && pwd)
source "$here/server.sh"
source "$here/ejabberd/ejabberd.sh"
sb=${1:?usage: $0 SWITCHBOARD_BINARY [ROUNDS]} rounds=${2:-3}
lt="${LOADTEST:-$here/../target/release/loadtest}"
visitors=${VISITORS:-2000} rate=${RATE:-0.2} agents=${AGENTS:-1} duration=${DURATION:-30s}
sb_port=${SB_PORT:-8111} ej_port=${EJ_PORT:-5480} ej_pg_port=${EJ_PG_PORT:-5481}
out=${OUT:-$(mktemp -d /tmp/ejab-XXXX)}; mkdir -p "$out"
load=(--visitors "$visitors" --rate-per-visitor "$rate" --agents "$agents" --duration "$duration" --quiet)
trap 'stop_ejabberd; [ -n "${sb_dir:-}" ] && stop_server' EXIT
echo "# $(date -u +%FT%TZ) $visitors clients x $rate msg/s -> $agents receiver(s), $duration, $rounds rounds; raw files in $out"
echo "# $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

# One JSON line of figures from a run's --json and --series files.
figures() {
  local name=$1 round=$2 json=$3 series=$4
  jq -c -n --arg name "$name" --argjson round "$round" \
    --slurpfile r "$json" --slurpfile s "$series" '
    ($r[0].report // $r[0]) as $rep | $s[0].runs[0].points as $p |
    ($rep.messages.delivered_distinct) as $n |
    ([$p[].server_cpu_pct // 0] | add / 100) as $srv |
    ([$p[].children_cpu_pct // 0] | add / 100) as $db |
    def median: sort | if length == 0 then null else .[(length - 1) / 2 | floor] end;
    # Steady: seconds 8 and later of the window, after every client'"'"'s first message.
    [$p[] | select(.t >= 8 and .t < ($rep.window_s | floor))] as $st |
    {name: $name, round: $round, p50: $rep.latency_visitor_to_agent.p50_ms,
     p95: $rep.latency_visitor_to_agent.p95_ms, p99: $rep.latency_visitor_to_agent.p99_ms,
     steady_p50: ([$st[].p50_ms // empty] | median), steady_p99: ([$st[].p99_ms // empty] | median),
     sent: $rep.messages.sent, lost: $rep.messages.lost, errors: $rep.errors_total,
     server_cpu_s: $srv, db_cpu_s: $db,
     cpu_ms: (if $n > 0 then ($srv + $db) * 1000 / $n else null end),
     server_cpu_ms: (if $n > 0 then $srv * 1000 / $n else null end),
     db_cpu_ms: (if $n > 0 then $db * 1000 / $n else null end),
     peak_rss_mib: (($rep.rss.server_peak_kib // 0) / 1024)}'
}

line() {
  jq -r 'def r3: if . == null then "n/a" else (. * 1000 | round / 1000 | tostring) end;
    "round \(.round) \(.name | . + " " * (12 - length))p50 \(.p50) p95 \(.p95) p99 \(.p99) ms (steady p50 \(.steady_p50 | r3) p99 \(.steady_p99 | r3))  sent \(.sent) lost \(.lost) errors \(.errors)  CPU/msg \(.cpu_ms * 1000 | round / 1000) ms (server \(.server_cpu_ms * 1000 | round / 1000) + db \(.db_cpu_ms * 1000 | round / 1000))  peak RSS \(.peak_rss_mib * 10 | round / 10) MiB"' <<< "$1"
}

run_ejabberd() {
  local round=$1 j="$out/ejabberd-$1.json" s="$out/ejabberd-$1.series.json"
  start_ejabberd $((visitors + agents)) "$ej_port" "$ej_pg_port" > "$out/ejabberd-$round.start.log" 2>&1 ||
    { echo "round $round ejabberd: did not start (see $out/ejabberd-$round.start.log)"; return; }
  "$lt" xmpp --url http://127.0.0.1:"$ej_port" --host "$ej_host" --server-pid "$ej_pid" \
    --db-pid "$ej_pg_pid" "${load[@]}" --json "$j" --series "$s" > "$out/ejabberd-$round.txt" 2>&1
  local rows; rows=$(ejabberd_archive_rows)
  stop_ejabberd
  [ -s "$j" ] || { echo "round $round ejabberd: no figures (see $out/ejabberd-$round.txt)"; return; }
  local f; f=$(figures ejabberd "$round" "$j" "$s" | jq -c --argjson rows "${rows:-0}" '. + {archive_rows: $rows}')
  echo "$f" >> "$out/figures.jsonl"
  echo "$(line "$f")  archive rows $rows"
}

run_switchboard() {
  local round=$1 j="$out/switchboard-$1.json" s="$out/switchboard-$1.series.json"
  start_server "$sb" "$sb_port"
  LOADTEST_PASSWORD=$sb_password "$lt" run --url http://127.0.0.1:"$sb_port" \
    --email owner@switchboard.local --server-pid "$sb_pid" "${load[@]}" --json "$j" --series "$s" \
    > "$out/switchboard-$round.txt" 2>&1
  stop_server; sb_dir=
  [ -s "$j" ] || { echo "round $round switchboard: no figures (see $out/switchboard-$round.txt)"; return; }
  local f; f=$(figures switchboard "$round" "$j" "$s")
  echo "$f" >> "$out/figures.jsonl"
  line "$f"
}

for round in $(seq 1 "$rounds"); do
  # Alternate which one goes first, so drift of the machine hits both alike.
  if [ $((round % 2)) = 1 ]; then
    run_ejabberd "$round"; run_switchboard "$round"
  else
    run_switchboard "$round"; run_ejabberd "$round"
  fi
done

[ -s "$out/figures.jsonl" ] && jq -r -s '
  def median: sort | if length == 0 then null else .[(length - 1) / 2 | floor] end;
  def r3: if . == null then "n/a" else (. * 1000 | round / 1000 | tostring) end;
  group_by(.name) | map({key: .[0].name, value: {
    p50: map(.p50) | median, p95: map(.p95) | median, p99: map(.p99) | median,
    steady_p50: map(.steady_p50) | median, steady_p99: map(.steady_p99) | median,
    cpu_ms: map(.cpu_ms) | median, server_cpu_ms: map(.server_cpu_ms) | median,
    db_cpu_ms: map(.db_cpu_ms) | median, lost: map(.lost) | add}}) | from_entries |
  . as $m |
  (["p50", "p95", "p99", "steady_p50", "steady_p99", "cpu_ms", "server_cpu_ms", "db_cpu_ms"] | map(
    "median \(. + " " * (14 - length)) ejabberd \($m.ejabberd[.] | r3)  switchboard \($m.switchboard[.] | r3)  ratio switchboard/ejabberd \(
      if ($m.ejabberd[.] // 0) > 0 and $m.switchboard[.] != null then ($m.switchboard[.] / $m.ejabberd[.] | r3) else "n/a" end)"
  ) | .[]), "lost in all rounds: ejabberd \($m.ejabberd.lost) switchboard \($m.switchboard.lost)"
' "$out/figures.jsonl"
