#!/usr/bin/env python
"""What the metrics and the request log cost ``nearby`` over HTTP: bench_http's measure, with and without.

    .venv/bin/python bench/bench_metrics.py               # 4 rounds of 3-s runs (~3 min)
    .venv/bin/python bench/bench_metrics.py --write-docs  # also rewrite its section of docs/benchmarks.md

Needs wrk (``apt-get install wrk``). Seeds 30,000 stores in a temp SQLite database (as
``bench_http.py`` does), starts four gunicorn servers side by side (``-w 2`` sync, loopback):
o2o with ``O2O_METRICS=0`` (no request hooks at all), o2o as shipped (metrics on: request id and
one histogram observation per request), o2o with ``O2O_JSON_LOGS=1`` too (a JSON line per request
into the server's log file), and bench_http's ceiling (``jsonify({"ok": True})``). Each round runs
every o2o variant back to back with the ceiling (order alternated), over bench_http's 200 shopper
positions, ``k=20``; the ratio of each run to its own ceiling run, median over rounds, is bench_http's
nearby ratio; the difference between the variants is the cost of the hooks.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    BENCH, Server, bench_env, fmt_int, git_state, machine_note, median, now_text, seed_database, which_or_none,
    write_section,
)
from bench_http import NEARBY, STORES, run_wrk, shopper_points, write_lua  # noqa: E402

SECTION = "bench_metrics"
VARIANTS = [
    ("off", "o2o, `O2O_METRICS=0` (no request hooks)", {"O2O_METRICS": "0"}),
    ("on", "o2o as shipped: metrics on (request id, one histogram observation)", {"O2O_METRICS_TOKEN": "bench"}),
    ("logs", "o2o, metrics on and `O2O_JSON_LOGS=1` (a JSON line per request)",
     {"O2O_METRICS_TOKEN": "bench", "O2O_JSON_LOGS": "1"}),
]


def server_cpu_s(server: Server) -> float:
    """CPU seconds (user + system) of the server's processes so far: on a shared machine requests/s
    follow whatever else runs, CPU per answer much less."""
    import psutil

    total = 0.0
    try:
        root = psutil.Process(server.proc.pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    for proc in procs:
        try:
            t = proc.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def in_process(db: Path, batches: int = 40, per_batch: int = 100) -> dict:
    """CPU µs per nearby request through the Flask test client, hooks off and on, in alternating
    batches (so drift cancels); and the two hooks alone (timeit, best of 7) beside a whole minimal
    request (``/healthz`` is not minimal: the ceiling app's route)."""
    import statistics
    import timeit

    sys.path.insert(0, str(BENCH.parent))
    import ceiling_app
    from o2o.web import create_app

    url = f"sqlite:///{db}"
    apps = {on: create_app({"DATABASE_URL": url, "SEED_STORES": 0, "SECRET_KEY": "b", "TILES": "none",
                            "METRICS": on, "METRICS_TOKEN": "bench"}) for on in (False, True)}
    clients = {on: a.test_client() for on, a in apps.items()}
    points = shopper_points(db)[:per_batch]
    paths = [f"{NEARBY}?lat={lat:.6f}&lon={lon:.6f}&k=20" for lat, lon in points]
    for c in clients.values():   # warm: the index, the feature cache, the search build thread
        for path in paths * 3:
            assert c.get(path).status_code == 200
        c.application.extensions["o2o"].search_sync.get(c.application.extensions["o2o"].repo())
    per = {False: [], True: []}
    for b in range(batches):
        for on in ((False, True) if b % 2 == 0 else (True, False)):
            t = time.process_time()
            for path in paths:
                clients[on].get(path)
            per[on].append((time.process_time() - t) / len(paths) * 1e6)
    app = apps[True]
    start, finish = app.before_request_funcs[None][0], app.after_request_funcs[None][0]
    with app.test_request_context(paths[0]):
        resp = app.response_class(b"{}")
        hooks = min(timeit.repeat(lambda: (start(), finish(resp)), number=20000, repeat=7)) / 20000 * 1e6
    ceiling = ceiling_app.app.test_client()
    ceil = min(timeit.repeat(lambda: ceiling.get("/"), number=2000, repeat=5)) / 2000 * 1e6
    off, on = statistics.median(per[False]), statistics.median(per[True])
    return {"off_us": off, "on_us": on, "hooks_us": hooks, "ceiling_us": ceil,
            "spread_off": (min(per[False]), max(per[False])), "spread_on": (min(per[True]), max(per[True]))}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--seconds", type=int, default=3)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--write-docs", action="store_true")
    args = ap.parse_args(argv)
    if not which_or_none("wrk"):
        print("needs wrk: apt-get install wrk", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    started, machine = now_text(), f"{git_state()}; {machine_note()}"
    os.environ["O2O_SEED_PRODUCTS"] = "false"   # nearby needs no catalogue: a quicker seed
    tmp = Path(tempfile.mkdtemp(prefix="o2o-bench-metrics-"))
    db = tmp / "o2o.db"
    print(f"seeding {STORES:,} stores in {tmp} …", flush=True)
    seed_database(db, STORES)
    points = shopper_points(db)
    lua = tmp / "nearby.lua"
    write_lua(lua, points)
    print("in process (Flask test client) …", flush=True)
    inproc = in_process(db)
    print(f"  nearby {inproc['off_us']:,.0f} µs hooks off, {inproc['on_us']:,.0f} µs on; the hooks alone "
          f"{inproc['hooks_us']:.1f} µs; a minimal Flask request {inproc['ceiling_us']:.0f} µs", flush=True)
    extra = ["--no-control-socket"]
    servers = {name: Server.gunicorn("app:app", 2, bench_env(db, **env), tmp / f"o2o-{name}.log", extra=extra)
               for name, _label, env in VARIANTS}
    servers["ceiling"] = Server.gunicorn("ceiling_app:app", 2, bench_env(db), tmp / "ceiling.log", chdir=BENCH,
                                         extra=extra)
    runs = {name: [] for name in servers}
    ratios = {name: [] for name, *_ in VARIANTS}
    cpu_ratios = {name: [] for name, *_ in VARIANTS}
    try:
        for s in servers.values():
            s.start()
        for name, s in servers.items():
            s.wait_ready("/" if name == "ceiling" else "/healthz", timeout=120)
        for name, s in servers.items():   # warm-up
            run_wrk(s.base, lua, NEARBY, "", 2, 1, args.connections)
        k = 0
        for rnd in range(args.rounds):
            order = VARIANTS if rnd % 2 == 0 else VARIANTS[::-1]
            for name, _label, _env in order:
                pair = [name, "ceiling"] if k % 2 == 0 else ["ceiling", name]
                k += 1
                got = {}
                for which in pair:
                    cpu0 = server_cpu_s(servers[which])
                    got[which] = run_wrk(servers[which].base, lua, NEARBY, "", args.seconds, 1, args.connections)
                    got[which]["cpu_us"] = ((server_cpu_s(servers[which]) - cpu0)
                                            / max(got[which]["requests"], 1) * 1e6)
                    runs[which].append(got[which])
                cpu_ratios[name].append(got[name]["cpu_us"] / got["ceiling"]["cpu_us"])
                ratios[name].append(got[name]["rps"] / got["ceiling"]["rps"])
                print(f"  round {rnd + 1} {name:5s} {got[name]['rps']:7.0f} req/s  ceiling {got['ceiling']['rps']:7.0f}"
                      f"  ratio {ratios[name][-1] * 100:4.1f} %  CPU/answer {got[name]['cpu_us']:6.0f} µs (ceiling "
                      f"{got['ceiling']['cpu_us']:4.0f})  non-2xx {got[name]['status']}", flush=True)
    finally:
        for s in servers.values():
            s.stop()
    rows = ["| server (`gunicorn -w 2` sync) | requests/s | × ceiling (range) | CPU per answer | ceiling's CPU ÷ this "
            "| p50 ms | p99 ms | non-2xx |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, label, _env in VARIANTS:
        rs, rat, crat = runs[name], ratios[name], cpu_ratios[name]
        rows.append(f"| {label} | {fmt_int(median(r['rps'] for r in rs))} | **{median(rat) * 100:.1f} %** "
                    f"({min(rat) * 100:.0f}–{max(rat) * 100:.0f} %) | {median(r['cpu_us'] for r in rs):,.0f} µs | "
                    f"**{100 / median(crat):.1f} %** | {median(r['p50_us'] for r in rs) / 1000:.2f} | "
                    f"{median(r['p99_us'] for r in rs) / 1000:.2f} | {sum(r['status'] for r in rs)} |")
    c = runs["ceiling"]
    rows.append(f"| ceiling: `jsonify({{\"ok\": True}})` | {fmt_int(median(r['rps'] for r in c))} | 1 (baseline) | "
                f"{median(r['cpu_us'] for r in c):,.0f} µs | 1 | "
                f"{median(r['p50_us'] for r in c) / 1000:.2f} | {median(r['p99_us'] for r in c) / 1000:.2f} | "
                f"{sum(r['status'] for r in c)} |")
    off, on, logs = (median(ratios[n]) for n in ("off", "on", "logs"))
    cpu = {n: median(r["cpu_us"] for r in runs[n]) for n in ("off", "on", "logs")}
    table = "\n".join(rows)
    print(table)
    elapsed = time.perf_counter() - t0
    body = "\n".join([
        "## Metrics and request log: what they cost `nearby`",
        "",
        f"`nearby` (k=20) over HTTP, bench_http's measure (ratio to the minimal Flask endpoint, paired runs), "
        f"with the request hooks off, on, and on with the JSON request log; {args.rounds} rounds of "
        f"{args.seconds} s per server, wrk `-t1 -c{args.connections}`, 200 shopper positions, 30,000 stores.",
        "",
        table,
        "",
        f"**Reading.** Over HTTP, metrics on keep {on / off * 100:.1f} % of the hook-free ratio to the ceiling "
        f"({on * 100:.1f} % vs {off * 100:.1f} %), and with the JSON request log {logs / off * 100:.1f} % "
        f"({logs * 100:.1f} %). In CPU per answer (the steadier measure on a shared machine) the hooks cost "
        f"{cpu['on'] - cpu['off']:+,.0f} µs ({(cpu['on'] / cpu['off'] - 1) * 100:+.1f} %), and with the JSON log "
        f"{cpu['logs'] - cpu['off']:+,.0f} µs ({(cpu['logs'] / cpu['off'] - 1) * 100:+.1f} %). Differences of a "
        "few per cent are within this machine's run-to-run noise.",
        "",
        f"**In process** (Flask test client, CPU time, 40 alternating batches of 100 nearby requests): "
        f"{inproc['off_us']:,.0f} µs per request with the hooks off, {inproc['on_us']:,.0f} µs on "
        f"({(inproc['on_us'] / inproc['off_us'] - 1) * 100:+.1f} %; batch ranges {inproc['spread_off'][0]:,.0f}–"
        f"{inproc['spread_off'][1]:,.0f} and {inproc['spread_on'][0]:,.0f}–{inproc['spread_on'][1]:,.0f} µs). "
        f"The two hooks alone (request id, timing, one histogram observation, the header; timeit, best of 7): "
        f"**{inproc['hooks_us']:.1f} µs**, {inproc['hooks_us'] / inproc['ceiling_us'] * 100:.1f} % of a whole "
        f"minimal Flask request ({inproc['ceiling_us']:.0f} µs, the ceiling app through the test client) "
        f"measured beside it.",
        "",
        f"Run {started} in {elapsed / 60:.1f} min: `.venv/bin/python bench/bench_metrics.py` ({machine}).",
    ])
    if args.write_docs:
        write_section(SECTION, body)
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
