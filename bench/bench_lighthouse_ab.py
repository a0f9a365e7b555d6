#!/usr/bin/env python
"""Lighthouse on two versions of the app side by side: a change's effect on a busy machine.

    .venv/bin/python bench/bench_lighthouse_ab.py BEFORE AFTER --pages brand --runs 3

BEFORE and AFTER are commits (``git archive`` of each into a temporary folder, sharing this
checkout's ``.venv`` and ``node_modules``; ``.`` means the working tree as it is). One 30,000-store
database is seeded once and copied for each; both apps run at once (``scripts/run.sh``, gunicorn,
2 workers, the offline basemap), and the Lighthouse runs alternate between them (before, after,
before, after, …), so the load other work puts on the machine falls on both alike. Prints the
median scores and metrics of each, as :mod:`bench_lighthouse` does for one version.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, Server, bench_env, free_port, http_get, seed_database  # noqa: E402
from bench_lighthouse import CATEGORIES, RESULTS, ensure_lighthouse, failing_text, pages, run_lighthouse, summarise, table  # noqa: E402

SHARED = [".venv", "node_modules", "bench/lighthouse/node_modules"]


def checkout(rev: str, where: Path) -> Path:
    """The tree of ``rev`` in ``where`` (``.``: this checkout itself)."""
    if rev == ".":
        return ROOT
    where.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(where)], input=archive, check=True)
    for name in SHARED:
        (where / name).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(ROOT / name, where / name)
    return where


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pages", nargs="+", metavar="WORD", default=["brand"])
    args = ap.parse_args()
    ensure_lighthouse()
    RESULTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="o2o-lighthouse-ab-") as tmp:
        tmp = Path(tmp)
        seed_database(tmp / "seed.db")
        servers, targets = {}, {}
        for label, rev in (("before", args.before), ("after", args.after)):
            root = checkout(rev, tmp / label)
            (tmp / f"{label}-db").mkdir()
            db = tmp / f"{label}-db" / "o2o.db"
            shutil.copy(tmp / "seed.db", db)
            port = free_port()
            servers[label] = Server([str(root / "scripts" / "run.sh")], port,
                                    bench_env(db, PORT=str(port), WORKERS="2"), tmp / f"{label}.log", cwd=root)
        reports: dict[str, dict[str, list]] = {"before": {}, "after": {}}
        try:
            for label, server in servers.items():
                server.start()
                server.wait_ready(timeout=600)
                found = pages(server.base)
                targets[label] = {n: p for n, p in found.items() if any(w in n for w in args.pages)}
                for path in targets[label].values():
                    http_get(server.base + path, timeout=120)
            for run in range(args.runs):
                for label, server in servers.items():
                    for name, path in targets[label].items():
                        out = RESULTS / f"ab-{label}-{name.replace(' ', '-').strip('/') or 'home'}-{run + 1}.json"
                        t0 = time.perf_counter()
                        try:
                            report = run_lighthouse(server.base + path, out)
                        except RuntimeError as exc:  # e.g. NO_NAVSTART on an overloaded machine: once more
                            print(f"  run {run + 1} {label} {name}: {str(exc).splitlines()[-1]}; again", flush=True)
                            report = run_lighthouse(server.base + path, out)
                        scores = {c: round(report["categories"][c]["score"] * 100) for c in CATEGORIES}
                        print(f"  run {run + 1} {label:<6} {name:<11} {scores}  ({time.perf_counter() - t0:.0f} s)",
                              flush=True)
                        reports[label].setdefault(name, []).append(report)
        finally:
            for server in servers.values():
                server.stop()
    for label in ("before", "after"):
        rows = summarise({"pages": targets[label], "reports": reports[label]})
        some = next(iter(reports[label].values()))[0]
        print(f"\n{label} ({args.before if label == 'before' else args.after}):\n"
              + table(rows, some["configSettings"], some["lighthouseVersion"])
              + "\n\nAudits that did not pass:\n" + failing_text(rows))


if __name__ == "__main__":
    main()
