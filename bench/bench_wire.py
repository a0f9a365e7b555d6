#!/usr/bin/env python
"""Bytes on the wire for a phone's first and repeat visit, and what compression costs ``nearby``.

    .venv/bin/python bench/bench_wire.py                # 3 browser runs, 5 in-process rounds, 3 wrk rounds (~6 min)
    .venv/bin/python bench/bench_wire.py --quick        # 1 browser run, 2 rounds each (~2 min)
    .venv/bin/python bench/bench_wire.py --write-docs   # also rewrite its section of docs/benchmarks.md

What it does, on a fresh 30,000-store SQLite database (``O2O_TILES=none``: the offline basemap,
as a phone sees when the tile server is out of reach; tiles from elsewhere are not the app's bytes):

1. **Bytes on the wire** (Chromium through Playwright, a 390 x 844 phone, Chinese, located at
   People's Square in Shanghai). ``gunicorn -w 2`` serves the app behind a small TCP relay in this
   script that counts every byte each way, per connection (gunicorn's sync workers close each
   connection after one answer, so a connection is a request: its first line names it). Bytes
   are as transferred: compressed bodies and every header, the service worker's own downloads
   included. For each page, ``/`` (until the map and the list show stores) and a store page: a
   first visit in a fresh browser context, then a repeat visit in the same context (its HTTP cache
   warm, the service worker, if any, installed); and, as the baseline in the same run, the same
   first visit from a browser that asks for no compression (``Accept-Encoding: identity``). Also
   with the service worker blocked, to tell its share. Medians of the runs.
2. **Compression on ``nearby``, in process** (Flask test client, 200 shopper positions as in
   bench_http.py, alternating variants each round, CPU time so that a busy machine's waiting is
   left out): no compression hook at all (the baseline), the hook with a client that accepts
   nothing, and each algorithm a client may get (zstd, brotli, gzip at the app's levels), median
   µs per request; for comparison, Flask-Compress 1.25 at the same levels (if installed: it is a
   dev dependency for this only); and each compressor alone on a captured answer at several
   levels, to show why those levels.
3. **Compression on ``nearby``, over HTTP**: ``gunicorn -w 2`` serving the app, the app without
   its compression hook (``bench/nocompress_app.py``) and bench_http.py's ceiling app; wrk with
   each ``Accept-Encoding``, paired with a ceiling run as bench_http.py does; the ratio to the
   ceiling is the figure in its section, which must not fall.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))  # o2o, for the in-process part

from _common import (  # noqa: E402
    BENCH, ROOT, Server, bench_command, bench_env, browser_missing, fmt_bytes, git_state, http_get,
    keep_or_remove, machine_note, median, now_text, seed_database, show_section, which_or_none,
)
from bench_http import NEARBY, shopper_points, write_lua  # noqa: E402

SECTION = "bench_wire"
STORES = 30000
CHROMIUM = os.environ.get("O2O_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
PEOPLES_SQUARE = {"latitude": 31.2304, "longitude": 121.4737}
FIRST_AIM_B = 150_000
REPEAT_AIM_B = 20_000
NO_CTL = ["--no-control-socket"]
CHROME = "gzip, deflate, br, zstd"
# What Chromium sends, what Safari sends (no zstd), and a gzip-only client.
ENCODINGS = [
    ("zstd", CHROME),
    ("br", "gzip, deflate, br"),
    ("gzip", "gzip"),
]


# ------------------------------------------------------------------------------ the counting relay
class Relay:
    """A TCP relay in front of a server that counts bytes per connection (one request each)."""

    def __init__(self, upstream_port: int):
        self.upstream = ("127.0.0.1", upstream_port)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.log: list[dict] = []
        self.active = 0
        self.last = time.perf_counter()
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client):
        entry = {"up": 0, "down": 0, "request": "", "head": b""}
        with self.lock:
            self.active += 1
            self.log.append(entry)
            self.last = time.perf_counter()
        server = socket.create_connection(self.upstream)

        def pump(src, dst, key):
            try:
                while True:
                    data = src.recv(65536)
                    if not data:
                        break
                    entry[key] += len(data)
                    if key == "up" and not entry["request"]:
                        entry["request"] = data.split(b"\r\n", 1)[0].decode("latin-1")
                    if key == "down" and len(entry["head"]) < 4096:
                        entry["head"] += data[:4096]
                    dst.sendall(data)
                    self.last = time.perf_counter()
            except OSError:
                pass
            finally:
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass

        t = threading.Thread(target=pump, args=(client, server, "up"), daemon=True)
        t.start()
        pump(server, client, "down")
        t.join(timeout=30)
        client.close()
        server.close()
        with self.lock:
            self.active -= 1
            self.last = time.perf_counter()

    def mark(self) -> int:
        with self.lock:
            return len(self.log)

    def since(self, mark: int) -> list[dict]:
        with self.lock:
            return [dict(e) for e in self.log[mark:]]

    def wait_quiet(self, quiet_s: float = 1.5, timeout_s: float = 40.0) -> None:
        """Until no connection has been open or active for ``quiet_s``."""
        deadline = time.perf_counter() + timeout_s
        while time.perf_counter() < deadline:
            time.sleep(0.1)
            if self.active == 0 and time.perf_counter() - self.last >= quiet_s:
                return
        raise TimeoutError("the page's requests did not settle")

    def close(self):
        self.closed = True
        self.sock.close()


def describe(entry: dict) -> dict:
    """One connection as a request: method and path, status, encoding, bytes each way."""
    head = entry["head"].split(b"\r\n\r\n", 1)[0].decode("latin-1")
    lines = head.split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    parts = entry["request"].split(" ")
    return {"method": parts[0] if parts else "", "path": parts[1] if len(parts) > 1 else "",
            "status": int(lines[0].split(" ")[1]) if lines and lines[0].startswith("HTTP/") else 0,
            "encoding": headers.get("content-encoding", ""), "type": headers.get("content-type", ""),
            "cache": headers.get("cache-control", ""), "down": entry["down"], "up": entry["up"],
            "head_bytes": len(head) + 4 if entry["down"] else 0}


# ------------------------------------------------------------------------------ (1) bytes on the wire
def visit(page, relay: Relay, url: str, ready: tuple[str, ...]) -> list[dict]:
    mark = relay.mark()
    page.goto(url, wait_until="load")
    for selector in ready:
        page.wait_for_selector(selector, state="attached", timeout=30_000)
    relay.wait_quiet()
    return [describe(e) for e in relay.since(mark)]


def visits(browser, relay: Relay, store_id: int, identity: bool, block_sw: bool) -> dict:
    """First and repeat visit of ``/`` and of a store page, each page in a fresh context."""
    out = {}
    pages = [("home", "/", ("#results li", ".leaflet-marker-icon, .server-cluster, .marker-cluster")),
             ("store", f"/stores/{store_id}", (".leaflet-marker-icon",))]
    for name, path, ready in pages:
        ctx = browser.new_context(
            viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True,
            locale="zh-CN", geolocation=PEOPLES_SQUARE, permissions=["geolocation"],
            service_workers="block" if block_sw else "allow",
            extra_http_headers={"Accept-Encoding": "identity"} if identity else None)
        page = ctx.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        first = visit(page, relay, relay.base + path, ready)
        repeat = [] if identity else visit(page, relay, relay.base + path, ready)
        ctx.close()
        out[name] = {"first": first, "repeat": repeat, "errors": errors}
    return out


def totals(requests: list[dict]) -> dict:
    return {"down": sum(r["down"] for r in requests), "up": sum(r["up"] for r in requests),
            "headers": sum(r["head_bytes"] for r in requests),
            "requests": len(requests), "bad": sum(1 for r in requests if r["status"] >= 400 or not r["status"])}


def bytes_on_the_wire(db: Path, tmp: Path, runs: int) -> dict:
    missing = browser_missing(CHROMIUM)
    if missing:
        return {"skipped": missing}
    from playwright.sync_api import sync_playwright

    env = bench_env(db)
    modes = {"compressed": (False, False), "compressed, no service worker": (False, True),
             "identity (baseline)": (True, True)}
    results = {m: [] for m in modes}
    with Server.gunicorn("app:app", 2, env, tmp / "wire.log", extra=NO_CTL) as srv:
        srv.wait_ready("/healthz")
        status, body, _ = http_get(f"{srv.base}{NEARBY}?lat={PEOPLES_SQUARE['latitude']}"
                                   f"&lon={PEOPLES_SQUARE['longitude']}&k=1")
        store_id = json.loads(body)["features"][0]["properties"]["id"]
        relay = Relay(srv.port)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                try:
                    # One visit first, not recorded: every worker compresses its static files once.
                    visits(browser, relay, store_id, False, True)
                    for i in range(runs):
                        for mode, (identity, block_sw) in modes.items():
                            r = visits(browser, relay, store_id, identity, block_sw)
                            results[mode].append(r)
                            print(f"  run {i + 1} {mode:32s} / first {fmt_bytes(totals(r['home']['first'])['down'])}"
                                  f" repeat {fmt_bytes(totals(r['home']['repeat'])['down'])};"
                                  f" store first {fmt_bytes(totals(r['store']['first'])['down'])}"
                                  f" repeat {fmt_bytes(totals(r['store']['repeat'])['down'])}", flush=True)
                finally:
                    browser.close()
        finally:
            relay.close()
    summary = {}
    for mode, rs in results.items():
        for page in ("home", "store"):
            for when in ("first", "repeat"):
                t = [totals(r[page][when]) for r in rs]
                summary[(mode, page, when)] = {k: median(x[k] for x in t)
                                               for k in ("down", "up", "headers", "requests", "bad")}
    # The run with the median first visit of `/`, for the list of what it downloads.
    rep = sorted(results["compressed"], key=lambda r: totals(r["home"]["first"])["down"])[len(results["compressed"]) // 2]
    errors = sorted({e for rs in results.values() for r in rs for pg in r.values() for e in pg["errors"]})
    return {"runs": runs, "summary": summary, "representative": rep, "store_id": store_id, "errors": errors}


# ------------------------------------------------------------------------------ (2) in process
def flask_compress_hook(app, levels: dict):
    """Flask-Compress 1.25's hook at the same levels and threshold (a dev dependency, for the
    comparison only; the app has its own, o2o/web/compression.py), or None if not installed."""
    try:
        from flask_compress import Compress
    except ImportError:
        return None
    app.config.update(COMPRESS_REGISTER=False, COMPRESS_ALGORITHM=["zstd", "br", "gzip"],
                      COMPRESS_ZSTD_LEVEL=levels["zstd"], COMPRESS_BR_LEVEL=levels["br"],
                      COMPRESS_LEVEL=levels["gzip"], COMPRESS_MIN_SIZE=1024,
                      COMPRESS_EVALUATE_CONDITIONAL_REQUEST=False,
                      COMPRESS_MIMETYPES=["application/geo+json", "application/json", "text/html"])
    fc = Compress()
    fc.init_app(app)
    return fc.after_request


def in_process(db: Path, rounds: int, points) -> dict:
    """Median CPU time (``time.thread_time``: a shared machine's waiting left out) per nearby
    request through the test client, each variant once per round, the order alternating."""
    os.environ.update(bench_env(db))
    import brotli
    from backports import zstd

    from o2o.web import compression, create_app

    app = create_app()
    client = app.test_client()
    ours = compression.compress
    funcs = app.after_request_funcs[None]
    assert ours in funcs, "the compression hook is not registered"
    levels = {"zstd": compression.ZSTD_LEVEL, "br": compression.BR_LEVEL, "gzip": compression.GZIP_LEVEL}
    theirs = flask_compress_hook(app, levels)
    urls = [f"{NEARBY}?lat={lat:.6f}&lon={lon:.6f}&k=20" for lat, lon in points]
    variants = [("no compression hook (baseline)", None, None), ("the hook, client accepts none", "", ours)]
    variants += [(f"{name} (level {levels[name]})", header, ours) for name, header in ENCODINGS]
    if theirs is not None:
        variants += [(f"for comparison: Flask-Compress 1.25, {name} (level {levels[name]})", header, theirs)
                     for name, header in ENCODINGS[:2]]
    for url in urls:  # warm-up: Feature cache, brand trees
        client.get(url)
    per = {v[0]: [] for v in variants}
    sizes = {v[0]: [] for v in variants}
    for rnd in range(rounds):
        order = variants if rnd % 2 == 0 else variants[::-1]
        for label, header, hook in order:
            funcs.remove(ours)
            if hook is not None:
                funcs.insert(0, hook)
            try:
                headers = {"Accept-Encoding": header} if header is not None else {}
                t0 = time.thread_time()
                for url in urls:
                    r = client.get(url, headers=headers)
                per[label].append((time.thread_time() - t0) / len(urls) * 1e6)
                sizes[label].append(len(r.data))
            finally:
                if hook is not None:
                    funcs.remove(hook)
                funcs.insert(0, ours)
        print(f"  round {rnd + 1}/{rounds}: " + ", ".join(f"{k.split(' (')[0]} {v[-1]:.0f} µs" for k, v in per.items()),
              flush=True)
    base = per[variants[0][0]]
    out = {"variants": []}
    for label, _header, _hook in variants:
        ratios = [x / b for x, b in zip(per[label], base)]
        out["variants"].append({"label": label, "us": median(per[label]), "ratio": median(ratios),
                                "ratio_min": min(ratios), "ratio_max": max(ratios), "bytes": median(sizes[label])})
    # Each compressor alone on one captured answer, at a few levels.
    body = client.get(urls[0]).data
    coders = [("gzip", lvl, lambda b, lvl=lvl: gzip.compress(b, lvl, mtime=0)) for lvl in (1, 5, 6, 9)]
    coders += [("br", q, lambda b, q=q: brotli.compress(b, quality=q)) for q in (1, 2, 4, 11)]
    coders += [("zstd", lvl, lambda b, lvl=lvl: zstd.compress(b, lvl)) for lvl in (1, 3, 6)]
    times = {(n, lvl): [] for n, lvl, _ in coders}
    for _ in range(rounds):
        for n, lvl, f in coders:
            reps = 3 if (n, lvl) == ("br", 11) else 50
            t0 = time.thread_time()
            for _ in range(reps):
                f(body)
            times[(n, lvl)].append((time.thread_time() - t0) / reps * 1e6)
    # The hook alone on that answer, per client header: what compression adds to a request,
    # without the rest of the request's noise.
    hook_us = {}
    for label, header in [("client accepts none", None)] + [(f"{n} (level {levels[n]})", h) for n, h in ENCODINGS]:
        with app.test_request_context(urls[0], headers={"Accept-Encoding": header} if header else {}):
            samples = []
            for _ in range(rounds):
                t0 = time.thread_time()
                for _ in range(100):
                    resp = app.response_class(body, mimetype="application/geo+json")
                    resp.headers["ETag"] = '"abc"'
                    compression.compress(resp)
                t1 = time.thread_time()
                for _ in range(100):
                    resp = app.response_class(body, mimetype="application/geo+json")
                    resp.headers["ETag"] = '"abc"'
                samples.append(((t1 - t0) - (time.thread_time() - t1)) / 100 * 1e6)
            hook_us[label] = median(samples)
    if theirs is not None:  # Flask-Compress's hook alone, the same way
        for name, header in ENCODINGS[:2]:
            with app.test_request_context(urls[0], headers={"Accept-Encoding": header}):
                samples = []
                for _ in range(rounds):
                    t0 = time.thread_time()
                    for _ in range(100):
                        resp = app.response_class(body, mimetype="application/geo+json")
                        resp.headers["ETag"] = '"abc"'
                        theirs(resp)
                    t1 = time.thread_time()
                    for _ in range(100):
                        resp = app.response_class(body, mimetype="application/geo+json")
                        resp.headers["ETag"] = '"abc"'
                    samples.append(((t1 - t0) - (time.thread_time() - t1)) / 100 * 1e6)
                hook_us[f"for comparison: Flask-Compress 1.25, {name} (level {levels[name]})"] = median(samples)
    out["hook_us"] = hook_us
    out["body_bytes"] = len(body)
    out["coders"] = [{"name": n, "level": lvl, "us": median(times[(n, lvl)]), "bytes": len(f(body))}
                     for n, lvl, f in coders]
    out["levels"] = levels
    return out


# ------------------------------------------------------------------------------ (3) over HTTP
def workers_cpu_s(server: Server) -> float:
    """CPU seconds (user + system) the server's gunicorn workers have used so far."""
    import psutil

    total = 0.0
    for child in psutil.Process(server.proc.pid).children():
        try:
            t = child.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def run_wrk(server: Server, lua: Path, path: str, accept: str | None, seconds: float) -> dict:
    """One wrk run; besides wrk's figures, the server's CPU time per answer (``cpu_us``): on a
    shared machine, requests/s follow whatever else runs, CPU per answer much less."""
    argv = ["wrk", "-t1", "-c8", f"-d{max(1, round(seconds))}s", "--timeout", "10s", "-s", str(lua)]
    if accept is not None:
        argv += ["-H", f"Accept-Encoding: {accept}"]
    argv += [server.base + "/", "--", path, ""]
    cpu0 = workers_cpu_s(server)
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    cpu = workers_cpu_s(server) - cpu0
    for line in out.stdout.splitlines():
        if line.startswith("BENCHJSON "):
            r = json.loads(line[len("BENCHJSON "):])
            r["rps"] = r["requests"] / (r["duration_us"] / 1e6) if r["duration_us"] else 0.0
            r["socket_errors"] = r["connect"] + r["read"] + r["write"] + r["timeout"]
            r["cpu_us"] = cpu / max(r["requests"], 1) * 1e6
            return r
    raise RuntimeError(f"wrk gave no result ({out.returncode}):\n{out.stdout}\n{out.stderr}")


def over_http(db: Path, tmp: Path, rounds: int, seconds: float, points) -> dict:
    """wrk against o2o with each Accept-Encoding, against o2o without its compression hook
    (``bench/nocompress_app.py``) and against bench_http.py's ceiling app; every run paired with
    a ceiling run sent the same header, the pair's order alternating."""
    if not which_or_none("wrk"):
        return {"skipped": "wrk is not installed (apt-get install wrk)"}
    lua = tmp / "nearby.lua"
    write_lua(lua, points)
    env = bench_env(db)
    servers = {
        "o2o": Server.gunicorn("app:app", 2, env, tmp / "o2o.log", extra=NO_CTL),
        "bare": Server.gunicorn("nocompress_app:app", 2, env, tmp / "bare.log", chdir=BENCH, extra=NO_CTL),
        "ceiling": Server.gunicorn("ceiling_app:app", 2, env, tmp / "ceiling.log", chdir=BENCH, extra=NO_CTL),
    }
    cases = [("nearby, no compression layer (baseline)", "bare", CHROME)]
    cases += [("nearby, client accepts none", "o2o", None)]
    cases += [(f"nearby, {name} (`{hdr}`)", "o2o", hdr) for name, hdr in ENCODINGS]
    runs = {c[0]: [] for c in cases}
    ceil_runs, ratios, cpu_ratios = [], {c[0]: [] for c in cases}, {c[0]: [] for c in cases}
    try:
        for s in servers.values():
            s.start()
        servers["o2o"].wait_ready("/healthz")
        servers["bare"].wait_ready("/healthz")
        servers["ceiling"].wait_ready("/")
        lat, lon = points[0]
        for label, name, hdr in cases:  # each answers, compressed only as asked
            url = f"{servers[name].base}{NEARBY}?lat={lat}&lon={lon}&k=20"
            out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{content_type}",
                                  "-D", "-", "-H", f"Accept-Encoding: {hdr or 'identity'}", url],
                                 capture_output=True, text=True).stdout.lower()
            assert " 200" in out.splitlines()[0], (label, out)
            assert ("content-encoding" in out) == (name == "o2o" and hdr is not None), (label, out)
        # Warm-up, not recorded, until a server's CPU per answer settles: each worker builds its
        # search index in a background thread after its first request, fills its Feature cache, etc.
        for name in ("o2o", "bare", "ceiling"):
            last = None
            for _ in range(8):
                cpu = run_wrk(servers[name], lua, NEARBY, CHROME, 2)["cpu_us"]
                if last is not None and abs(cpu - last) <= 0.1 * last:
                    break
                last = cpu
            print(f"  warm-up {name}: {cpu:,.0f} µs of CPU per answer", flush=True)
        k = 0
        for rnd in range(rounds):
            for label, name, hdr in (cases if rnd % 2 == 0 else cases[::-1]):
                first_ceiling = k % 2 == 0
                k += 1
                if first_ceiling:
                    c = run_wrk(servers["ceiling"], lua, NEARBY, hdr, seconds)
                    r = run_wrk(servers[name], lua, NEARBY, hdr, seconds)
                else:
                    r = run_wrk(servers[name], lua, NEARBY, hdr, seconds)
                    c = run_wrk(servers["ceiling"], lua, NEARBY, hdr, seconds)
                runs[label].append(r)
                ceil_runs.append(c)
                ratios[label].append(r["rps"] / c["rps"])
                cpu_ratios[label].append(c["cpu_us"] / r["cpu_us"])
                print(f"  round {rnd + 1}/{rounds} {label:45s} {r['rps']:7.0f} req/s  p50 {r['p50_us'] / 1000:5.2f} ms"
                      f"  {r['bytes'] / max(r['requests'], 1) / 1000:5.1f} kB/answer | ceiling {c['rps']:7.0f}"
                      f"  ratio {r['rps'] / c['rps'] * 100:4.0f} %  | CPU/answer {r['cpu_us']:5.0f} µs, ceiling "
                      f"{c['cpu_us']:4.0f} µs", flush=True)
    finally:
        for s in servers.values():
            s.stop()
    base = ratios[cases[0][0]]
    out = {"cases": [], "ceiling_rps": median(x["rps"] for x in ceil_runs),
           "ceiling_cpu_us": median(x["cpu_us"] for x in ceil_runs)}
    for label, _name, _hdr in cases:
        rs = runs[label]
        rel = [x / b for x, b in zip(ratios[label], base)]  # same round: ratio over the baseline's ratio
        # the baseline's CPU per answer over this case's, in the same round (runs seconds apart)
        cpu_rel = [b["cpu_us"] / x["cpu_us"] for x, b in zip(rs, runs[cases[0][0]])]
        out["cases"].append({
            "cpu_us": median(x["cpu_us"] for x in rs), "cpu_ratio": median(cpu_ratios[label]),
            "cpu_ratio_min": min(cpu_ratios[label]), "cpu_ratio_max": max(cpu_ratios[label]),
            "cpu_rel": median(cpu_rel), "cpu_rel_min": min(cpu_rel), "cpu_rel_max": max(cpu_rel),
            "label": label, "rps": median(x["rps"] for x in rs), "p50_ms": median(x["p50_us"] for x in rs) / 1000,
            "p99_ms": median(x["p99_us"] for x in rs) / 1000,
            "bytes_per": median(x["bytes"] / max(x["requests"], 1) for x in rs),
            "ratio": median(ratios[label]), "ratio_min": min(ratios[label]), "ratio_max": max(ratios[label]),
            "rel": median(rel), "rel_min": min(rel), "rel_max": max(rel),
            "non2xx": sum(x["status"] for x in rs), "socket_errors": sum(x["socket_errors"] for x in rs)})
    return out


