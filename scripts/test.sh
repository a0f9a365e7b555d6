#!/usr/bin/env bash
# Runs the whole test suite: installs what the tests need, then pytest (arguments pass through).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
# Set-up has installed and started PostgreSQL with PostGIS: its half of the suite must run, not skip.
# (O2O_SKIP_POSTGIS=1 skips both the set-up and that half, on a machine that cannot have it.)
if [ "${O2O_SKIP_POSTGIS:-0}" != 1 ]; then export O2O_REQUIRE_POSTGIS=1; fi
exec .venv/bin/python -m pytest "$@"
