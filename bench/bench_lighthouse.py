#!/usr/bin/env python
"""Lighthouse (the real one, npm ``lighthouse@12.2.3``, mobile profile) over the shopper's pages.

    .venv/bin/python bench/bench_lighthouse.py                # 3 runs of each page (~6 min)
    .venv/bin/python bench/bench_lighthouse.py --runs 5
    .venv/bin/python bench/bench_lighthouse.py --quick        # 1 run of each page
    .venv/bin/python bench/bench_lighthouse.py --write-docs   # also rewrite its section of docs/benchmarks.md
    .venv/bin/python bench/bench_lighthouse.py --pages brand  # only the pages whose name holds a word
                                                              # ("/", "store page", "brand page", "/my")

What it does:

1. installs Lighthouse into ``bench/lighthouse/`` (its own package.json and package-lock.json;
   ``npm ci`` when missing; 12.2.3 is the last version that runs on Node 20);
2. seeds a fresh 30,000-store SQLite database and starts the app as the README says,
   ``scripts/run.sh`` (gunicorn, 2 workers), with ``O2O_TILES=none`` (the offline basemap: no
   third-party tiles, whose speed is not the app's);
3. runs Lighthouse with its defaults (mobile form factor, simulated throttling: 150 ms RTT,
   1.6 Mbit/s, 4× CPU slowdown) and Debian's Chromium (``CHROME_PATH=/usr/bin/chromium``,
   ``--headless=new --no-sandbox``), in Chinese (``Accept-Language: zh-CN``), over ``/``, a store
   page, a brand page and ``/my``: the pages in turn, ``--runs`` times, each run a fresh browser;
4. prints the median score of each category per page, the median metrics, and every audit that
   did not pass in some run (with how many runs), and keeps each report in
   ``bench/results/lighthouse/``.

The performance score depends on the machine (simulated throttling multiplies the CPU time it
observes); the other three categories are deterministic, and ``tests/e2e/test_lighthouse_browser.py``
asserts them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    BENCH, ROOT, Server, bench_env, free_port, git_state, http_get, machine_note, median, now_text,
    seed_database, write_section,
)

SECTION = "bench_lighthouse"
STORES = 30000
LIGHTHOUSE_DIR = BENCH / "lighthouse"
LIGHTHOUSE = LIGHTHOUSE_DIR / "node_modules" / ".bin" / "lighthouse"
CHROMIUM = os.environ.get("O2O_CHROMIUM", "/usr/bin/chromium")
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage"
CATEGORIES = ["performance", "accessibility", "best-practices", "seo"]
METRICS = ["first-contentful-paint", "largest-contentful-paint", "total-blocking-time",
           "cumulative-layout-shift", "speed-index"]
RESULTS = BENCH / "results" / "lighthouse"
SHANGHAI = (31.2304, 121.4737)
# What was fixed after the first runs, and what remains (kept with the table when it is rewritten).
NOTES = """\
Fixed after the first runs (2026-11-29): accessibility was 97 on `/` (`target-size`: finder
markers were tab stops half covered by the sheet and the zoom control; they left the tab order,
the list and the map's keys being the keyboard's way) and best practices 96 on `/` and the store
page (`image-size-responsive`: Leaflet's marker shadow has no 2x image; hidden). axe-core
(`tests/e2e/test_accessibility_browser.py`) found and had fixed before: the red of the top bar,
buttons and distances (#e4393c, 4.24:1 with white) now #d7282b (4.97:1); folium's own viewport
meta (`maximum-scale=1, user-scalable=no`) on the store and brand pages, dropped; the analytics
tablist holding links. SEO was already 100 (meta descriptions). The brand page's clustering now
runs in chunks (`chunkedLoading`); under this machine's load no gain could be told from the noise.

What remains is performance, below the aim of 95 on every page here (most on `/` and the brand
page), for two reasons the traces name. (1) Main-thread work under a 4× CPU slowdown: on `/`, one Leaflet task of about
0.8 s draws the offline basemap's province outlines (`/geodata/provinces.geojson`, 15,800
vertices, 257 kB raw, 65 kB compressed) as SVG paths; simplifying that file for the country view
(or drawing it on a canvas) is the next step, left to the basemap's owner because a browser test
counts its SVG paths. On the brand page, clustering a brand's 1,000–1,700 stores in the browser
(the store list is inline in the page: 98 kB raw) is the cost; the finder's server-side clusters
would remove it. (2) This machine: simulated throttling multiplies the CPU time it observes, and
the 2-core VM ran other sessions' test suites at the same time (load average 8–11), so the same
page scored 60–77 across runs; the other three categories do not move."""


def ensure_lighthouse() -> Path:
    """``bench/lighthouse/node_modules/.bin/lighthouse``, installed with ``npm ci`` if missing."""
    if not LIGHTHOUSE.exists():
        print("installing Lighthouse into bench/lighthouse (npm ci)", flush=True)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=LIGHTHOUSE_DIR, check=True)
    return LIGHTHOUSE


def lighthouse_version() -> str:
    return json.loads((LIGHTHOUSE_DIR / "node_modules" / "lighthouse" / "package.json").read_text())["version"]


def run_lighthouse(url: str, out: Path, categories: list[str] | None = None, extra: list[str] | None = None,
                   lang: str = "zh-CN", timeout_s: float = 240) -> dict:
    """One Lighthouse run of ``url`` (a fresh headless Chromium); returns its JSON report (also
    written to ``out``). Used by the tests too (``categories``, ``extra``)."""
    argv = [str(ensure_lighthouse()), url, "--output=json", f"--output-path={out}", "--quiet",
            f"--chrome-flags={CHROME_FLAGS} --lang={lang}",
            "--extra-headers", json.dumps({"Accept-Language": f"{lang},{lang.split('-')[0]};q=0.9"})]
    if categories:
        argv.append("--only-categories=" + ",".join(categories))
    argv += extra or []
    env = dict(os.environ, CHROME_PATH=CHROMIUM)
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout_s)
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"lighthouse failed ({done.returncode}) on {url}:\n{done.stderr[-2000:]}")
    report = json.loads(out.read_text(encoding="utf-8"))
    if report.get("runtimeError"):
        raise RuntimeError(f"lighthouse on {url}: {report['runtimeError']}")
    return report


def failing_audits(report: dict, categories: list[str] | None = None) -> dict[str, str]:
    """``{audit id: title and value}`` of the audits in these categories that did not pass
    (score below 1; "not applicable", "informative" and "manual" audits have no score)."""
    failing = {}
    for name, category in report["categories"].items():
        if categories and name not in categories:
            continue
        for ref in category["auditRefs"]:
            audit = report["audits"][ref["id"]]
            if audit.get("score") is not None and audit["score"] < 1 and audit["scoreDisplayMode"] != "informative":
                if name == "performance" and ref.get("weight", 0) == 0 and audit["scoreDisplayMode"] != "binary":
                    continue  # diagnostics and opportunities without weight: shown in the report, not here
                value = audit.get("displayValue") or ""
                failing[ref["id"]] = f"{audit['title']}" + (f" ({value})" if value else "") + f" [{name}]"
    return failing


def pages(base: str) -> dict[str, str]:
    """The pages measured: ``/``, the store nearest People's Square, its brand's page, ``/my``."""
    status, body, _ = http_get(f"{base}/api/v1/stores/nearby?lat={SHANGHAI[0]}&lon={SHANGHAI[1]}&k=1", timeout=120)
    if status != 200:
        raise RuntimeError(f"nearby answered {status}")
    store_id = json.loads(body)["features"][0]["id"]
    status, html, _ = http_get(f"{base}/stores/{store_id}", timeout=120)
    brand = re.search(r'class="crumbs"><a href="(/brands/[^"]+)"', html.decode())
    if status != 200 or not brand:
        raise RuntimeError(f"the store page {store_id} answered {status} without its brand link")
    return {"/": "/", "store page": f"/stores/{store_id}", "brand page": brand.group(1), "/my": "/my"}


def measure(runs: int, workdir: Path, only: list[str] | None = None) -> dict:
    db = workdir / "o2o.db"
    print(f"seeding {STORES:,} stores", flush=True)
    seed_database(db, STORES)
    port = free_port()
    env = bench_env(db, PORT=str(port), WORKERS="2")
    server = Server([str(ROOT / "scripts" / "run.sh")], port, env, workdir / "server.log")
    RESULTS.mkdir(parents=True, exist_ok=True)
    reports: dict[str, list[dict]] = {}
    with server:
        server.wait_ready(timeout=300)
        targets = pages(server.base)
        if only:
            targets = {name: path for name, path in targets.items() if any(word in name for word in only)}
        for path in targets.values():  # warm the workers: the first page render imports folium
            http_get(server.base + path, timeout=120)
        for run in range(runs):
            for name, path in targets.items():
                out = RESULTS / f"{re.sub(r'[^a-z0-9]+', '-', name.strip('/') or 'home')}-{run + 1}.json"
                t0 = time.perf_counter()
                report = run_lighthouse(server.base + path, out)
                scores = {c: round(report["categories"][c]["score"] * 100) for c in CATEGORIES}
                print(f"  run {run + 1} {name:<11} {scores}  ({time.perf_counter() - t0:.0f} s)", flush=True)
                reports.setdefault(name, []).append(report)
    return {"pages": targets, "reports": reports}


def summarise(result: dict) -> dict:
    rows = {}
    for name, reports in result["reports"].items():
        failing: dict[str, list] = {}
        for report in reports:
            for audit, text in failing_audits(report).items():
                failing.setdefault(audit, [text, 0])[1] += 1
        rows[name] = {
            "path": result["pages"][name],
            "scores": {c: median([r["categories"][c]["score"] * 100 for r in reports]) for c in CATEGORIES},
            "min": {c: min(r["categories"][c]["score"] * 100 for r in reports) for c in CATEGORIES},
            "metrics": {m: median([r["audits"][m]["numericValue"] for r in reports]) for m in METRICS},
            "failing": failing,
            "runs": len(reports),
        }
    return rows


def table(rows: dict, settings: dict, version: str) -> str:
    t = settings["throttling"]
    lines = [
        f"Lighthouse {version}, `{settings['formFactor']}` form factor "
        f"({settings['screenEmulation']['width']}×{settings['screenEmulation']['height']}, "
        f"DPR {settings['screenEmulation']['deviceScaleFactor']}), {settings['throttlingMethod']} throttling "
        f"(RTT {t['rttMs']:.0f} ms, {t['throughputKbps'] / 1024:.1f} Mbit/s, CPU slowdown {t['cpuSlowdownMultiplier']:.0f}×); "
        "median of the runs, the lowest run in brackets where it differs.",
        "",
        "| page | performance | accessibility | best practices | SEO | FCP | LCP | TBT | CLS | SI |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in rows.items():
        cells = []
        for c in CATEGORIES:
            s, low = row["scores"][c], row["min"][c]
            cells.append(f"{s:.0f}" + (f" ({low:.0f})" if round(low) != round(s) else ""))
        m = row["metrics"]
        lines.append(f"| {name} (`{row['path']}`) | " + " | ".join(cells)
                     + f" | {m['first-contentful-paint'] / 1000:.1f} s | {m['largest-contentful-paint'] / 1000:.1f} s"
                     + f" | {m['total-blocking-time']:.0f} ms | {m['cumulative-layout-shift']:.3f} | {m['speed-index'] / 1000:.1f} s |")
    return "\n".join(lines)


def failing_text(rows: dict) -> str:
    lines = []
    for name, row in rows.items():
        for audit, (text, count) in sorted(row["failing"].items()):
            lines.append(f"- {name}: `{audit}` {text}, {count} of {row['runs']} runs")
    return "\n".join(lines) or "- none: every scored audit passed in every run"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="one run of each page")
    ap.add_argument("--write-docs", action="store_true")
    ap.add_argument("--pages", nargs="+", metavar="WORD", help="only the pages whose name holds one of these words")
    args = ap.parse_args()
    runs = 1 if args.quick else args.runs
    if args.pages and args.write_docs:
        sys.exit("--write-docs rewrites the table of every page: measure them all (no --pages)")
    if not os.path.exists(CHROMIUM) or not shutil.which("npm"):
        sys.exit(f"needs {CHROMIUM} and npm (scripts/setup.sh --test installs them)")
    ensure_lighthouse()
    note, state, when = machine_note(), git_state(), now_text()
    with tempfile.TemporaryDirectory(prefix="o2o-lighthouse-") as tmp:
        result = measure(runs, Path(tmp), args.pages)
    rows = summarise(result)
    some = next(iter(result["reports"].values()))[0]
    body = table(rows, some["configSettings"], some["lighthouseVersion"])
    print("\n" + body + "\n\nAudits that did not pass:\n" + failing_text(rows))
    if args.write_docs:
        write_section(SECTION, "\n".join([
            "## Lighthouse (mobile)",
            "",
            f"Measured {when} on {note}; {state}. `bench/bench_lighthouse.py` (rerun: "
            f"`.venv/bin/python bench/bench_lighthouse.py --write-docs`): a fresh {STORES:,}-store database, "
            "the app started as the README says (`scripts/run.sh`: gunicorn, 2 workers) with `O2O_TILES=none` "
            f"(the offline basemap), Debian's Chromium headless, Chinese (`Accept-Language: zh-CN`); {runs} "
            "runs of each page, the pages in turn, each run a fresh browser (a first visit: no cache, no "
            "service worker).",
            "",
            body,
            "",
            "Audits that did not pass (any category; the performance metrics' own audits included):",
            "",
            failing_text(rows),
            "",
            NOTES,
        ]))


if __name__ == "__main__":
    main()