# ------------------------------------------------------------------------------ report
def wire_tables(res: dict) -> str:
    s = res["summary"]

    def cell(mode, page, when):
        v = s[(mode, page, when)]
        return f"{fmt_bytes(v['down'])} ({v['requests']:.0f})"

    first_home = s[("compressed", "home", "first")]["down"]
    repeat_home = s[("compressed", "home", "repeat")]["down"]
    first_store = s[("compressed", "store", "first")]["down"]
    repeat_store = s[("compressed", "store", "repeat")]["down"]
    lines = ["| bytes from the server (requests) | `/` first visit | `/` repeat visit | store page first visit | store page repeat visit |",
             "|---|---:|---:|---:|---:|"]
    for mode in ("compressed", "compressed, no service worker", "identity (baseline)"):
        if mode == "identity (baseline)":
            lines.append(f"| {mode}: the same browser asking `Accept-Encoding: identity`, no service worker | "
                         f"{cell(mode, 'home', 'first')} |  | {cell(mode, 'store', 'first')} |  |")
        else:
            label = {"compressed": "as a phone gets it (Chromium: br/zstd/gzip, the service worker installs)",
                     "compressed, no service worker": "the same, service worker blocked (the HTTP cache alone)"}[mode]
            lines.append(f"| {label} | {cell(mode, 'home', 'first')} | {cell(mode, 'home', 'repeat')} | "
                         f"{cell(mode, 'store', 'first')} | {cell(mode, 'store', 'repeat')} |")
    base_home = s[("identity (baseline)", "home", "first")]["down"]
    base_store = s[("identity (baseline)", "store", "first")]["down"]
    nosw_home = s[("compressed, no service worker", "home", "first")]["down"]
    nosw_store = s[("compressed, no service worker", "store", "first")]["down"]
    lines.append(f"| × identity (first visit, no service worker) | {nosw_home / base_home:.2f}× |  | "
                 f"{nosw_store / base_store:.2f}× |  |")
    ok = lambda v, aim: "met" if v <= aim else "**not met**"  # noqa: E731
    lines += ["", f"**Aims** (as a phone gets it): first visit ≤ {FIRST_AIM_B // 1000} kB: `/` "
              f"{fmt_bytes(first_home)} ({ok(first_home, FIRST_AIM_B)}), store page {fmt_bytes(first_store)} "
              f"({ok(first_store, FIRST_AIM_B)}); repeat visit ≤ {REPEAT_AIM_B // 1000} kB: `/` "
              f"{fmt_bytes(repeat_home)} ({ok(repeat_home, REPEAT_AIM_B)}), store page "
              f"{fmt_bytes(repeat_store)} ({ok(repeat_store, REPEAT_AIM_B)})."]
    heads = s[("compressed", "home", "first")]["headers"]
    bad = sum(v["bad"] for v in s.values())
    lines += ["", f"Reading: the service worker's install adds {fmt_bytes(first_home - nosw_home)} to the first "
              f"visit of `/` (it precaches `/`, `/offline`, itself and the other shopper pages' scripts; the "
              f"content-hashed files the page loaded come from the HTTP cache). Response headers are "
              f"{fmt_bytes(heads)} of that first visit ({heads / first_home * 100:.0f} %): HTTP/1.1 straight to "
              f"gunicorn sends the security headers with every file, which HTTP/2 behind a proxy compresses "
              f"away. A repeat visit downloads the page (it carries a fresh CSP nonce, so it has no validator) "
              f"and gets `304` for the stores it already has. Failed requests (status ≥ 400): {bad:g}."]
    rep = res["representative"]
    lines += ["", "What the first visit of `/` downloads (the median run, as a phone gets it; bytes with headers):", "",
              "| request | status | encoding | cache | bytes |", "|---|---:|---|---|---:|"]
    for r in sorted(rep["home"]["first"], key=lambda r: -r["down"]):
        path = r["path"] if len(r["path"]) <= 70 else r["path"][:67] + "…"
        cache = "a year" if "immutable" in r["cache"] else (r["cache"] or "–")
        lines.append(f"| `{r['method']} {path}` | {r['status']} | {r['encoding'] or '–'} | {cache} | {fmt_bytes(r['down'])} |")
    lines += ["", "And its repeat visit:", "", "| request | status | bytes |", "|---|---:|---:|"]
    for r in sorted(rep["home"]["repeat"], key=lambda r: -r["down"]):
        path = r["path"] if len(r["path"]) <= 70 else r["path"][:67] + "…"
        lines.append(f"| `{r['method']} {path}` | {r['status']} | {fmt_bytes(r['down'])} |")
    return "\n".join(lines)


