"""A mixed festival load against gunicorn, then a check that nothing that succeeded was lost.

Run: ``.venv/bin/python bench/bench_load.py [--seconds 60] [--users 40] [--workers 2]
[--backend sqlite|postgis] [--write-docs]``

A throw-away database is seeded with the 30,000 demo stores; gunicorn serves it on a free
loopback port; locust (``bench/locustfile.py``, headless, a separate process) sends the mix:
nearby searches 60 %, viewports 25 %, ``/go`` scans 10 % (each from a different phone),
registrations 2 % and 20-row CSV imports 1 % (weights, so shares of tasks, not of requests).
Load stops after ``--seconds``; in-flight tasks get 10 s to finish; gunicorn stops gracefully.

Then every success is looked for in the database: each store's scan rows must be at least the
302s received for it, each 201 registration must be there with its code, each import's accepted
rows must be there. Any 5xx, any loss: exit status 1 (``tests/integration/test_load.py`` runs a
short version of exactly this). Loopback only, bounded in time and in users.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import VENV_BIN, Server, git_state, machine_note, now_text, write_section  # noqa: E402

RELIABILITY = ROOT / "docs" / "reliability.md"


def prepare(url: str, stores: int, tmp: Path) -> tuple[str, Path]:
    import numpy as np

    from o2o.services import accounts
    from o2o.services.seeding import seed
    from o2o.storage import open_repository

    repo = open_repository(url)
    repo.migrate()
    seed(repo, stores, 0, 20261111)
    _, key = accounts.create_retailer(repo, "Load Co", ["load.tmall.com"])
    rows = [r for r in repo.index_rows(0) if r[6] == "open"]
    rng = np.random.default_rng(3)
    sample = [[rows[i][1], rows[i][2], rows[i][0]] for i in rng.choice(len(rows), min(2000, len(rows)), replace=False)]
    repo.close()
    points = tmp / "points.json"
    points.write_text(json.dumps(sample))
    return key, points


def serve(url: str, workers: int, tmp: Path) -> Server:
    env = dict(os.environ, O2O_DATABASE_URL=url, O2O_SEED_STORES="0", O2O_SECRET_KEY="load-not-secret",
               O2O_TILES="none", O2O_WRITES_PER_MINUTE="1000000", PYTHONDONTWRITEBYTECODE="1")
    server = Server.gunicorn("app:app", workers, env, tmp / "gunicorn.log",
                             extra=["--graceful-timeout", "30", "--no-control-socket"])
    server.start().wait_ready(timeout=120, poll_s=0.1)
    return server


def run_locust(base: str, key: str, points: Path, tmp: Path, seconds: int, users: int) -> dict:
    out = tmp / "results.json"
    env = dict(os.environ, O2O_LOAD_POINTS=str(points), O2O_LOAD_KEY=key, O2O_LOAD_OUT=str(out),
               O2O_LOAD_RUN=str(int(time.time())))
    cmd = [str(VENV_BIN / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
           "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--stop-timeout", "10",
           "--host", base, "--csv", str(tmp / "stats"), "--only-summary", "--loglevel", "WARNING"]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=seconds + 120)
    if not out.exists():
        raise RuntimeError(f"locust wrote no results ({done.returncode}):\n{done.stderr[-3000:]}")
    results = json.loads(out.read_text())
    with open(tmp / "stats_stats.csv", newline="") as fh:
        results["stats"] = list(csv.DictReader(fh))
    return results


def verify(url: str, results: dict, restart: bool = False) -> dict:
    from o2o.storage import open_repository

    repo = open_repository(url)
    checks = {}
    def count(pred):
        return sum(n for by in results["status"].values() for code, n in by.items() if pred(code))

    if restart:
        # While the database restarts, a request may fail, but only cleanly: a 503 (or, for a
        # request caught in flight, no response), never a 500.
        checks["500s"] = (count(lambda c: c.startswith("5") and c != "503"), 0)
        checks["503s while the database restarted (allowed)"] = (count(lambda c: c == "503"), "any")
    else:
        checks["5xx (or no response)"] = (count(lambda c: c.startswith("5") or c == "0"), 0)
    # Scans: each store's rows ≥ the 302s received for it.
    rows = {}
    for batch in repo.scan_batches():
        for r in batch:
            rows[r[1]] = rows.get(r[1], 0) + 1
    short = sum(max(0, n - rows.get(int(sid), 0)) for sid, n in results["scans"].items())
    checks["scans: 302s without their row"] = (short, 0)
    checks["scans: 302s received / rows stored"] = (sum(results["scans"].values()), sum(rows.values()))
    # Registrations: each 201 is there, with its code.
    registered = results["registered"]
    found = {s["id"]: s["external_id"] for s in repo.get_stores([i for i, _ in registered])}
    missing = sum(1 for i, code in registered if found.get(i) != code)
    checks["registrations: 201s missing"] = (missing, 0)
    # Imports: every accepted row is there.
    lost = 0
    accepted = 0
    for imp in results["imported"]:
        rejected = set(imp["rejected"])
        codes = [c for n, c in enumerate(imp["codes"], start=1) if n not in rejected]  # rows count from 1
        accepted += len(codes)
        rid = repo.list_retailers()[-1]["id"]
        present = repo.find_store_ids(rid, codes)
        lost += len(codes) - len(present)
    checks["imports: accepted rows missing"] = (lost, 0)
    # Failed imports: each wholly absent or wholly present (committed just before its response was lost).
    rid = repo.list_retailers()[-1]["id"]
    partial = sum(1 for codes in results["failed_imports"]
                  if 0 < len(repo.find_store_ids(rid, codes)) < len(codes) - 2)
    checks["failed imports half-written"] = (partial, 0)
    repo.close()
    checks["_counts"] = {"registrations": len(registered), "imports": len(results["imported"]),
                         "imported rows": accepted}
    return checks


def table(results: dict, seconds: int) -> str:
    lines = ["| request | responses | req/s | p50 ms | p95 ms | p99 ms | max ms | 4xx | 5xx |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    by_name = {row["Name"]: row for row in results["stats"]}
    order = ["nearby", "viewport", "go", "register", "import", "Aggregated"]
    for name in order:
        row = by_name.get(name)
        if not row:
            continue
        codes = results["status"].get(name, {}) if name != "Aggregated" else {
            c: sum(by.get(c, 0) for by in results["status"].values())
            for c in {c for by in results["status"].values() for c in by}}
        four = sum(n for c, n in codes.items() if c.startswith("4"))
        five = sum(n for c, n in codes.items() if c.startswith("5") or c == "0")
        label = "**all**" if name == "Aggregated" else f"`{name}`"
        lines.append(f"| {label} | {sum(codes.values()):,} | {float(row['Requests/s']):,.0f} | "
                     f"{row['50%']} | {row['95%']} | {row['99%']} | {float(row['Max Response Time']):,.0f} | "
                     f"{four} | {five} |")
    fours = [f"`{name}` {code}×{n}" for name, by in sorted(results["status"].items())
             for code, n in sorted(by.items()) if code.startswith("4")]
    lines += ["", "4xx by request and status: " + (", ".join(fours) if fours else "none") + "."]
    return "\n".join(lines)


class Restarter(threading.Thread):
    """Restarts the local PostgreSQL cluster(s) after a delay, timing how long it took."""

    def __init__(self, delay: float):
        super().__init__(daemon=True)
        self.delay = delay
        self.took = float("nan")

    def run(self):
        time.sleep(self.delay)
        t0 = time.perf_counter()
        for version in sorted(os.listdir("/etc/postgresql")):
            subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart", "-m", "fast"],
                           check=True, capture_output=True, timeout=120)
        self.took = time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--users", type=int, default=40)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--stores", type=int, default=30_000)
    ap.add_argument("--backend", choices=["sqlite", "postgis"], default="sqlite")
    ap.add_argument("--restart-db-at", type=float, default=None, metavar="SECONDS",
                    help="postgis: restart PostgreSQL this many seconds into the load (pg_ctlcluster)")
    ap.add_argument("--write-docs", action="store_true")
    args = ap.parse_args()
    if args.restart_db_at is not None and args.backend != "postgis":
        ap.error("--restart-db-at needs --backend postgis")
    if not 1 <= args.seconds <= 600 or not 1 <= args.users <= 500:
        ap.error("--seconds must be 1-600 and --users 1-500 (this is a bounded, loopback-only load)")
    started = time.perf_counter()
    note = machine_note()
    pg = None
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        if args.backend == "postgis":
            from bench.bench_backends import PgDatabases

            pg = PgDatabases()
            url = pg.new()
        else:
            url = f"sqlite:///{tmp / 'load.db'}"
        try:
            key, points = prepare(url, args.stores, tmp)
            server = serve(url, args.workers, tmp)
            restarter = None
            if args.restart_db_at is not None:
                restarter = Restarter(args.restart_db_at)
                restarter.start()
            try:
                results = run_locust(server.base, key, points, tmp, args.seconds, args.users)
            finally:
                if restarter:
                    restarter.join()
                server.stop()  # SIGTERM: gunicorn lets in-flight requests finish
            checks = verify(url, results, restart=restarter is not None)
        finally:
            if pg:
                pg.close()
    counts = checks.pop("_counts")
    ok = all(got == want for name, (got, want) in checks.items() if "/" not in name and want != "any")
    ok = ok and checks["scans: 302s received / rows stored"][0] <= checks["scans: 302s received / rows stored"][1]
    report = table(results, args.seconds)
    check_lines = ["| check | measured | required |", "|---|---:|---:|"]
    for name, (got, want) in checks.items():
        required = "rows ≥ 302s" if "/" in name else f"{want}"
        if restarter and name.startswith("503s"):
            got = f"{got:,} (restart took {restarter.took:.1f} s)"
        shown = got if isinstance(got, str) else f"{got:,}"
        check_lines.append(f"| {name} | {shown}" + (f" / {want:,}" if "/" in name else "") + f" | {required} |")
    body = "\n".join([
        f"### Load: {args.backend}, {args.workers} gunicorn workers, {args.users} users, {args.seconds} s"
        + (f", PostgreSQL restarted at {args.restart_db_at:g} s" if args.restart_db_at is not None else ""), "",
        f"Run {now_text()} in {(time.perf_counter() - started) / 60:.1f} min: "
        f"`.venv/bin/python bench/bench_load.py --backend {args.backend} --seconds {args.seconds} "
        f"--users {args.users} --workers {args.workers}"
        + (f" --restart-db-at {args.restart_db_at:g}" if args.restart_db_at is not None else "")
        + f" --write-docs` ({git_state()}; {note}).", "",
        "locust (headless, one process, on the same 2 cores as the server) → gunicorn on 127.0.0.1, "
        f"{args.stores:,} seeded stores. {counts['registrations']:,} registrations and {counts['imports']:,} "
        f"imports ({counts['imported rows']:,} rows) succeeded during the run.", "",
        report, "",
        "Responses and status columns count every response the users received, including the last "
        "10 s of in-flight tasks; req/s and the percentiles are locust's, over the timed window.", "",
        "Afterwards, in the database:", "", *check_lines, "",
        f"**{'Every check passed.' if ok else 'A CHECK FAILED.'}**",
    ])
    print(body)
    if args.write_docs:
        name = f"bench_load_{args.backend}" + ("_restart" if args.restart_db_at is not None else "")
        write_section(name, body, docs=RELIABILITY)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
