#!/usr/bin/env bash
# Runs every test of the project: formatting, lints, Rust unit and integration tests (a private
# PostgreSQL cluster and real servers on loopback), the web unit tests (vitest) and the browser
# tests (Debian's Chromium driven by playwright-core against the real server).
# Installs what it needs when missing, so a clean machine (and CI) can run it as is.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root_install() {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian packages: $*"
    apt-get update -qq
    # A half-finished earlier install leaves "unmet dependencies": repair once, then retry.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null ||
      { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -f >/dev/null &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; }
  else
    echo "missing: $* (install these packages)" >&2
    exit 1
  fi
}

have_pg_server() {
  command -v initdb >/dev/null 2>&1 && command -v postgres >/dev/null 2>&1 && return 0
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
}

have_pg_server || as_root_install postgresql
command -v npm >/dev/null 2>&1 || as_root_install nodejs npm
[ -x /usr/bin/chromium ] || as_root_install chromium
# Several servers share fan-out through a real Redis the scale-out tests start (tests/common/redis.rs).
command -v redis-server >/dev/null 2>&1 || as_root_install redis-server
# The SMTP server that the e-mail alert tests start (tests/smtp_server.py).
command -v python3 >/dev/null 2>&1 || as_root_install python3
if ! python3 -c 'import aiosmtpd' >/dev/null 2>&1; then
  echo "installing the Python package aiosmtpd"
  # Debian's system Python refuses pip (PEP 668): then its own package.
  python3 -m pip install --quiet aiosmtpd 2>/dev/null || as_root_install python3-aiosmtpd
fi

# The web packages first: build.rs embeds web/dist in the binary.
(cd web && npm ci --no-audit --no-fund)

cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
# The integration tests' shared PostgreSQL cluster lives in a static, which is never dropped:
# stop it and remove its directory (gigabytes per run) when the tests are done, pass or fail.
clean_test_clusters() {
  pkill -f 'postgres -D /tmp/sb-test-' 2>/dev/null || true
  rm -rf /tmp/sb-test-* 2>/dev/null || true
}
trap clean_test_clusters EXIT
cargo test --workspace
clean_test_clusters

(cd web && npm test)
(cd web && SWITCHBOARD_BIN="$PWD/../target/debug/switchboard" npm run e2e)