def process_table(res: dict) -> str:
    lines = ["| `nearby` k=20, in process | µs per request | × baseline (range) | answer |", "|---|---:|---:|---:|"]
    for v in res["variants"]:
        ratio = "1 (baseline)" if "(baseline)" in v["label"] else \
            f"{v['ratio']:.2f}× ({v['ratio_min']:.2f}–{v['ratio_max']:.2f})"
        lines.append(f"| {v['label']} | {v['us']:,.0f} | {ratio} | {fmt_bytes(v['bytes'])} |")
    base_us = next(v["us"] for v in res["variants"] if "(baseline)" in v["label"])
    lines += ["", f"The hook alone on one answer ({fmt_bytes(res['body_bytes'])}), median CPU µs — the cleanest "
              "measure of what it adds to a request:", "", "| client | hook µs | share of a baseline request |",
              "|---|---:|---:|"]
    for label, us in res.get("hook_us", {}).items():
        lines.append(f"| {label} | {us:,.0f} | {us / base_us * 100:.0f} % |")
    lines += ["", f"Each compressor alone on one answer ({fmt_bytes(res['body_bytes'])}), median µs; the app's "
              f"levels in bold:", "", "| algorithm | level | µs | bytes | ratio |", "|---|---:|---:|---:|---:|"]
    for c in res["coders"]:
        mine = res["levels"].get(c["name"]) == c["level"]
        lvl = f"**{c['level']}**" if mine else str(c["level"])
        lines.append(f"| {c['name']} | {lvl} | {c['us']:,.0f} | {fmt_bytes(c['bytes'])} | "
                     f"{res['body_bytes'] / c['bytes']:.1f}:1 |")
    return "\n".join(lines)


