#!/bin/bash
# User and system CPU of a server and of its embedded PostgreSQL (all its processes) over one
# native `loadtest run`:  cputimes.sh BINARY PORT LABEL  (VISITORS 2000 × RATE 0.2, 1 agent,
# DURATION 20s). Prints the load's report and the CPU seconds (user, system) of each side.
set -u
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
source loadtest/server.sh
bin=$1 port=$2 label=$3
lt="${LOADTEST:-${CARGO_TARGET_DIR:-target}/release/loadtest}"
start_server "$bin" "$port"
pgpid=$(head -1 "$sb_dir/postgres/data/postmaster.pid" 2>/dev/null || pgrep -P "$sb_pid" postgres | head -1)
tck=$(getconf CLK_TCK)
cpu() { # user and system ticks of a pid and its children still running
  local u=0 s=0
  for p in "$@"; do
    read -r pu ps < <(awk '{print $14, $15}' /proc/$p/stat 2>/dev/null || echo "0 0")
    u=$((u + pu)); s=$((s + ps))
  done
  echo "$u $s"
}
pgall() { echo "$pgpid $(pgrep -P "$pgpid" | tr '\n' ' ')"; }
# Backends end with the run, so PostgreSQL's side is read as the cumulative children's time
# of the postmaster (cutime/cstime, fields 16/17) plus the live processes.
pgcpu() {
  local u s cu cs
  read -r u s < <(cpu $(pgall))
  read -r cu cs < <(awk '{print $16, $17}' /proc/$pgpid/stat)
  echo "$((u + cu)) $((s + cs))"
}
read -r su0 ss0 < <(cpu $sb_pid); read -r pu0 ps0 < <(pgcpu)
echo "== $label $(date -u +%H:%M:%S) load: $(cut -d' ' -f1-3 /proc/loadavg)"
LOADTEST_PASSWORD=$sb_password "$lt" run --url http://127.0.0.1:$port --email owner@switchboard.local \
  --visitors "${VISITORS:-2000}" --rate-per-visitor "${RATE:-0.2}" --agents 1 \
  --duration "${DURATION:-20s}" --server-pid $sb_pid --quiet 2>&1 \
  | grep -E "^(messages|visitor→agent|errors)"
read -r su1 ss1 < <(cpu $sb_pid); read -r pu1 ps1 < <(pgcpu)
awk -v a=$((su1-su0)) -v b=$((ss1-ss0)) -v c=$((pu1-pu0)) -v d=$((ps1-ps0)) -v t=$tck \
  'BEGIN { printf "cpu_s: server user %.2f sys %.2f | postgres user %.2f sys %.2f\n", a/t, b/t, c/t, d/t }'
stop_server
