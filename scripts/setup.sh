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

if ! command -v npm >/dev/null 2>&1; then
  log "installing Node.js and npm from Debian (for Leaflet and its plugins)"
  as_root apt-get update -qq && as_root apt-get install -y -qq nodejs npm >/dev/null
fi
lock_stamp="node_modules/.installed-$(sha256sum package-lock.json | cut -c1-16)"
if [ ! -f "$lock_stamp" ]; then
  log "installing front-end packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  touch "$lock_stamp"
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
