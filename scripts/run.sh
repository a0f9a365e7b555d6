#!/usr/bin/env bash
# Runs the app: installs what it needs, then serves it with gunicorn on http://127.0.0.1:${PORT:-8000}/.
# The first start of an empty database seeds the demo festival (O2O_SEED_STORES stores).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# gunicorn.conf.py (read from here) sets up Prometheus' multiprocess directory for /metrics.
# Logs: one JSON line per request with its X-Request-Id (O2O_JSON_LOGS=0 for gunicorn's plain lines).
export O2O_JSON_LOGS="${O2O_JSON_LOGS:-1}"
access_log=()
[ "$O2O_JSON_LOGS" = 0 ] && access_log=(--access-logfile -)
exec .venv/bin/gunicorn --config gunicorn.conf.py --workers "${WORKERS:-2}" --bind "${BIND:-127.0.0.1}:${PORT:-8000}" \
  --timeout 120 --no-control-socket "${access_log[@]}" app:app
