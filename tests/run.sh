#!/usr/bin/env bash
# Runs every test of the project: formatting, lints, unit tests, and the integration tests
# (which start a private PostgreSQL cluster and real servers on loopback).
# Installs what it needs when missing, so a clean machine (and CI) can run it as is.
set -euo pipefail
cd "$(dirname "$0")/.."

have_pg_server() {
  command -v initdb >/dev/null 2>&1 && command -v postgres >/dev/null 2>&1 && return 0
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
}

if ! have_pg_server; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing PostgreSQL server binaries (Debian package postgresql)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "PostgreSQL server binaries (initdb, postgres) are needed: install the postgresql package" >&2
    exit 1
  fi
fi

cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace
