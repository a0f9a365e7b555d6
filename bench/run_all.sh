#!/usr/bin/env bash
# Runs every benchmark in bench/, one after the other (~8-10 min on a 2-core machine).
#
#   bench/run_all.sh                # print the tables
#   bench/run_all.sh --write-docs   # also rewrite each benchmark's own section of docs/benchmarks.md
#   bench/run_all.sh --quick        # shorter runs (~2-3 min)
#
# Arguments are passed to each script. bench_http.py needs wrk (Debian: apt-get install wrk);
# bench_startup.py's page-weight part needs Playwright (requirements-dev.txt) and /usr/bin/chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
if [ ! -x "$PY" ]; then
  echo "no .venv: run scripts/setup.sh --test first" >&2
  exit 2
fi
status=0
for bench in bench_index.py bench_http.py bench_startup.py; do
  echo "=== bench/$bench $*"
  "$PY" "bench/$bench" "$@" || { echo "bench/$bench failed ($?)" >&2; status=1; }
done
exit $status
