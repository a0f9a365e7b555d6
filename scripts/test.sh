#!/usr/bin/env bash
# Runs the whole test suite: installs what the tests need, then pytest (arguments pass through).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
# Set-up has installed and started PostgreSQL with PostGIS: its half of the suite must run, not skip.
# (O2O_SKIP_POSTGIS=1 skips both the set-up and that half, on a machine that cannot have it.)
if [ "${O2O_SKIP_POSTGIS:-0}" != 1 ]; then export O2O_REQUIRE_POSTGIS=1; fi
# Two processes (pytest-xdist), a test file per process at a time (its module fixtures stay in one
# process): most tests wait on servers and browsers, so two halve the suite's time on two cores.
# O2O_TEST_WORKERS=0 runs in one process; the slowest tests are listed at the end.
WORKERS=${O2O_TEST_WORKERS:-2}
if [ "$WORKERS" = 0 ]; then
  exec .venv/bin/python -m pytest --durations=25 "$@"
fi
exec .venv/bin/python -m pytest -n "$WORKERS" --dist loadfile --durations=25 "$@"
