#!/usr/bin/env bash
# Runs every benchmark in bench/ (each bench/bench_*.py, in name order), one after the other.
#
#   bench/run_all.sh                # print the tables
#   bench/run_all.sh --write-docs   # also rewrite each benchmark's own section of docs/benchmarks.md
#   bench/run_all.sh --quick        # shorter runs where a benchmark offers them
#
# Each option is passed to the scripts that know it (those whose source names it) and left out for
# the others. Each script takes a few minutes at most. bench_http.py (and any other script using
# wrk) needs wrk: apt-get install wrk. bench_startup.py's page-weight part needs Playwright
# (requirements-dev.txt) and /usr/bin/chromium.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
if [ ! -x "$PY" ]; then
  echo "no .venv: run scripts/setup.sh --test first" >&2
  exit 2
fi
status=0
for script in bench/bench_*.py; do
  args=()
  for a in "$@"; do
    if grep -q -- "\"${a%%=*}\"" "$script"; then args+=("$a"); fi
  done
  echo "=== $script ${args[*]:-}"
  start=$(date +%s)
  if ! "$PY" "$script" "${args[@]}"; then
    echo "$script failed" >&2
    status=1
  fi
  echo "=== $script took $(( $(date +%s) - start )) s"
done
exit $status
