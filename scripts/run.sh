#!/usr/bin/env bash
# Runs the app: installs what it needs, then serves it with gunicorn on http://127.0.0.1:${PORT:-8000}/.
# The first start of an empty database seeds the demo festival (O2O_SEED_STORES stores).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/gunicorn --workers "${WORKERS:-2}" --bind "${BIND:-127.0.0.1}:${PORT:-8000}" \
  --timeout 120 --no-control-socket --access-logfile - app:app
