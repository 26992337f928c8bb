#!/bin/bash
# ejabberd 23.01 (Debian bookworm's package) on a private PostgreSQL 15 cluster, for the
# side-by-side load test. Source it, or run it:
#   loadtest/ejabberd/ejabberd.sh start [USERS] [WSPORT] [PGPORT]   prints the pids, leaves it running
#   loadtest/ejabberd/ejabberd.sh stop DIR                           stops what `start` printed
# Sourced:
#   start_ejabberd USERS WSPORT PGPORT  sets ej_dir, ej_pid (beam.smp), ej_pg_pid (postmaster),
#                                       ej_host; users are u1..uUSERS (password = user name)
#   stop_ejabberd                       stops both and removes ej_dir
# Runs as root (apt, and su to the ejabberd and postgres users).

ej_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ej_pgbin=/usr/lib/postgresql/15/bin

ensure_ejabberd() {
  # The PostgreSQL driver is only a Suggests of the ejabberd package.
  if ! command -v ejabberdctl > /dev/null || ! dpkg -s erlang-p1-pgsql > /dev/null 2>&1; then
    # The Docker-style policy-rc.d most images have keeps the package's service from starting;
    # without one the service is stopped below.
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ejabberd erlang-p1-pgsql >&2 ||
      return 1
  fi
  # The package's own node (ejabberd@localhost, /etc/ejabberd/ejabberd.yml) must not run: it
  # listens on the default ports and would share the machine's cores.
  if ejabberdctl status > /dev/null 2>&1; then
    echo "stopping the package's ejabberd service" >&2
    ejabberdctl stop > /dev/null 2>&1; ejabberdctl stopped > /dev/null 2>&1
  fi
  [ -x "$ej_pgbin/initdb" ] || { echo "PostgreSQL 15 server binaries not in $ej_pgbin" >&2; return 1; }
}

ej_pg() { su postgres -s /bin/sh -c "cd /tmp; $*"; }
ej_psql() { ej_pg "$ej_pgbin/psql -h '$ej_dir/sock' -p $ej_pgport -U postgres -X -q -v ON_ERROR_STOP=1 $*"; }
# ejabberdctl would `su` to the ejabberd user itself, and su's PAM session (pam_limits) puts
# the open-file limit back to 1024: the 983rd client could not connect. setpriv switches user
# without PAM, so the limit raised in start_ejabberd is kept.
ej_ctl() {
  setpriv --reuid=ejabberd --regid=ejabberd --init-groups env HOME=/var/lib/ejabberd \
    ejabberdctl --config-dir "$ej_dir" --ctl-config "$ej_dir/ejabberdctl.cfg" --spool "$ej_dir/spool" \
    --logs "$ej_dir/logs" "$@"
}

