# Sourced by the measuring scripts: a fresh server on its own data dir.
#   start_server BINARY PORT [ENV=value ...]  sets sb_pid, sb_dir and sb_password
#   stop_server                               stops it and removes its data dir
# Every login and visitor of a load comes from one address: the per-address limits are off.
export SWITCHBOARD_LOGINS_PER_MINUTE=0 SWITCHBOARD_VISITOR_SIGNUPS_PER_MINUTE=0

start_server() {
  local bin=$1 port=$2; shift 2
  sb_dir=$(mktemp -d /tmp/sb-load-XXXX); chmod 755 "$sb_dir"
  env "$@" "$bin" serve --data-dir "$sb_dir" --bind 127.0.0.1:"$port" > "$sb_dir.log" 2>&1 &
  sb_pid=$!
  for _ in $(seq 1 120); do grep -qs "password:" "$sb_dir.log" && break; sleep 0.5; done
  sleep 2
  sb_password=$(grep "password:" "$sb_dir.log" | awk '{print $2}')
}

stop_server() {
  kill "$sb_pid" 2>/dev/null; wait "$sb_pid" 2>/dev/null
  rm -rf "$sb_dir" "$sb_dir.log"
}