def http_table(res: dict) -> str:
    lines = ["| `gunicorn -w 2`, wrk -c8 | server CPU per answer | answers per CPU-second × ceiling (range) | "
             "× baseline (range) | requests/s | × ceiling by requests/s (range) | p50 ms | bytes per answer | "
             "non-2xx | socket errors |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
             f"| ceiling: `jsonify({{\"ok\": True}})` (bench_http.py's) | {res['ceiling_cpu_us']:,.0f} µs | 1 |  | "
             f"{res['ceiling_rps']:,.0f} | 1 |  |  |  |  |"]
    for c in res["cases"]:
        base = "baseline" in c["label"]
        rel = "1 (baseline)" if base else f"{c['cpu_rel']:.2f}× ({c['cpu_rel_min']:.2f}–{c['cpu_rel_max']:.2f})"
        lines.append(f"| {c['label']} | {c['cpu_us']:,.0f} µs | **{c['cpu_ratio'] * 100:.0f} %** "
                     f"({c['cpu_ratio_min'] * 100:.0f}–{c['cpu_ratio_max'] * 100:.0f} %) | {rel} | {c['rps']:,.0f} | "
                     f"{c['ratio'] * 100:.0f} % ({c['ratio_min'] * 100:.0f}–{c['ratio_max'] * 100:.0f} %) | "
                     f"{c['p50_ms']:.2f} | {fmt_bytes(c['bytes_per'])} | {c['non2xx']} | {c['socket_errors']} |")
    return "\n".join(lines)