start_ejabberd() {
  local users=${1:-2001} wsport=${2:-5480} pgport=${3:-5481}
  ensure_ejabberd || return 1
  ej_dir=$(mktemp -d /tmp/ej-load-XXXX); chmod 755 "$ej_dir"
  ej_pgport=$pgport ej_host=lt.localhost
  local node="ejabberd-lt-$$@localhost"
  mkdir -p "$ej_dir/pg" "$ej_dir/sock" "$ej_dir/spool" "$ej_dir/logs"
  touch "$ej_dir/postgres.log"
  chown postgres: "$ej_dir/pg" "$ej_dir/sock" "$ej_dir/postgres.log"
  chown ejabberd: "$ej_dir/spool" "$ej_dir/logs"

  # The cluster: PostgreSQL's defaults (fsync and synchronous_commit on), as Switchboard's
  # embedded one; TCP on loopback for ejabberd (trust, this user only), a socket for psql.
  ej_pg "$ej_pgbin/initdb -D '$ej_dir/pg' -U postgres --auth=trust -E UTF8 --locale=C.UTF-8" \
    > "$ej_dir/initdb.log" 2>&1 || { cat "$ej_dir/initdb.log" >&2; return 1; }
  ej_pg "$ej_pgbin/pg_ctl -D '$ej_dir/pg' -l '$ej_dir/postgres.log' -w \
    -o \"-c listen_addresses=127.0.0.1 -p $pgport -c unix_socket_directories='$ej_dir/sock'\" start" \
    > /dev/null || { cat "$ej_dir/postgres.log" >&2; return 1; }
  ej_pg_pid=$(head -1 "$ej_dir/pg/postmaster.pid")
  ej_psql -c "\"CREATE ROLE ejabberd LOGIN PASSWORD 'ejabberd'\"" &&
    ej_psql -c "\"CREATE DATABASE ejabberd OWNER ejabberd\"" || return 1
  # The package's schema for the single-host layout (new_sql_schema is off by default).
  local schema=/usr/share/ejabberd/sql/pg.sql
  [ -f "$schema" ] || schema=$(ls /usr/lib/*/ejabberd-*/priv/sql/pg.sql 2>/dev/null | head -1)
  cp "$schema" "$ej_dir/pg.sql"; chmod 644 "$ej_dir/pg.sql"
  ej_pg "$ej_pgbin/psql -h '$ej_dir/sock' -p $pgport -U ejabberd -d ejabberd -X -q -v ON_ERROR_STOP=1 \
    -f '$ej_dir/pg.sql'" > /dev/null || return 1
  # One INSERT for all accounts; SASL PLAIN compares against the stored plain password.
  ej_pg "$ej_pgbin/psql -h '$ej_dir/sock' -p $pgport -U ejabberd -d ejabberd -X -q -v ON_ERROR_STOP=1 \
    -c \"INSERT INTO users (username, password) SELECT 'u' || i, 'u' || i FROM generate_series(1, $users) i\"" \
    > /dev/null || return 1

  sed -e "s|@HOST@|$ej_host|g" -e "s|@PGPORT@|$pgport|g" -e "s|@WSPORT@|$wsport|g" \
    "$ej_here/ejabberd.yml.in" > "$ej_dir/ejabberd.yml"
  sed -e "s|@NODE@|$node|g" -e "s|@DIR@|$ej_dir|g" "$ej_here/ejabberdctl.cfg.in" > "$ej_dir/ejabberdctl.cfg"
  # Erlang's resolver config, read from the config dir.
  cp /etc/ejabberd/inetrc "$ej_dir/inetrc" 2> /dev/null || echo '{lookup, [file, native]}.' > "$ej_dir/inetrc"
  chmod 644 "$ej_dir/ejabberd.yml" "$ej_dir/ejabberdctl.cfg" "$ej_dir/inetrc"
  # 2,000 sockets and their Erlang ports (the hard limit may be lower than 65,536).
  ulimit -n 65536 2> /dev/null || ulimit -n "$(ulimit -Hn)"
  ej_ctl start || return 1
  ej_ctl started || { tail -20 "$ej_dir/logs/ejabberd.log" >&2; return 1; }
  ej_pid=$(pgrep -u ejabberd -f "beam.smp.*-s?name $node" | head -1)
  [ -n "$ej_pid" ] || ej_pid=$(pgrep -u ejabberd -f "beam.smp.*$node" | head -1)
  for _ in $(seq 1 40); do
    (exec 3<> /dev/tcp/127.0.0.1/"$wsport") 2> /dev/null && break; sleep 0.25
  done
  echo "ejabberd $node: beam.smp pid $ej_pid, postmaster pid $ej_pg_pid, ws://127.0.0.1:$wsport/ws, host $ej_host, $users users, dir $ej_dir"
}

# The archive's rows (each chat message is archived for its sender and its receiver).
ejabberd_archive_rows() {
  ej_psql -d ejabberd -t -A -c "\"SELECT count(*) FROM archive\""
}

stop_ejabberd() {
  [ -n "${ej_dir:-}" ] || return 0
  ej_ctl stop > /dev/null 2>&1; ej_ctl stopped > /dev/null 2>&1
  ej_pg "$ej_pgbin/pg_ctl -D '$ej_dir/pg' -m fast -w stop" > /dev/null 2>&1
  rm -rf "$ej_dir"; ej_dir=
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -u
  case ${1:-} in
    start) start_ejabberd "${2:-2001}" "${3:-5480}" "${4:-5481}" ;;
    stop)
      ej_dir=${2:?usage: $0 stop DIR}
      ej_pgport=$(awk 'NR==4' "$ej_dir/pg/postmaster.pid" 2> /dev/null)
      stop_ejabberd ;;
    *) echo "usage: $0 start [USERS] [WSPORT] [PGPORT] | stop DIR" >&2; exit 2 ;;
  esac
fi
