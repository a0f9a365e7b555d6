#!/usr/bin/env bash
# Installs what o2o needs, idempotently: a Python virtualenv with the pinned requirements and the
# front-end packages from npm (served by the app itself). With --test, also what the tests need:
# the test requirements and Debian's Chromium for the browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
want_test=0
[ "${1:-}" = "--test" ] && want_test=1

log() { printf '[setup] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  log "creating .venv with $($PY --version)"
  $PY -m venv .venv
fi

req=requirements.txt
[ $want_test = 1 ] && req=requirements-dev.txt
stamp=".venv/.installed-$(cat requirements*.txt | sha256sum | cut -c1-16)-$want_test"
if [ ! -f "$stamp" ]; then
  log "installing Python packages from $req"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$req"
  touch "$stamp"
fi

# The message catalogues (translations/*/LC_MESSAGES/messages.po): .mo files are not kept in git.
# (The app also compiles a missing or stale one when it starts.)
.venv/bin/pybabel -q compile -d translations

if ! command -v npm >/dev/null 2>&1; then
  log "installing Node.js and npm from Debian (for Leaflet and its plugins)"
  as_root apt-get update -qq && as_root apt-get install -y -qq nodejs npm >/dev/null
fi
# The app needs only the dependencies; the tests also need the devDependencies (axe-core). Each kind
# of install has its own stamp; a full install also serves the app, so run.sh and test.sh don't undo
# each other.
lock_hash=$(sha256sum package-lock.json | cut -c1-16)
full_stamp="node_modules/.installed-$lock_hash-full"
app_stamp="node_modules/.installed-$lock_hash-app"
if [ $want_test = 1 ] && [ ! -f "$full_stamp" ]; then
  log "installing front-end packages with the test tools (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  touch "$full_stamp"
elif [ $want_test = 0 ] && [ ! -f "$full_stamp" ] && [ ! -f "$app_stamp" ]; then
  log "installing front-end packages (npm ci --omit=dev)"
  npm ci --omit=dev --no-audit --no-fund --loglevel=error >/dev/null
  touch "$app_stamp"
fi
# Lighthouse (bench/lighthouse, a package of its own) for the tests that run its deterministic audits.
if [ $want_test = 1 ]; then
  lh_stamp="bench/lighthouse/node_modules/.installed-$(sha256sum bench/lighthouse/package-lock.json | cut -c1-16)"
  if [ ! -f "$lh_stamp" ]; then
    log "installing Lighthouse for the tests (npm ci in bench/lighthouse)"
    (cd bench/lighthouse && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    touch "$lh_stamp"
  fi
fi

if [ $want_test = 1 ]; then
  missing=""
  [ -x /usr/bin/chromium ] || missing="$missing chromium"
  [ -d /usr/share/fonts/opentype/noto ] || missing="$missing fonts-noto-cjk"
  command -v pdftoppm >/dev/null 2>&1 || missing="$missing poppler-utils"
  if [ -n "$missing" ]; then
    log "installing from Debian for the tests:$missing"
    as_root apt-get update -qq && as_root apt-get install -y -qq $missing >/dev/null
  fi
fi

if [ $want_test = 1 ] && [ "${O2O_SKIP_POSTGIS:-0}" != 1 ]; then
  # The PostGIS half of the suite: PostgreSQL 15 with PostGIS, running, the extension creatable.
  if ! dpkg -s postgresql-15-postgis-3 >/dev/null 2>&1; then
    log "installing PostGIS from Debian (postgresql-15-postgis-3)"
    as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15-postgis-3 >/dev/null
  fi
  if command -v pg_lsclusters >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 -p 5432; then
    log "starting PostgreSQL"
    for version in $(ls /etc/postgresql 2>/dev/null); do
      as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    done
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
  if pg_isready -q -h 127.0.0.1 -p 5432; then
    # The tests make their own databases (from a template with the extension); this checks it can be made.
    { psql -h 127.0.0.1 -U postgres -d test -qAtc "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null 2>&1 \
      || psql -h 127.0.0.1 -U postgres -d postgres -qAtc "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null 2>&1; } \
      && log "PostgreSQL with PostGIS is ready on 127.0.0.1:5432" \
      || log "PostgreSQL is up but PostGIS could not be created: its tests will be skipped"
  else
    log "PostgreSQL is not reachable on 127.0.0.1:5432: the PostGIS tests will be skipped"
  fi
fi