def docs_section(res: dict, args, started: str, elapsed: float, machine: str, cmd: str) -> str:
    parts = ["## Bytes on the wire (issue 12)", ""]
    wire = res.get("wire")
    if wire and "skipped" not in wire:
        parts += [f"A phone (Chromium, 390 × 844, Chinese, located at People's Square) against `gunicorn -w 2` "
                  f"on a 30,000-store database with `O2O_TILES=none` (the offline basemap, what a phone draws "
                  f"when the tile server is out of reach; a tile server's own bytes are not the app's). Bytes as "
                  f"transferred, counted by a TCP relay in front of gunicorn: compressed bodies and all headers, "
                  f"the service worker's own downloads included. First visit: a fresh browser context until the "
                  f"map and the list show stores and the network is quiet; repeat visit: the same URL again in "
                  f"the same context. Median of {wire['runs']} run(s) per row; store page `/stores/{wire['store_id']}`.",
                  "", wire_tables(wire), ""]
        if wire["errors"]:
            parts += ["Page errors seen: " + "; ".join(f"`{e[:120]}`" for e in wire["errors"]), ""]
    elif wire:
        parts += [f"Bytes on the wire: skipped ({wire['skipped']}).", ""]
    proc = res.get("process")
    if proc:
        parts += ["### What compression costs `nearby`", "",
                  f"In process (Flask test client), 200 shopper positions, {args.rounds} rounds alternating the "
                  "variants, CPU time of the thread (`time.thread_time`: on a shared machine, the time spent "
                  "waiting for a core is left out); the baseline is the same app with the compression hook "
                  "taken out. The client's `Accept-Encoding` picks the algorithm (zstd first, then brotli, then "
                  "gzip); a body under 1 kB is never compressed.", "", process_table(proc), ""]
    http = res.get("http")
    if http and "skipped" not in http:
        parts += [f"Over HTTP, the ratio bench_http.py reports (its ceiling app, the same wrk script and "
                  f"positions), once per `Accept-Encoding`, and the baseline: the same app without its "
                  f"compression hook (`bench/nocompress_app.py`) sent Chromium's header. {args.http_rounds} rounds "
                  f"of {args.seconds:g} s, each run paired with a ceiling run sent the same header (the "
                  "ceiling's answer is too small to compress). Besides requests/s, the gunicorn workers' CPU "
                  "time (user + system, from /proc) per answer: on a machine shared with other work, "
                  "requests/s follow the other work, the CPU an answer costs much less; answers per "
                  "CPU-second × ceiling is what requests/s × ceiling would be on a quiet machine with the "
                  "server's cores saturated. × baseline = the baseline's CPU per answer over the case's, in "
                  "the same round (above 1: cheaper than the baseline):",
                  "", http_table(http), ""]
        by = {c["label"].split(" (")[0]: c for c in http["cases"]}
        z, b, g, n, o = (by.get(k) for k in ("nearby, zstd", "nearby, br", "nearby, gzip",
                                             "nearby, client accepts none", "nearby, no compression layer"))
        if z and b and g and n and o:
            def cost(c):
                return f"{c['cpu_us'] / o['cpu_us'] * 100 - 100:+.0f} % ({c['cpu_rel']:.2f}× by round)"
            smaller = sorted(o["bytes_per"] / c["bytes_per"] for c in (z, b, g))
            steadier = ""
            if proc and proc.get("hook_us"):
                base_us = next(v["us"] for v in proc["variants"] if "(baseline)" in v["label"])
                steadier = (" The hook alone, in process above, is the steadier figure: " + ", ".join(
                    f"{k.split(' (')[0]} {us / base_us * 100:.0f} %" for k, us in proc["hook_us"].items()
                    if not k.startswith("for comparison")) + " of a request.")
            parts += [f"Reading, server CPU per answer against the app without the hook (medians): Chromium's "
                      f"zstd 1 {cost(z)}, a brotli client's (Safari) br 1 {cost(b)}, a gzip-only client "
                      f"{cost(g)}, each for answers {smaller[0]:.1f}–{smaller[-1]:.1f}× smaller on the wire (the "
                      f"compressor's ~50–110 µs, less the cost of writing five sixths fewer bytes); a client that "
                      f"accepts no compression, as bench_http.py's wrk, pays the hook's check only: {cost(n)}. On "
                      f"this machine, shared with other work, these figures move by ±10 % and more from run to "
                      f"run.{steadier}", ""]
    elif http:
        parts += [f"Over HTTP: skipped ({http['skipped']}).", ""]
    parts += [f"Run {started}, {elapsed / 60:.1f} min, {machine}. Command: `{cmd}`."]
    return "\n".join(parts)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default="wire,process,http")
    ap.add_argument("--runs", type=int, default=3, help="browser runs per row")
    ap.add_argument("--rounds", type=int, default=5, help="in-process rounds")
    ap.add_argument("--http-rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=3.0, help="seconds per wrk run")
    ap.add_argument("--quick", action="store_true", help="1 browser run, 2 rounds each, 2-s wrk runs")
    ap.add_argument("--write-docs", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the temp directory")
    args = ap.parse_args(argv)
    if args.quick:
        args.runs, args.rounds, args.http_rounds, args.seconds = 1, 2, 2, 2.0
    parts = {p.strip() for p in args.only.split(",") if p.strip()}
    t_start = time.perf_counter()
    started, machine = now_text(), f"{git_state()}; {machine_note()}"
    cmd = bench_command("bench_wire.py", argv)
    tmp = Path(tempfile.mkdtemp(prefix="o2o-bench-wire-"))
    res = {}
    try:
        db = tmp / "o2o.db"
        print(f"seeding {STORES:,} stores …", flush=True)
        seed_database(db, STORES)
        points = shopper_points(db)
        if "wire" in parts:
            print("(1) bytes on the wire", flush=True)
            res["wire"] = bytes_on_the_wire(db, tmp, args.runs)
        if "process" in parts:
            print("(2) compression on nearby, in process", flush=True)
            res["process"] = in_process(db, args.rounds, points)
        if "http" in parts:
            print("(3) compression on nearby, over HTTP", flush=True)
            res["http"] = over_http(db, tmp, args.http_rounds, args.seconds, points)
        elapsed = time.perf_counter() - t_start
        section = docs_section(res, args, started, elapsed, machine, cmd)
        show_section(SECTION, section, args.write_docs)
        print(f"done in {elapsed / 60:.1f} min")
        return 0
    finally:
        keep_or_remove(tmp, args.keep)


if __name__ == "__main__":
    sys.exit(main())
