#!/usr/bin/env bash
# Runs the whole test suite: installs what the tests need, then pytest (arguments pass through).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
exec .venv/bin/python -m pytest "$@"
