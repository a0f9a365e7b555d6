#!/usr/bin/env python
"""Start-up, seeding, page weight and viewport-response benchmarks.

    .venv/bin/python bench/bench_startup.py                 # all four parts (~2-3 min)
    .venv/bin/python bench/bench_startup.py --quick         # fewer runs (~1 min)
    .venv/bin/python bench/bench_startup.py --only cold,seed,page,viewport
    .venv/bin/python bench/bench_startup.py --write-docs    # also rewrite its section of docs/benchmarks.md

Parts:

* ``cold``: time from launching a fresh server process to its first successful ``/healthz``, on an
  already seeded 30,000-store database: ``gunicorn -w 1 app:app`` (target ≤ 2 s), ``gunicorn -w 2``
  (what ``scripts/run.sh`` starts) and ``flask --app app run``, against ``gunicorn -w 1`` serving
  ``bench/ceiling_app.py`` (the least a Flask app under gunicorn can take); alternating runs,
  medians. Also, in a fresh interpreter, the time to import ``o2o.web`` and to run ``create_app()``.
* ``seed``: ``flask --app app seed --stores 30000`` into a fresh, empty temp database, several runs,
  median (target ≤ 30 s); against ``flask --app app routes`` on an empty database (the same
  process start and app build, no seeding).
* ``page``: ``/`` in headless Chromium (Debian's ``/usr/bin/chromium`` driven by Playwright) with
  ``O2O_TILES=none``: the bytes of every response the page loads (document, scripts, CSS, images,
  API calls, the offline basemap GeoJSON) when it first settles, after choosing the biggest city
  in the city menu (zoom 12) and after zooming in to street level (zoom 16); target < 1.5 MB
  (1 MB = 1,000,000 B); the biggest items.
* ``viewport``: ``/api/v1/stores?bbox=…&zoom=Z`` for 1280 × 800-pixel viewports at zooms 3–18 centred
  on the 30 cities with most stores and on a grid over all of China, plus mismatched requests
  (the whole world or all of China with a street-level zoom); the most features any of them
  returns (must never exceed 500), counts and response sizes.

Servers only listen on 127.0.0.1; every run is bounded in time and count.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    BENCH, FLASK, HOST, PYTHON, ROOT, Server, bench_command, bench_env, browser_missing, fmt_bytes, free_port,
    git_state, http_get, keep_or_remove, machine_note, median, now_text, seed_database, show_section,
)

SECTION = "bench_startup"
STORES = 30000
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage"]
TARGET_COLD_S = 2.0
TARGET_SEED_S = 30.0
TARGET_PAGE_B = 1_500_000
MAX_FEATURES = 500
VIEW_W, VIEW_H = 1280, 800
NO_CTL = ["--no-control-socket"]  # gunicorn >= 25 shares ~/.gunicorn/gunicorn.ctl between servers otherwise


# ------------------------------------------------------------------------------ (a) cold start
def cold_start(db: Path, tmp: Path, runs: int) -> dict:
    env = bench_env(db)
    cases = [
        ("gunicorn_w1", "o2o: `gunicorn -w 1 app:app`", "/healthz",
         lambda: Server.gunicorn("app:app", 1, env, tmp / "cold.log", extra=NO_CTL)),
        ("ceiling_w1", "ceiling: `gunicorn -w 1 ceiling_app:app`", "/",
         lambda: Server.gunicorn("ceiling_app:app", 1, env, tmp / "cold.log", chdir=BENCH, extra=NO_CTL)),
        ("gunicorn_w2", "o2o: `gunicorn -w 2 app:app` (as `scripts/run.sh`)", "/healthz",
         lambda: Server.gunicorn("app:app", 2, env, tmp / "cold.log", extra=NO_CTL)),
        ("flask_run", "o2o: `flask --app app run`", "/healthz", None),
    ]
    times = {name: [] for name, *_ in cases}
    for i in range(runs):
        for name, _label, path, make in (cases if i % 2 == 0 else cases[::-1]):
            if make is None:
                port = free_port()
                srv = Server([FLASK, "--app", "app", "run", "--host", HOST, "--port", str(port)],
                             port, env, tmp / "cold.log")
            else:
                srv = make()
            with srv:
                t = srv.wait_ready(path, timeout=60, poll_s=0.005)
                if name.startswith("gunicorn"):
                    status, body, _ = http_get(srv.base + "/healthz")
                    assert status == 200 and json.loads(body)["stores"] == STORES, body
            times[name].append(t)
            print(f"  cold start {name:12s} run {i + 1}: {t:.2f} s", flush=True)
    out = {"cases": [{"key": n, "label": lab, "runs": times[n], "median": median(times[n])}
                     for n, lab, *_ in cases]}
    # In-process: import, then create_app(), in a fresh interpreter each time.
    code = ("import time, json; t0 = time.perf_counter(); import o2o.web as w; t1 = time.perf_counter();"
            " app = w.create_app(); t2 = time.perf_counter();"
            " print(json.dumps({'import': t1 - t0, 'create': t2 - t1}))")
    imp, create = [], []
    for _ in range(runs):
        r = subprocess.run([PYTHON, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        d = json.loads(r.stdout.strip().splitlines()[-1])
        imp.append(d["import"])
        create.append(d["create"])
    out["import_s"], out["create_s"] = median(imp), median(create)
    out["import_runs"], out["create_runs"] = imp, create
    print(f"  in-process: import o2o.web {out['import_s']:.2f} s, create_app() {out['create_s']:.2f} s")
    return out


# ------------------------------------------------------------------------------ (b) seeding
def seeding(tmp: Path, runs: int) -> dict:
    seeds, base = [], []
    for i in range(runs):
        d = tmp / f"seed{i}"
        order = ("seed", "routes") if i % 2 == 0 else ("routes", "seed")
        for kind in order:
            db = d / f"{kind}.db"
            if kind == "seed":
                t = seed_database(db, STORES, quiet=True)
                n = sqlite3.connect(db).execute("SELECT count(*) FROM stores").fetchone()[0]
                assert n == STORES, n
                seeds.append(t)
            else:
                db.parent.mkdir(parents=True, exist_ok=True)
                t0 = time.perf_counter()
                r = subprocess.run([FLASK, "--app", "app", "routes"], cwd=ROOT, env=bench_env(db),
                                   capture_output=True, text=True, timeout=120)
                assert r.returncode == 0, r.stderr
                base.append(time.perf_counter() - t0)
            print(f"  {kind:6s} run {i + 1}: {(seeds if kind == 'seed' else base)[-1]:.2f} s", flush=True)
        shutil.rmtree(d, ignore_errors=True)
    return {"seed_runs": seeds, "seed_s": median(seeds), "base_runs": base, "base_s": median(base)}


# ------------------------------------------------------------------------------ (c) page weight
class Tracker:
    def __init__(self):
        self.requests = []      # every request, in order
        self.inflight = set()
        self.last_change = time.perf_counter()

    def on_request(self, req):
        self.requests.append(req)
        self.inflight.add(req)
        self.last_change = time.perf_counter()

    def on_done(self, req):
        self.inflight.discard(req)
        self.last_change = time.perf_counter()

    def wait_idle(self, page, quiet_s=0.7, timeout_s=30.0):
        """Until no request has been in flight for ``quiet_s`` (the finder debounces by 200 ms)."""
        deadline = time.perf_counter() + timeout_s
        while time.perf_counter() < deadline:
            page.wait_for_timeout(100)
            if not self.inflight and time.perf_counter() - self.last_change >= quiet_s:
                return
        raise TimeoutError(f"page not idle after {timeout_s} s; in flight: {[r.url for r in self.inflight]}")


def describe(req, base: str) -> dict:
    resp = req.response()
    try:
        sizes = req.sizes()
    except Exception:  # noqa: BLE001 - a failed (aborted) request has no sizes
        sizes = {"responseBodySize": 0, "responseHeadersSize": 0}
    body = gz = 0
    if resp is not None:
        try:
            raw = resp.body()
            body = len(raw)
            ctype = resp.headers.get("content-type", "")
            textual = any(t in ctype for t in ("text", "json", "javascript", "svg", "xml"))
            # What-if: the same body gzip-compressed (level 6), for text types the app could compress.
            gz = len(gzip.compress(raw, 6)) if textual and body > 1000 else body
        except Exception:  # noqa: BLE001
            body = gz = 0
    url = req.url.replace(base, "")
    return {"url": url, "type": req.resource_type, "status": resp.status if resp else None,
            "failed": req.failure, "body_encoded": sizes.get("responseBodySize", 0),
            "headers": sizes.get("responseHeadersSize", 0), "body_decoded": body, "gzip": gz,
            "transferred": max(sizes.get("responseBodySize", 0), 0) + max(sizes.get("responseHeadersSize", 0), 0)}


def page_once(browser, base: str) -> dict:
    ctx = browser.new_context(viewport={"width": VIEW_W, "height": VIEW_H}, locale="zh-CN")
    page = ctx.new_page()
    tr = Tracker()
    errors = []
    page.on("request", tr.on_request)
    page.on("requestfinished", tr.on_done)
    page.on("requestfailed", tr.on_done)
    page.on("pageerror", lambda e: errors.append(str(e)))
    marks = {}
    t0 = time.perf_counter()
    page.goto(base + "/", wait_until="load")
    marks["load_s"] = time.perf_counter() - t0
    page.wait_for_selector("#results li", timeout=30000)
    tr.wait_idle(page)
    marks["initial"] = len(tr.requests)
    marks["initial_zoom"] = page.evaluate("o2oMap.getZoom()")
    city = page.eval_on_selector("#city option:nth-child(2)", "o => o.textContent")
    page.select_option("#city", "0")
    page.wait_for_function("o2oMap.getZoom() >= 12")
    tr.wait_idle(page)
    marks["city"] = len(tr.requests)
    marks["city_zoom"] = page.evaluate("o2oMap.getZoom()")
    page.evaluate("o2oMap.setZoom(16)")
    page.wait_for_function("o2oMap.getZoom() >= 16")
    tr.wait_idle(page)
    marks["street"] = len(tr.requests)
    marks["street_zoom"] = page.evaluate("o2oMap.getZoom()")
    items = [describe(r, base) for r in tr.requests]
    status = page.text_content("#status")
    ctx.close()
    stages = {}
    for stage in ("initial", "city", "street"):
        sel = items[: marks[stage]]
        stages[stage] = {"bytes": sum(i["transferred"] for i in sel),
                         "decoded": sum(i["body_decoded"] for i in sel),
                         "gzip": sum(i["gzip"] + max(i["headers"], 0) for i in sel),
                         "requests": len(sel), "failed": sum(1 for i in sel if i["failed"]),
                         "bad_status": sum(1 for i in sel if i["status"] and i["status"] >= 400)}
    return {"items": items, "marks": marks, "stages": stages, "city": city, "errors": errors,
            "status_text": status}


def page_weight(db: Path, tmp: Path, runs: int) -> dict:
    missing = browser_missing(CHROMIUM)
    if missing:
        return {"skipped": missing}
    from playwright.sync_api import sync_playwright

    env = bench_env(db)
    results = []
    with Server.gunicorn("app:app", 2, env, tmp / "page.log", extra=NO_CTL) as srv:
        srv.wait_ready("/healthz")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                for i in range(runs):
                    r = page_once(browser, srv.base)
                    results.append(r)
                    s = r["stages"]
                    print(f"  page run {i + 1}: initial {fmt_bytes(s['initial']['bytes'])} "
                          f"({s['initial']['requests']} requests), city {fmt_bytes(s['city']['bytes'])}, "
                          f"street {fmt_bytes(s['street']['bytes'])}", flush=True)
            finally:
                browser.close()
    summary = {}
    for stage in ("initial", "city", "street"):
        summary[stage] = {k: median(r["stages"][stage][k] for r in results)
                          for k in ("bytes", "decoded", "gzip", "requests", "failed", "bad_status")}
        summary[stage]["max_bytes"] = max(r["stages"][stage]["bytes"] for r in results)
    # The run whose street-level total is the median one, for the item list.
    rep = sorted(results, key=lambda r: r["stages"]["street"]["bytes"])[len(results) // 2]
    return {"runs": len(results), "summary": summary, "representative": rep,
            "load_s": median(r["marks"]["load_s"] for r in results),
            "errors": sorted({e for r in results for e in r["errors"]})}


# ------------------------------------------------------------------------------ (d) viewports
def _merc(lon, lat, z):
    scale = 256 * 2 ** z
    lat = max(min(lat, 85.05112878), -85.05112878)
    x = (lon + 180) / 360 * scale
    y = (1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi) / 2 * scale
    return x, y


def _unmerc(x, y, z):
    scale = 256 * 2 ** z
    lon = x / scale * 360 - 180
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / scale))))
    return lon, lat


def view_bbox(lon, lat, z, w=VIEW_W, h=VIEW_H):
    """The bbox a w × h-pixel Leaflet map centred on (lon, lat) at zoom z shows, clamped as the
    finder clamps it."""
    x, y = _merc(lon, lat, z)
    w_lon, n_lat = _unmerc(x - w / 2, y - h / 2, z)
    e_lon, s_lat = _unmerc(x + w / 2, y + h / 2, z)
    return (max(w_lon, -180.0), max(s_lat, -90.0), min(e_lon, 180.0), min(n_lat, 90.0))


def viewport(db: Path, tmp: Path, quick: bool) -> dict:
    conn = sqlite3.connect(db)
    cities = conn.execute(
        "SELECT city, avg(lon), avg(lat), count(*) AS n FROM stores WHERE status = 'open' AND city IS NOT NULL"
        " GROUP BY province, city ORDER BY n DESC LIMIT ?", (10 if quick else 30,)).fetchall()
    conn.close()
    step = 10 if quick else 6
    grid = [(lon, lat) for lon in range(76, 135, step) for lat in range(20, 53, step)]
    centres = [(lon, lat) for _c, lon, lat, _n in cities] + [(float(a), float(b)) for a, b in grid]
    env = bench_env(db)
    rows = []
    with Server.gunicorn("app:app", 2, env, tmp / "viewport.log", extra=NO_CTL) as srv:
        srv.wait_ready("/healthz")

        def get(bbox, zoom, label, extra="", city=False):
            q = "bbox=" + ",".join(f"{v:.6f}" for v in bbox) + (f"&zoom={zoom}" if zoom is not None else "") + extra
            t0 = time.perf_counter()
            status, body, _ = http_get(f"{srv.base}/api/v1/stores?{q}", timeout=30)
            ms = (time.perf_counter() - t0) * 1000
            assert status == 200, (q, status, body[:300])
            data = json.loads(body)
            feats = data["features"]
            clusters = sum(1 for f in feats if f["properties"].get("cluster"))
            rows.append({"label": label, "zoom": zoom, "bbox": bbox, "features": len(feats), "clusters": clusters,
                         "stores": len(feats) - clusters, "total": data.get("total"), "bytes": len(body),
                         "ms": ms, "extra": extra, "city": city,
                         "points": sum(f["properties"]["point_count"] if f["properties"].get("cluster") else 1
                                       for f in feats)})

        for z in range(3, 19):
            for i, (lon, lat) in enumerate(centres):
                get(view_bbox(lon, lat, z), z, "city/grid", city=i < len(cities))
        world = (-180.0, -90.0, 180.0, 90.0)
        china = (73.0, 18.0, 135.0, 54.0)
        for z in [None, 0, 3, 5, 10, 15, 18, 22]:
            get(world, z, "world")
            get(china, z, "china")
        for z in (5, 12, 18):
            get(world, z, "world", "&brand=Anta")
            get(view_bbox(*centres[0], z), z, "city brand", "&brand=Anta")
    by_zoom = []
    for z in range(3, 19):
        sel = [r for r in rows if r["label"] == "city/grid" and r["zoom"] == z]
        town = [r for r in sel if r["city"]]  # medians over the city-centred viewports only
        by_zoom.append({"zoom": z, "n": len(sel), "max_features": max(r["features"] for r in sel),
                        "median_features": median(r["features"] for r in town),
                        "max_total": max(r["total"] for r in sel),
                        "max_stores": max(r["stores"] for r in sel),
                        "median_bytes": median(r["bytes"] for r in town), "max_bytes": max(r["bytes"] for r in sel),
                        "median_ms": median(r["ms"] for r in town), "max_ms": max(r["ms"] for r in sel)})
    special = [r for r in rows if r["label"] != "city/grid"]
    bad_counts = [r for r in rows if r["points"] != r["total"]]
    return {"by_zoom": by_zoom, "special": special, "requests": len(rows),
            "max_features": max(r["features"] for r in rows), "centres": len(centres),
            "cities": len(cities), "grid": len(grid), "count_mismatch": len(bad_counts),
            "max_bytes": max(r["bytes"] for r in rows)}


# ------------------------------------------------------------------------------ report
def ok(flag: bool) -> str:
    return "✓" if flag else "✗"


def page_reading(rep: dict, sm: dict) -> str:
    geo = [i for i in rep["items"] if i["url"].startswith("/geodata/")]
    geo_b = sum(i["transferred"] for i in geo)
    total = sum(i["transferred"] for i in rep["items"]) or 1
    text = (f"**Reading.** The offline basemap's GeoJSON is {geo_b / total * 100:.0f} % of all bytes "
            f"({fmt_bytes(geo_b)}). The \"what-if\" column is the same responses with every text body over 1 kB "
            "gzip-compressed (level 6), computed here from the bodies received — the app itself sends "
            "them uncompressed.")
    if sm["street"]["max_bytes"] >= TARGET_PAGE_B:
        text += (" Suggested changes in `o2o/` (not made here): serve `/geodata/*.geojson` (and the other text "
                 "responses) gzip-compressed when the request accepts it — compress the cached "
                 "`outlines_geojson` bytes once per process (`Content-Encoding: gzip`, `Vary: Accept-Encoding`); "
                 "simplify city outlines more coarsely for the screen (measured once, on 2026-11-24: in "
                 "`o2o/basemap.py` a tolerance of 0.01° with 0.001° precision instead of 0.004°/0.0001° took "
                 "`cities.geojson` from 2.8 MB to 1.2 MB, 0.32 MB gzipped), or fetch city outlines by bounding box as the district outlines already are.")
    return text


def docs_section(res: dict, args, started: str, elapsed: float, machine: str, cmd: str) -> str:
    out = ["## Start-up, seeding, page weight, viewport responses", ""]
    verdicts = []
    if "cold" in res:
        c = res["cold"]
        cases = {x["key"]: x for x in c["cases"]}
        w1 = cases["gunicorn_w1"]["median"]
        verdicts.append(f"cold start {w1:.2f} s {ok(w1 <= TARGET_COLD_S)}")
        ceil = cases["ceiling_w1"]["median"]
        out += ["### Cold start", "",
                f"Seconds from launching the server process to its first `200` on `/healthz` (the ceiling app: on `/`), "
                f"on a seeded 30,000-store database; median of {len(cases['gunicorn_w1']['runs'])} runs, case order "
                "alternating; × = ratio to the ceiling app's median of the same run.", "",
                "| process | median s | × ceiling | runs (s) |", "|---|---:|---:|---|"]
        for x in c["cases"]:
            ratio = "1 (baseline)" if x["key"] == "ceiling_w1" else f"{x['median'] / ceil:.1f}×"
            mark = f" {ok(x['median'] <= TARGET_COLD_S)}" if x["key"] in ("gunicorn_w1", "flask_run") else ""
            out.append(f"| {x['label']} | **{x['median']:.2f}**{mark} | {ratio} | "
                       + ", ".join(f"{v:.2f}" for v in x["runs"]) + " |")
        out += ["", f"In a fresh interpreter: `import o2o.web` {c['import_s']:.2f} s, then `create_app()` "
                f"{c['create_s']:.2f} s (migrate check, load the 30,000 stores into the index, import and "
                f"register the blueprints), {c['import_s'] + c['create_s']:.2f} s together (medians of "
                f"{len(c['import_runs'])} runs).", "",
                f"**Target** (a fresh `gunicorn -w 1` or `flask run` ready ≤ {TARGET_COLD_S:g} s): "
                + ("met." if w1 <= TARGET_COLD_S and cases["flask_run"]["median"] <= TARGET_COLD_S else "**not met**.")
                + " `gunicorn -w 2` is there for reference: its two workers build the app at the same time on "
                "the two cores, and the first one ready answers.",
                ""]
    if "seed" in res:
        s = res["seed"]
        verdicts.append(f"seed {s['seed_s']:.1f} s {ok(s['seed_s'] <= TARGET_SEED_S)}")
        out += ["### Seeding 30,000 stores", "",
                f"Wall time of the command on a fresh, empty temp database, median of {len(s['seed_runs'])} runs; "
                "the baseline is the same process start and app build without seeding.", "",
                "| command | median s | runs (s) |", "|---|---:|---|",
                f"| `flask --app app seed --stores 30000` | **{s['seed_s']:.1f}** {ok(s['seed_s'] <= TARGET_SEED_S)} | "
                + ", ".join(f"{v:.1f}" for v in s["seed_runs"]) + " |",
                f"| baseline: `flask --app app routes` (empty database) | {s['base_s']:.1f} | "
                + ", ".join(f"{v:.1f}" for v in s["base_runs"]) + " |",
                f"| seeding itself (difference) | {s['seed_s'] - s['base_s']:.1f} | |", "",
                f"**Target** (≤ {TARGET_SEED_S:g} s): " + ("met." if s["seed_s"] <= TARGET_SEED_S else "**not met**."), ""]
    if "page" in res:
        p = res["page"]
        if "skipped" in p:
            out += ["### Page weight of `/`", "", f"Skipped: {p['skipped']}.", ""]
            verdicts.append("page skipped")
        else:
            sm, rep = p["summary"], p["representative"]
            worst = max(sm[k]["max_bytes"] for k in sm)
            verdicts.append(f"page {fmt_bytes(sm['street']['bytes'])} {ok(worst < TARGET_PAGE_B)}")
            m = rep["marks"]
            out += ["### Page weight of `/` (offline basemap)", "",
                    f"Bytes received (headers + body as sent; the app does not compress) by headless Chromium for "
                    f"every response `/` loads with `O2O_TILES=none`, counted from the start, median of {p['runs']} "
                    f"runs in fresh browser contexts ({VIEW_W} × {VIEW_H} px, no geolocation permission, so the map "
                    f"starts on all of China), then after choosing {rep['city']} (the first entry) in the city "
                    "menu, then after zooming in further.", "",
                    "| after | map zoom | requests | transferred | decoded bodies | worst run | failed / ≥ 400 | what-if: text gzip-compressed |",
                    "|---|---:|---:|---:|---:|---:|---:|---:|"]
            for stage, label, zk in (("initial", "first load settles", "initial_zoom"),
                                     ("city", f"choosing {rep['city']} in the city menu", "city_zoom"),
                                     ("street", "zooming in to street level", "street_zoom")):
                x = sm[stage]
                out.append(f"| {label} | {m[zk]} | {x['requests']:.0f} | **{fmt_bytes(x['bytes'])}** | "
                           f"{fmt_bytes(x['decoded'])} | {fmt_bytes(x['max_bytes'])} | "
                           f"{x['failed']:.0f} / {x['bad_status']:.0f} | {fmt_bytes(x['gzip'])} |")
            items = sorted(rep["items"], key=lambda i: -i["transferred"])[:10]
            out += ["", f"Biggest responses (the median run, all three steps; {len(rep['items'])} responses, "
                    f"{fmt_bytes(sum(i['transferred'] for i in rep['items']))} in all):", "",
                    "| response | type | transferred | share | gzip-compressed |", "|---|---|---:|---:|---:|"]
            total = sum(i["transferred"] for i in rep["items"]) or 1
            for i in items:
                url = i["url"] if len(i["url"]) <= 70 else i["url"][:67] + "…"
                out.append(f"| `{url}` | {i['type']} | {fmt_bytes(i['transferred'])} | "
                           f"{i['transferred'] / total * 100:.0f} % | {fmt_bytes(i['gzip'])} |")
            out += ["", f"`load` event after {p['load_s']:.2f} s (median). Failed requests are API calls the finder "
                    "aborts itself when the map moves again before they finish."
                    + (f" Page errors: {'; '.join(p['errors'])}." if p["errors"] else " No page errors."), "",
                    "**Target** (< 1.5 MB, every step, every run): " + ("met." if worst < TARGET_PAGE_B else "**not met**."),
                    "", page_reading(rep, sm), ""]
    if "viewport" in res:
        v = res["viewport"]
        verdicts.append(f"viewport max {v['max_features']} features {ok(v['max_features'] <= MAX_FEATURES)}")
        out += ["### Viewport responses (`/api/v1/stores?bbox=…&zoom=Z`)", "",
                f"Per zoom, {v['centres']} viewports of {VIEW_W} × {VIEW_H} px: centred on the {v['cities']} cities "
                f"with most stores and on a {v['grid']}-point grid over China (lon 76–134, lat 20–52). "
                "Features = clusters + single stores in the response; stores in view = its `total`. "
                "Maxima are over all the viewports of a zoom; medians over the city-centred ones only (most grid "
                "points are in empty country at high zoom). Times are one client, sequential, `gunicorn -w 2`, "
                "wall time of the whole HTTP request.", "",
                "| zoom | viewports | max features | median features (cities) | max single stores | max stores in view | median body (cities) | max body | median ms (cities) | max ms |",
                "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in v["by_zoom"]:
            out.append(f"| {r['zoom']} | {r['n']} | {r['max_features']} | {r['median_features']:.0f} | {r['max_stores']} | "
                       f"{r['max_total']:,} | {fmt_bytes(r['median_bytes'])} | {fmt_bytes(r['max_bytes'])} | "
                       f"{r['median_ms']:.0f} | {r['max_ms']:.0f} |")
        out += ["", "Whole world, all of China, and a brand filter, at zooms that do and do not match the box "
                "(a client may send any pair):", "",
                "| bbox | zoom | filter | features | clusters | single stores | stores in view | body | ms |",
                "|---|---:|---|---:|---:|---:|---:|---:|---:|"]
        for r in v["special"]:
            name = {"world": "world −180,−90,180,90", "china": "China 73,18,135,54"}.get(r["label"], f"{r['label']} (densest city)")
            out.append(f"| {name} | {'none' if r['zoom'] is None else r['zoom']} | {r['extra'].lstrip('&') or '–'} | "
                       f"{r['features']} | {r['clusters']} | {r['stores']} | {r['total']:,} | {fmt_bytes(r['bytes'])} | {r['ms']:.0f} |")
        out += ["", f"{v['requests']:,} requests, every one 200; the most features in any response: "
                f"**{v['max_features']}**; responses whose cluster counts + single stores do not add up to `total`: "
                f"{v['count_mismatch']}.", "",
                f"**Target** (never more than {MAX_FEATURES} features): " + ("met." if v["max_features"] <= MAX_FEATURES else "**not met**."),
                ""]
    out += [f"Summary: {'; '.join(verdicts)}.", "",
            f"Run {started} in {elapsed / 60:.1f} min: `{cmd}`", f"({machine}).", "",
            "**Method.** Every part uses throw-away databases in a temp directory (`O2O_DATABASE_URL=sqlite:////tmp/…/o2o.db`, "
            "`O2O_SEED_SCANS=0`, `O2O_TILES=none`, a fixed `O2O_SECRET_KEY`), seeded with "
            "`flask --app app seed --stores 30000`. Servers run `gunicorn --worker-class sync --timeout 120 "
            "--no-control-socket` on a free 127.0.0.1 port and are stopped by their own process id; a cold start "
            "is timed with `time.perf_counter()` from just before `Popen` to the first 200, polling every 5 ms. "
            "Page bytes are Playwright's `request.sizes()` (`responseHeadersSize + responseBodySize`) for every "
            "request the page makes, finished or aborted, in fresh contexts (empty cache); a step ends when no "
            "request has been in flight for 0.7 s.",
            "",
            "**Machine.** A shared, noisy 2-core VM: timings move by ±20 % from run to run; byte and feature "
            "counts do not."]
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default="cold,seed,page,viewport")
    ap.add_argument("--runs", type=int, default=5, help="cold-start runs per case")
    ap.add_argument("--seed-runs", type=int, default=3)
    ap.add_argument("--page-runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="3 / 1 / 1 runs, fewer viewports")
    ap.add_argument("--write-docs", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the temp directory")
    args = ap.parse_args(argv)
    if args.quick:
        args.runs, args.seed_runs, args.page_runs = 3, 1, 1
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = set(parts) - {"cold", "seed", "page", "viewport"}
    if unknown:
        ap.error(f"unknown part(s): {', '.join(sorted(unknown))}")

    t_start = time.perf_counter()
    started, machine = now_text(), f"{git_state()}; {machine_note()}"
    cmd = bench_command("bench_startup.py", argv)
    tmp = Path(tempfile.mkdtemp(prefix="o2o-bench-startup-"))
    print(f"temp directory {tmp}")
    res = {}
    try:
        db = tmp / "o2o.db"
        if {"cold", "page", "viewport"} & set(parts):
            print(f"seeding {STORES:,} stores …", flush=True)
            seed_database(db, STORES)
        if "cold" in parts:
            print("(a) cold start", flush=True)
            res["cold"] = cold_start(db, tmp, args.runs)
        if "seed" in parts:
            print("(b) seeding", flush=True)
            res["seed"] = seeding(tmp, args.seed_runs)
            print(f"  median {res['seed']['seed_s']:.1f} s (baseline {res['seed']['base_s']:.1f} s)")
        if "page" in parts:
            print("(c) page weight", flush=True)
            res["page"] = page_weight(db, tmp, args.page_runs)
        if "viewport" in parts:
            print("(d) viewport responses", flush=True)
            res["viewport"] = viewport(db, tmp, args.quick)
            print(f"  {res['viewport']['requests']} requests, max features {res['viewport']['max_features']}")
        elapsed = time.perf_counter() - t_start
        section = docs_section(res, args, started, elapsed, machine, cmd)
        show_section(SECTION, section, args.write_docs)
        print(f"done in {elapsed / 60:.1f} min")
        fail = ("viewport" in res and res["viewport"]["max_features"] > MAX_FEATURES)
        return 1 if fail else 0
    finally:
        keep_or_remove(tmp, args.keep)


if __name__ == "__main__":
    sys.exit(main())
