"""``/go/{id}`` under load: requests per second against a no-op endpoint, and scans stored vs 302s.

Run: ``.venv/bin/python bench/bench_go.py [--seconds 5] [--rounds 4] [--write-docs]`` (needs ``wrk``:
``apt-get install wrk``). Loopback only, bounded in time.

Both servers run ``gunicorn -w 2`` (sync workers); wrk, a separate process, requests ``/go/{id}`` for
random open stores, each request with its own phone User-Agent so that the per-client rate limit
(keyed by address and browser) does not turn the load into 429s. After each o2o round the number
of scan rows in the database is compared with the redirects wrk received.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (BENCH, Server, bench_env, machine_note, median, now_text, seed_database,  # noqa: E402
                     which_or_none, write_section)

LUA = r"""
local ids = {%(ids)s}
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) %% 100000)
request = function()
  local id = ids[math.random(#ids)]
  local ua = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 bench/" .. math.random(1, 2000000000)
  return wrk.format("GET", "/go/" .. id, {["User-Agent"] = ua})
end
done = function(s, latency, requests)
  io.write(string.format('BENCHJSON {"requests":%%d,"duration_us":%%d,"status_errors":%%d,"socket_errors":%%d,"p50_us":%%d,"p99_us":%%d}\n',
    s.requests, s.duration, s.errors.status, s.errors.connect + s.errors.read + s.errors.write + s.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def wrk(base: str, lua: Path, seconds: int) -> dict:
    out = subprocess.run(["wrk", "-t1", "-c8", f"-d{seconds}s", "--timeout", "10s", "-s", str(lua), base],
                         capture_output=True, text=True, timeout=seconds + 60)
    for line in out.stdout.splitlines():
        if line.startswith("BENCHJSON "):
            r = json.loads(line[9:])
            r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
            return r
    raise RuntimeError(out.stdout + out.stderr)


def scans(db: Path) -> int:
    con = sqlite3.connect(db)
    n = con.execute("SELECT count(*) FROM scans").fetchone()[0]
    con.close()
    return n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--write-docs", action="store_true")
    args = ap.parse_args()
    if not which_or_none("wrk"):
        print("wrk is needed: apt-get install wrk", file=sys.stderr)
        return 2
    started = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        db = tmp / "o2o.db"
        seed_database(db, 30000)
        con = sqlite3.connect(db)
        ids = [r[0] for r in con.execute("SELECT id FROM stores WHERE status = 'open'")]
        con.close()
        lua = tmp / "go.lua"
        lua.write_text(LUA % {"ids": ",".join(map(str, random.Random(11).sample(ids, 2000)))})
        env = bench_env(db)
        o2o = Server.gunicorn("app:app", 2, env, tmp / "o2o.log").start()
        noop = Server.gunicorn("noop_app:app", 2, env, tmp / "noop.log", chdir=BENCH).start()
        try:
            o2o.wait_ready("/healthz")
            noop.wait_ready("/go/1")
            wrk(o2o.base, lua, 2)  # warm-up (rows counted from here on)
            wrk(noop.base, lua, 2)
            rounds = []
            for i in range(args.rounds):
                order = [("o2o", o2o), ("noop", noop)] if i % 2 == 0 else [("noop", noop), ("o2o", o2o)]
                res = {}
                for name, server in order:
                    before = scans(db) if name == "o2o" else None
                    res[name] = wrk(server.base, lua, args.seconds)
                    if name == "o2o":
                        time.sleep(0.5)  # let the last in-flight requests finish
                        res["rows"] = scans(db) - before
                rounds.append(res)
        finally:
            o2o.stop()
            noop.stop()
    ok_302 = [r["o2o"]["requests"] - r["o2o"]["status_errors"] - r["o2o"]["socket_errors"] for r in rounds]
    rows = [r["rows"] for r in rounds]
    ratio = [r["o2o"]["rps"] / r["noop"]["rps"] for r in rounds]
    lines = [
        "| endpoint | requests/s | × no-op (range) | p50 ms | p99 ms | non-3xx | socket errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
        f"| no-op `/go/<id>` (`jsonify({{'ok': True}})`) | {median([r['noop']['rps'] for r in rounds]):,.0f} | 1 (baseline) | "
        f"{median([r['noop']['p50_us'] for r in rounds]) / 1000:.2f} | {median([r['noop']['p99_us'] for r in rounds]) / 1000:.2f} | "
        f"{sum(r['noop']['status_errors'] for r in rounds)} | {sum(r['noop']['socket_errors'] for r in rounds)} |",
        f"| o2o `/go/<id>`: record the scan, then 302 | {median([r['o2o']['rps'] for r in rounds]):,.0f} | "
        f"{median(ratio):.0%} ({min(ratio):.0%}–{max(ratio):.0%}) | {median([r['o2o']['p50_us'] for r in rounds]) / 1000:.2f} | "
        f"{median([r['o2o']['p99_us'] for r in rounds]) / 1000:.2f} | {sum(r['o2o']['status_errors'] for r in rounds)} | "
        f"{sum(r['o2o']['socket_errors'] for r in rounds)} |",
        "",
        "| round | 302s wrk received | scan rows stored | rows − 302s |",
        "|---:|---:|---:|---:|",
        *(f"| {i + 1} | {a:,} | {b:,} | {b - a} |" for i, (a, b) in enumerate(zip(ok_302, rows))),
        "",
        "Rows minus 302s is never negative: every redirect had its row first. A positive difference is "
        "requests the server finished after wrk's clock stopped (at most the 8 open connections).",
    ]
    body = "\n".join(["## QR deep link `/go/{id}` under load", "",
                      f"Run {now_text()} in {(time.time() - started) / 60:.1f} min: `.venv/bin/python bench/bench_go.py "
                      f"--write-docs` ({args.rounds} rounds of {args.seconds} s, order alternating; medians).", "",
                      *lines, "", machine_note()])
    print(body)
    if args.write_docs:
        write_section("bench_go", body)
    return 0 if all(b >= a for a, b in zip(ok_302, rows)) else 1


if __name__ == "__main__":
    sys.exit(main())
