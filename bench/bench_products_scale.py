"""Products in stores at scale (issue 15): 30,000 stores × 1,000 products per store (30 M stock lines),
3 M lines, and the seeded catalogue, on SQLite and on PostGIS.

For each size and backend, in one run:

- the nearest ``k = 20`` open stores with a product in stock or limited, in process, against a plain
  ``nearby`` (``GET /api/v1/stores/nearby?k=20``, the baseline) through the Flask test client:
  the product's stores cached (steady state), and read again for every request (what the first
  request after a write of that product's stock pays);
- the same question as one SQL query, the anchor to beat: PostGIS k-nearest
  (``ORDER BY geog <-> point``) joined to ``stock``; SQLite R*Tree boxes (widened until k are
  found) joined to ``stock``; next to the app's own service call (no HTTP) cached and uncached;
- exactness: the app's answer (and each anchor's) against brute force (every open store holding the
  product, from ``stock_of_product`` and the stores, great-circle distances, ties by id);
- memory per cached stock line (tracemalloc: the compact columns against the former tuples), and the
  process's RSS as its cache fills up to its bound;
- importing 1,000,000 stock lines through the real import path (five CSV files of 200,000 lines,
  the per-file limit: ``catalogue.read_rows`` + ``catalogue.import_stock``, each one transaction);
- how a stock write reaches another process: a second process asks for the product's nearest
  stores over and over; this one sells a store out (``set_stock``); the time from the commit until
  the other process's answer no longer has the store, and what that first answer cost.

The synthetic catalogue: the seeded 30,000 stores (the seed's retailers), each retailer
``rows / stores`` products, every store stocking every product of its retailer (70 % in stock,
15 % limited, 15 % out, deterministic). The lines are generated inside the database (one
``INSERT … SELECT``, the secondary indexes built after), in a temporary SQLite file and in a
scratch PostGIS database (``o2o_bench_scale_*``) that is dropped at the end.

Run: ``.venv/bin/python bench/bench_products_scale.py --rows 3000000 [--backends sqlite,postgis]``,
``--seeded`` for the seeded catalogue, ``--quick`` for a short check. Each run's figures are kept in
``bench/products_scale.json`` by size; ``--write`` puts every size kept there into docs/benchmarks.md
(section ``products_scale``).
"""

from __future__ import annotations

import argparse
import gc
import io
import itertools
import json
import multiprocessing as mp
import os
import re
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import git_state, machine_note, now_text, write_section  # noqa: E402
from o2o.geo.distance import EARTH_RADIUS_M, haversine_m  # noqa: E402
from o2o.services import catalogue as catalogue_service  # noqa: E402
from o2o.services.accounts import Principal  # noqa: E402
from o2o.services.seeding import seed  # noqa: E402
from o2o.services.stocked import StockCache, StockedStores  # noqa: E402
from o2o.storage import open_repository  # noqa: E402
from o2o.storage.sqlite import boxes_around  # noqa: E402

ADMIN = os.environ.get("O2O_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
RESULTS = Path(__file__).resolve().parent / "products_scale.json"
IN_STOCK = ("in_stock", "limited")

# Deterministic stock from the ids: h in 0..99 (70 % in stock, 15 % limited, 15 % out).
_H = "((s.id * 2654435761 + p.id * 40503) % 100)"
SQLITE_STOCK = f"""
INSERT INTO stock (store_id, product_id, availability, quantity, price, updated_at)
SELECT s.id, p.id,
       CASE WHEN {_H} < 70 THEN 'in_stock' WHEN {_H} < 85 THEN 'limited' ELSE 'out_of_stock' END,
       CASE WHEN {_H} < 70 THEN 5 + {_H} % 40 WHEN {_H} < 85 THEN 1 + {_H} % 4 ELSE 0 END,
       CASE WHEN {_H} % 10 = 0 THEN round(p.price * 0.9, 2) END,
       printf('2026-11-28T%02d:00:00Z', {_H} % 24)
FROM stores s NOT INDEXED CROSS JOIN products p WHERE p.retailer_id = s.retailer_id  -- stores outer, by id: lines in key order
"""
PG_STOCK = f"""
INSERT INTO stock (store_id, product_id, availability, quantity, price, updated_at)
SELECT s.id, p.id,
       CASE WHEN {_H} < 70 THEN 'in_stock' WHEN {_H} < 85 THEN 'limited' ELSE 'out_of_stock' END,
       CASE WHEN {_H} < 70 THEN 5 + {_H} % 40 WHEN {_H} < 85 THEN 1 + {_H} % 4 ELSE 0 END,
       CASE WHEN {_H} % 10 = 0 THEN round((p.price * 0.9)::numeric, 2) END,
       timestamptz '2026-11-28 00:00:00+00' + ({_H} % 24) * interval '1 hour'
FROM stores s JOIN products p ON p.retailer_id = s.retailer_id
"""


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# ----------------------------------------------------------------------------------- building
def synthetic_products(repo, per_store: int) -> int:
    """``per_store`` products for every retailer (sku P00001…); how many."""
    n = 0
    for r in repo.list_retailers():
        brand = r["name"]
        rows = [{"sku": f"P{i:05d}", "title": f"{brand} 商品 {i}", "brand": brand, "category": "Apparel",
                 "price": float(99 + (i * 37) % 900), "online_url": None} for i in range(per_store)]
        n += repo.upsert_products(r["id"], rows)
    return n


def build_sqlite(path: Path, args) -> dict:
    repo = open_repository(f"sqlite:///{path}")
    repo.migrate()
    t0 = time.perf_counter()
    info = seed(repo, args.stores, 0, 7, products=bool(args.seeded))
    info["seed_s"] = time.perf_counter() - t0
    if not args.seeded:
        info["products"] = synthetic_products(repo, args.rows // args.stores)
    repo.close()
    if not args.seeded:
        t0 = time.perf_counter()
        with sqlite3.connect(path, isolation_level=None) as con:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA cache_size=-1000000")
            con.execute("DROP INDEX stock_product")
            con.execute("BEGIN")
            con.execute(SQLITE_STOCK)
            con.execute("COMMIT")
            con.execute("CREATE INDEX stock_product ON stock (product_id, availability)")
            con.execute("ANALYZE")
        info["stock_load_s"] = time.perf_counter() - t0
    with sqlite3.connect(path) as con:
        info["stock"] = con.execute("SELECT count(*) FROM stock").fetchone()[0]
        info["db_bytes"] = (con.execute("PRAGMA page_count").fetchone()[0]
                            * con.execute("PRAGMA page_size").fetchone()[0])
    return info


class PgScratch:
    """A scratch PostGIS database for this run, dropped at the end."""

    def __init__(self):
        import psycopg

        self.name = f"o2o_bench_scale_{os.getpid()}"
        self.admin = psycopg.connect(ADMIN, autocommit=True)
        self.admin.execute(f"DROP DATABASE IF EXISTS {self.name}")
        self.admin.execute(f"CREATE DATABASE {self.name}")
        self.url = ADMIN.rpartition("/")[0] + "/" + self.name
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION postgis")

    def drop(self):
        from o2o.storage.postgis import close_pools

        close_pools()
        self.admin.execute(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
        self.admin.close()


def build_postgis(url: str, args) -> dict:
    import psycopg

    repo = open_repository(url)
    repo.migrate()
    t0 = time.perf_counter()
    info = seed(repo, args.stores, 0, 7, products=bool(args.seeded))
    info["seed_s"] = time.perf_counter() - t0
    if not args.seeded:
        info["products"] = synthetic_products(repo, args.rows // args.stores)
    repo.close()
    with psycopg.connect(url, autocommit=True) as conn:
        if not args.seeded:
            t0 = time.perf_counter()
            conn.execute("SET maintenance_work_mem = '1GB'")
            constraints = conn.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
                " WHERE conrelid = 'stock'::regclass AND contype IN ('u', 'f')").fetchall()
            index = conn.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'stock_product'").fetchone()[0]
            for name, _ in constraints:
                conn.execute(f"ALTER TABLE stock DROP CONSTRAINT {name}")
            conn.execute("DROP INDEX stock_product")
            conn.execute(PG_STOCK)
            for name, definition in sorted(constraints, key=lambda c: "f" in c[1][:1]):
                conn.execute(f"ALTER TABLE stock ADD CONSTRAINT {name} {definition}")
            conn.execute(index)
            conn.execute("VACUUM ANALYZE stock")
            info["stock_load_s"] = time.perf_counter() - t0
        info["stock"] = conn.execute("SELECT count(*) FROM stock").fetchone()[0]
        info["db_bytes"] = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    return info


# ----------------------------------------------------------------------------------- the anchors
def sqlite_anchor(con: sqlite3.Connection):
    """k nearest open stores with the product in stock or limited: R*Tree boxes joined to stock,
    widened fourfold until k are found (exact great-circle distances on the candidates)."""
    sql = ("SELECT s.id, s.lon, s.lat FROM stores_rtree t JOIN stores s ON s.id = t.id"
           " JOIN stock st ON st.store_id = s.id AND st.product_id = ?"
           " WHERE t.max_lon >= ? AND t.min_lon <= ? AND t.max_lat >= ? AND t.min_lat <= ?"
           " AND s.status = 'open' AND st.availability IN ('in_stock', 'limited')")

    def nearest(product_id, lon, lat, k):
        r, limit = 2000.0, np.pi * EARTH_RADIUS_M
        while True:
            rows = []
            for box in boxes_around(lon, lat, r):
                rows += con.execute(sql, (product_id, *box)).fetchall()
            if rows:
                ids = np.array([x[0] for x in rows], dtype=np.int64)
                dist = haversine_m(lon, lat, np.array([x[1] for x in rows]), np.array([x[2] for x in rows]))
                inside = dist <= r
            if (rows and inside.sum() >= k) or r >= limit:
                if not rows:
                    return []
                ids, dist = ids[inside], dist[inside]
                order = np.lexsort((ids, dist))[:k]
                return [(int(ids[i]), float(dist[i])) for i in order]
            r = min(limit, r * 4)
    return nearest


def postgis_anchor(conn):
    point = "ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography"
    sql = (f"SELECT s.id, ST_Distance(s.geog, {point}, false) FROM stores s JOIN stock st ON st.store_id = s.id"
           " WHERE st.product_id = %s AND st.availability IN ('in_stock', 'limited') AND s.status = 'open'"
           f" ORDER BY s.geog <-> {point}, s.id LIMIT %s")

    def nearest(product_id, lon, lat, k):
        return [(int(i), float(d)) for i, d in conn.execute(sql, (lon, lat, product_id, lon, lat, k)).fetchall()]
    return nearest


# ----------------------------------------------------------------------------------- helpers
def pick_products(repo) -> dict:
    """The widest product (its retailer has the most open stores) and a narrow one."""
    open_by_retailer: dict[int, int] = {}
    for row in repo.index_rows(0):
        if row.status == "open":
            open_by_retailer[row.retailer] = open_by_retailer.get(row.retailer, 0) + 1
    by_name = {r["name"]: r["id"] for r in repo.list_retailers()}
    ranked = sorted(((n, by_name[name]) for name, n in open_by_retailer.items()), reverse=True)
    out = {}
    for label, (_, rid) in (("wide", ranked[0]), ("narrow", ranked[len(ranked) // 2])):
        products = repo.list_products(rid)
        best = max(products[:: max(1, len(products) // 20)], key=lambda p: len(repo.stocked_stores(p["id"])))
        out[label] = (best["id"], len(repo.stocked_stores(best["id"])), rid)
    return out


def shopper_points(repo, n: int, seed_: int = 3) -> list[tuple[float, float]]:
    rows = [r for r in repo.index_rows(0) if r.status == "open"]
    rng = random.Random(seed_)
    out = []
    for _ in range(n):
        r = rng.choice(rows)
        out.append((r.lon + rng.gauss(0, 0.03), r.lat + rng.gauss(0, 0.03)))
    return out


def brute_force(repo, product_id: int, lon: float, lat: float, k: int, stores: dict) -> list[tuple[int, float]]:
    """Independent of the app's join: the product's stock lines, the open stores among them."""
    ids = [line["store_id"] for line in repo.stock_of_product(product_id, IN_STOCK) if line["store_id"] in stores]
    if not ids:
        return []
    ids_a = np.array(ids, dtype=np.int64)
    coords = np.array([stores[i] for i in ids])
    dist = haversine_m(lon, lat, coords[:, 0], coords[:, 1])
    order = np.lexsort((ids_a, dist))[:k]
    return [(int(ids_a[i]), float(dist[i])) for i in order]


def timed_rounds(cases: dict, points, rounds: int, calls: int) -> dict[str, list[float]]:
    """``[wall µs, CPU µs]`` per call of each case (medians of the rounds' medians), alternated round by
    round so each case sees the same load. CPU is this thread's (the app's work in process, SQLite's
    included; not the PostgreSQL server's)."""
    per: dict[str, list[tuple[float, float]]] = {label: [] for label in cases}
    for r in range(rounds):
        for label, fn in cases.items():
            for i in range(5):
                fn(points[i])
            wall, cpu = [], []
            for i in range(calls):
                p = points[(r * calls + i) % len(points)]
                c0, t0 = time.thread_time(), time.perf_counter()
                fn(p)
                wall.append(time.perf_counter() - t0)
                cpu.append(time.thread_time() - c0)
            per[label].append((statistics.median(wall) * 1e6, statistics.median(cpu) * 1e6))
    return {label: [statistics.median(w for w, _ in v), statistics.median(c for _, c in v)] for label, v in per.items()}


# ----------------------------------------------------------------------------------- freshness
def _watcher(url: str, product_id: int, store_id: int, lon: float, lat: float, conn) -> None:
    repo = open_repository(url)
    cache = StockCache()
    cache.nearest(repo, product_id, lon, lat, k=5)
    conn.send("ready")
    while True:
        cmd = conn.recv()
        if cmd == "stop":
            break
        want = cmd == "present"
        polls, cached = 0, []
        while True:
            t0 = time.perf_counter()
            ids = [sid for sid, _, _ in cache.nearest(repo, product_id, lon, lat, k=5)]
            t1 = time.perf_counter()
            polls += 1
            if (store_id in ids) == want:
                conn.send((t1, t1 - t0, polls, statistics.median(cached) if cached else None))
                break
            cached.append(t1 - t0)
    repo.close()


def freshness(url: str, repo, product_id: int, n: int = 10) -> dict:
    """Another process asks over and over; this one sells the nearest store out and restocks it."""
    stocked = repo.stocked_stores(product_id)
    store_id, lon, lat = stocked[len(stocked) // 2][:3]
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_watcher, args=(url, product_id, store_id, lon, lat, child), daemon=True)
    proc.start()
    assert parent.recv() == "ready"
    lag, first, cached, write = [], [], [], []
    for i in range(n):
        sold_out = i % 2 == 0
        parent.send("absent" if sold_out else "present")
        time.sleep(0.3)   # the other process answers from its cache meanwhile
        t0 = time.perf_counter()
        repo.set_stock([{"store_id": store_id, "product_id": product_id,
                         "availability": "out_of_stock" if sold_out else "in_stock", "quantity": 0 if sold_out else 9}])
        t_commit = time.perf_counter()
        t_seen, first_call, _, cached_call = parent.recv()
        write.append(t_commit - t0)
        lag.append(t_seen - t_commit)
        first.append(first_call)
        if cached_call is not None:
            cached.append(cached_call)
    parent.send("stop")
    proc.join(30)
    return {"lag_ms": statistics.median(lag) * 1e3, "lag_max_ms": max(lag) * 1e3,
            "first_answer_ms": statistics.median(first) * 1e3, "cached_answer_ms": statistics.median(cached) * 1e3,
            "write_ms": statistics.median(write) * 1e3, "n": n}


# ----------------------------------------------------------------------------------- import
def import_files(repo, total: int) -> dict:
    """``total`` stock lines as CSV files of at most 200,000 lines, one retailer per file,
    through ``read_rows`` + ``import_stock`` (each file one transaction)."""
    retailers = sorted(repo.list_retailers(), key=lambda r: -len(repo.stores_of_retailer(r["id"])))
    words = itertools.cycle(("有货", "少量", "缺货", "in_stock", "无货"))
    done, files, read_s, import_s, counts = 0, 0, 0.0, 0.0, {"inserted": 0, "updated": 0, "unchanged": 0}
    cpu_s = 0.0
    for r in retailers:
        codes = [s["external_id"] for s in repo.stores_of_retailer(r["id"]) if s["status"] == "open"]
        skus = [p["sku"] for p in repo.list_products(r["id"])]
        pairs = itertools.product(codes, skus)
        principal = Principal("retailer", r["id"], r["name"], tuple(r["domains"]))
        while done < total:
            chunk = list(itertools.islice(pairs, min(catalogue_service.MAX_ROWS, total - done)))
            if not chunk:
                break
            out = io.StringIO()
            out.write("门店编码,商品编码,库存状态,数量,价格\n")
            for n, (code, sku) in enumerate(chunk):
                out.write(f"{code},{sku},{next(words)},{n % 37},\n")
            data = out.getvalue().encode("utf-8")
            c0, t0 = time.thread_time(), time.perf_counter()
            rows = catalogue_service.read_rows(data, "stock.csv", "text/csv", catalogue_service.STOCK_HEADERS, "stock")[0]
            t1 = time.perf_counter()
            report = catalogue_service.import_stock(repo, principal, rows)
            t2 = time.perf_counter()
            cpu_s += time.thread_time() - c0
            assert not report.rejected, report.rejected[:3]
            read_s, import_s = read_s + t1 - t0, import_s + t2 - t1
            for key in counts:
                counts[key] += getattr(report, key)
            done += len(chunk)
            files += 1
            log(f"  import file {files}: {len(chunk):,} lines, read {t1 - t0:.1f} s, checked and written {t2 - t1:.1f} s")
        if done >= total:
            break
    return {"lines": done, "files": files, "read_s": read_s, "import_s": import_s, "total_s": read_s + import_s,
            "cpu_s": cpu_s, **counts}


# ----------------------------------------------------------------------------------- one backend
def measure(backend: str, url: str, args, info: dict) -> dict:
    from o2o.web import create_app
    from o2o.web.products import catalogue_cache

    repo = open_repository(url)
    products = pick_products(repo)
    info["products_picked"] = {k: v[:2] for k, v in products.items()}
    points = shopper_points(repo, 400)
    stores = {r.id: (r.lon, r.lat) for r in repo.index_rows(0) if r.status == "open"}

    app = create_app({"DATABASE_URL": url, "SEED_STORES": 0, "SECRET_KEY": "bench", "TESTING": True, "TILES": "none"})
    client = app.test_client()
    with app.app_context():
        cat = catalogue_cache()
    wide, wide_n, _ = products["wide"]
    narrow, narrow_n, _ = products["narrow"]

    def get(path):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)

    def uncached_get(pid):
        def run(p):
            cat._stocked.clear()
            get(f"/api/v1/products/{pid}/nearby?lat={p[1]:.5f}&lon={p[0]:.5f}&k=20")
        return run

    http_cases = {
        "stores nearby, k = 20 (baseline)": lambda p: get(f"/api/v1/stores/nearby?lat={p[1]:.5f}&lon={p[0]:.5f}&k=20"),
        f"product nearby, k = 20, product in {wide_n:,} stores, cached": (
            lambda p: get(f"/api/v1/products/{wide}/nearby?lat={p[1]:.5f}&lon={p[0]:.5f}&k=20")),
        f"the same, read again for every request": uncached_get(wide),
        f"product nearby, k = 20, product in {narrow_n:,} stores, cached": (
            lambda p: get(f"/api/v1/products/{narrow}/nearby?lat={p[1]:.5f}&lon={p[0]:.5f}&k=20")),
        f"the same, read again for every request ": uncached_get(narrow),
    }
    log(f"{backend}: HTTP in process")
    http = timed_rounds(http_cases, points, args.rounds, args.calls)

    # The service call and the SQL anchor, no HTTP.
    if backend == "sqlite":
        con = sqlite3.connect(url.removeprefix("sqlite:///"))
        anchor = sqlite_anchor(con)
    else:
        import psycopg
        con = psycopg.connect(url, autocommit=True)
        anchor = postgis_anchor(con)
    own = StockCache()

    def own_uncached(pid):
        def run(p):
            own.clear()
            own.nearest(repo, pid, p[0], p[1], 20)
        return run

    sql_cases = {}
    for label, (pid, n, _) in products.items():
        sql_cases[f"{label}: app, cached ({n:,} stores)"] = lambda p, pid=pid: own.nearest(repo, pid, p[0], p[1], 20)
        sql_cases[f"{label}: app, read again"] = own_uncached(pid)
        sql_cases[f"{label}: SQL anchor"] = lambda p, pid=pid: anchor(pid, p[0], p[1], 20)
    log(f"{backend}: service calls and SQL anchors")
    sql = timed_rounds(sql_cases, points, args.rounds, args.calls // 2)
    # the plan the anchor gets
    if backend == "sqlite":
        plan = " / ".join(r[3] for r in con.execute(
            "EXPLAIN QUERY PLAN SELECT s.id FROM stores_rtree t JOIN stores s ON s.id = t.id JOIN stock st ON"
            " st.store_id = s.id AND st.product_id = ? WHERE t.max_lon >= 121 AND t.min_lon <= 122 AND"
            " t.max_lat >= 31 AND t.min_lat <= 32 AND s.status = 'open' AND st.availability IN ('in_stock', 'limited')",
            (wide,)).fetchall())
    else:
        point = "ST_SetSRID(ST_MakePoint(121.47, 31.23), 4326)::geography"
        plan = " / ".join(r[0].strip().split("  (cost")[0].replace("->  ", "") for r in con.execute(
            f"EXPLAIN SELECT s.id FROM stores s JOIN stock st ON st.store_id = s.id WHERE st.product_id = %s"
            f" AND st.availability IN ('in_stock', 'limited') AND s.status = 'open' ORDER BY s.geog <-> {point}, s.id"
            " LIMIT 20", (wide,)).fetchall() if "cost=" in r[0])
    info.setdefault("plans", {})[backend] = plan

    # Exactness on a sample.
    log(f"{backend}: exactness")
    exact = {"checked": 0, "app": 0, "http": 0, "anchor": 0}
    rng = random.Random(11)
    for p in rng.sample(points, args.exact):
        for pid in (wide, narrow):
            truth = brute_force(repo, pid, p[0], p[1], 20, stores)
            mine = [(sid, d) for sid, d, _ in cat.nearest(repo, pid, p[0], p[1], 20)]
            body = client.get(f"/api/v1/products/{pid}/nearby?lat={p[1]}&lon={p[0]}&k=20").get_json()
            ids = [f["id"] for f in body["features"]]
            theirs = anchor(pid, p[0], p[1], 20)
            exact["checked"] += 1
            exact["app"] += mine == truth
            exact["http"] += ids == [sid for sid, _ in truth]
            exact["anchor"] += [sid for sid, _ in theirs] == [sid for sid, _ in truth]

    # Memory per cached line: the former tuples and the compact columns, on the same products.
    log(f"{backend}: memory")
    sample = [p["id"] for p in repo.list_products(products["wide"][2])][: args.memory_products]
    rows_of = [repo.stocked_stores(pid) for pid in sample]
    lines = sum(len(r) for r in rows_of)
    del rows_of
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    former = []
    for pid in sample:
        rows = repo.stocked_stores(pid)
        former.append((np.fromiter((r[0] for r in rows), dtype=np.int64), np.fromiter((r[1] for r in rows), dtype=float),
                       np.fromiter((r[2] for r in rows), dtype=float), rows))
    former_bytes = tracemalloc.get_traced_memory()[0] - base
    del former, rows
    gc.collect()
    base = tracemalloc.get_traced_memory()[0]
    compact = [StockedStores.from_rows(repo.stocked_stores(pid)) for pid in sample]
    compact_bytes = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    del compact
    gc.collect()
    # RSS as a cache fills up to its bound (the products of the largest retailers first).
    fill = StockCache()
    rss0, t0, filled = rss_bytes(), time.perf_counter(), 0
    for r in sorted(repo.list_retailers(), key=lambda r: -len(repo.stores_of_retailer(r["id"]))):
        for prod in repo.list_products(r["id"]):
            fill.get(repo, prod["id"])
            filled += 1
            if len(fill) >= fill.max_products or fill.lines >= fill.max_lines * 0.95:
                break
        if len(fill) >= fill.max_products or fill.lines >= fill.max_lines * 0.95:
            break
    fill_s = time.perf_counter() - t0
    gc.collect()
    memory = {"lines": lines, "products": len(sample), "former_per_line": former_bytes / lines,
              "compact_per_line": compact_bytes / lines, "fill_products": len(fill), "fill_lines": fill.lines,
              "fill_s": fill_s, "fill_rss": rss_bytes() - rss0, "max_lines": fill.max_lines}
    del fill

    log(f"{backend}: freshness across processes")
    fresh = freshness(url, repo, wide, n=args.fresh)
    log(f"{backend}: import")
    imported = import_files(repo, args.import_rows)
    con.close()
    repo.close()
    return {"http": http, "sql": sql, "exact": exact, "memory": memory, "fresh": fresh, "import": imported}


# ----------------------------------------------------------------------------------- report
def _cell(fn, run: dict, backend: dict) -> str:
    try:
        return fn(run, backend)
    except (KeyError, IndexError, TypeError):
        return "not measured"


def _size_label(key: str, run: dict) -> str:
    return f"{run['info']['stock']:,} lines" + (" (seeded)" if run.get("seeded") else "")


def render(results: dict) -> str:
    sizes = sorted(results, key=lambda k: results[k]["info"]["stock"])
    out = []
    first = results[sizes[-1]]
    def load_of(k):
        found = re.search(r"load average ([0-9.]+)", results[k]["machine"])
        return float(found.group(1)) if found else 0.0
    busy = ", ".join(_size_label(k, results[k]) for k in sizes if load_of(k) > 4) or "none of these runs"
    runs = "; ".join(f"{_size_label(k, results[k])}: {results[k]['when']}, load average "
                     f"{results[k]['machine'].rsplit('load average ', 1)[-1]}" for k in sizes)
    out.append(f"## Products in stores at scale (issue 15)\n\n{first['git']}; {first['machine'].rsplit(', load', 1)[0]}. "
               f"Runs: {runs}. On 2 cores, a load average far above 2 means the machine was shared with other work "
               f"during that run ({busy}: wall times inflated and noisy); the "
               "CPU time of the requesting thread is given beside the wall time, and the ratios against the baseline "
               "measured in the same rounds are the figures to compare across runs.\n\n"
               "`bench/bench_products_scale.py --rows N` (and `--seeded`): the seeded 30,000 stores, each retailer "
               "N / 30,000 products stocked in every one of its stores (70 % in stock, 15 % limited, 15 % out; the "
               "lines generated inside the database, the secondary indexes built after), in a temporary SQLite file "
               "and a scratch PostGIS database; or the seeded catalogue. One run per size and backend; medians of "
               "alternated rounds from points near random stores; the baseline, the plain nearby, is measured in "
               "the same run.\n")
    for backend in ("sqlite", "postgis"):
        have = [k for k in sizes if backend in results[k]["backends"]]
        if not have:
            continue
        name = "SQLite" if backend == "sqlite" else "PostGIS"
        out.append(f"### {name}\n")
        head = "| " + " | ".join(_size_label(k, results[k]) for k in have) + " |"
        out.append("In process (Flask test client), k = 20: wall and this thread's CPU per request (µs), each × the "
                   "plain nearby's of the same run:\n")
        out.append("| request | " + head[2:])
        out.append("|---|" + "---:|" * len(have))
        labels = []
        for k in have:
            for i, label in enumerate(results[k]["backends"][backend].get("http", {})):
                generic = ["stores nearby (baseline)", "product nearby, wide product, cached",
                           "the same, read again for every request", "product nearby, narrow product, cached",
                           "the same, read again for every request "][i]
                if generic not in labels:
                    labels.append(generic)
        for i, generic in enumerate(labels):
            cells = []
            for k in have:
                http = list(results[k]["backends"][backend].get("http", {}).values())
                if not http:
                    cells.append("not measured")
                    continue
                (base, base_cpu), (wall, cpu) = http[0], http[i]
                cells.append(f"{wall:,.0f} µs ({wall / base:.2f}×) · CPU {cpu:,.0f} µs ({cpu / base_cpu:.2f}×)")
            out.append(f"| {generic.strip()} | " + " | ".join(cells) + " |")
        out.append("")
        out.append("Stores holding the product: " + "; ".join(
            f"{_size_label(k, results[k])}: wide {results[k]['info']['products_picked']['wide'][1]:,}, "
            f"narrow {results[k]['info']['products_picked']['narrow'][1]:,}" for k in have) + ".\n")
        out.append("The app's own call (no HTTP) against the same question as one SQL query (the anchor): wall and this "
                   "thread's CPU (µs; on PostGIS the server's work is in the wall time only), × the anchor's wall:\n")
        out.append("| call | " + head[2:])
        out.append("|---|" + "---:|" * len(have))
        rows_labels = ["wide: app, cached", "wide: app, read again", "wide: SQL anchor",
                       "narrow: app, cached", "narrow: app, read again", "narrow: SQL anchor"]
        for j, generic in enumerate(rows_labels):
            cells = []
            for k in have:
                pairs = list(results[k]["backends"][backend]["sql"].values())
                vals, cpus = [v[0] for v in pairs], [v[1] for v in pairs]
                anchor = vals[2] if j < 3 else vals[5]
                ratio = vals[j] / anchor
                cells.append(f"{vals[j]:,.0f} µs · CPU {cpus[j]:,.0f} µs" + (
                    "" if "anchor" in generic else f" ({ratio:.2f}× the anchor)" if ratio >= 0.01
                    else f" (1/{1 / ratio:,.0f} of the anchor)"))
            out.append(f"| {generic} | " + " | ".join(cells) + " |")
        out.append("")
        out.append("| other figures | " + head[2:])
        out.append("|---|" + "---:|" * len(have))
        def row(title, fn):
            out.append(f"| {title} | " + " | ".join(_cell(fn, results[k], results[k]["backends"][backend]) for k in have)
                       + " |")
        row("exact answers (app service / HTTP / SQL anchor) against brute force",
            lambda r, b: f"{b['exact']['app']}/{b['exact']['checked']} / {b['exact']['http']}/{b['exact']['checked']}"
                         f" / {b['exact']['anchor']}/{b['exact']['checked']}")
        row("memory per cached line: former tuples → compact columns (tracemalloc)",
            lambda r, b: f"{b['memory']['former_per_line']:.0f} B → {b['memory']['compact_per_line']:.0f} B")
        row("the cache filled to its bound (512 products): lines, time to fill, their columns",
            lambda r, b: f"{b['memory']['fill_lines']:,} lines, {b['memory']['fill_s']:.0f} s, "
                         f"{b['memory']['fill_lines'] * b['memory']['compact_per_line'] / 1e6:,.0f} MB")
        row("every line in memory, compact (extrapolated)",
            lambda r, b: f"{r['info']['stock'] * b['memory']['compact_per_line'] / 1e9:.2f} GB")
        row("stock write in one process → the other's answer without the store (median / max)",
            lambda r, b: f"{b['fresh']['lag_ms']:.1f} / {b['fresh']['lag_max_ms']:.1f} ms")
        row("that first answer (re-read) / a cached answer / the write itself",
            lambda r, b: f"{b['fresh']['first_answer_ms']:.1f} / {b['fresh']['cached_answer_ms']:.2f} / "
                         f"{b['fresh']['write_ms']:.1f} ms")
        row("import of 1 M lines (CSV files of ≤ 200,000; read / checked and written / total wall; this process's CPU)",
            lambda r, b: f"{b['import']['read_s']:.1f} / {b['import']['import_s']:.1f} / "
                         f"**{b['import']['total_s']:.1f} s**; CPU {b['import'].get('cpu_s', float('nan')):.1f} s "
                         f"({b['import']['lines']:,} lines, {b['import']['files']} files)")
        row("database size / building it (seed; stock lines)",
            lambda r, b: f"{b['info']['db_bytes'] / 1e9:.2f} GB / {b['info']['seed_s']:.0f} s; "
                         f"{b['info'].get('stock_load_s', float('nan')):.0f} s")
        out.append("")
        plans = {results[k]["backends"][backend]["info"].get("plans", {}).get(backend) for k in have}
        out.append("Anchor plan: " + " · ".join(f"`{p}`" for p in plans if p) + "\n")
    out += growth(results, sizes)
    return "\n".join(out)


def growth(results: dict, sizes: list[str]) -> list[str]:
    """How the figures grow from 3 M to 30 M lines (both runs' own numbers, and their ratio)."""
    small, large = "3000000", "30000000"
    if small not in results or large not in results:
        return []
    out = ["### From 3 M to 30 M lines\n", "| figure | backend | 3 M | 30 M | × |", "|---|---|---:|---:|---:|"]
    figures = [
        ("product nearby, wide product, cached (HTTP, wall µs)", lambda b: list(b["http"].values())[1][0]),
        ("the same, read again (HTTP, wall µs)", lambda b: list(b["http"].values())[2][0]),
        ("plain nearby (HTTP, wall µs)", lambda b: list(b["http"].values())[0][0]),
        ("product nearby cached ÷ plain nearby (wall)", lambda b: list(b["http"].values())[1][0] / list(b["http"].values())[0][0]),
        ("product nearby read again ÷ plain nearby (wall)", lambda b: list(b["http"].values())[2][0] / list(b["http"].values())[0][0]),
        ("app call, wide, read again (µs)", lambda b: list(b["sql"].values())[1][0]),
        ("SQL anchor, wide (µs)", lambda b: list(b["sql"].values())[2][0]),
        ("stores holding the wide product", lambda b: b["info"]["products_picked"]["wide"][1]),
        ("compact bytes per cached line", lambda b: b["memory"]["compact_per_line"]),
        ("stock write → other process's answer (ms)", lambda b: b["fresh"]["lag_ms"]),
        ("import of 1 M lines (s, wall)", lambda b: b["import"]["total_s"]),
        ("import of 1 M lines (s, CPU of the importing thread)", lambda b: b["import"].get("cpu_s", float("nan"))),
        ("database size (GB)", lambda b: b["info"]["db_bytes"] / 1e9),
    ]
    for backend in ("sqlite", "postgis"):
        if backend not in results[small]["backends"] or backend not in results[large]["backends"]:
            continue
        a, b = results[small]["backends"][backend], results[large]["backends"][backend]
        for title, fn in figures:
            try:
                x, y = fn(a), fn(b)
            except (KeyError, IndexError, TypeError):
                continue
            fmt = (lambda v: f"{v:,.2f}") if max(abs(x), abs(y)) < 100 else (lambda v: f"{v:,.0f}")
            out.append(f"| {title} | {backend} | {fmt(x)} | {fmt(y)} | {y / x:.2f}× |" if x else
                       f"| {title} | {backend} | {fmt(x)} | {fmt(y)} | |")
    out.append("")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=3_000_000, help="stock lines (stores × products per store)")
    ap.add_argument("--stores", type=int, default=30_000)
    ap.add_argument("--seeded", action="store_true", help="the seeded catalogue and stock instead")
    ap.add_argument("--backends", default="sqlite,postgis")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--exact", type=int, default=50, help="points checked against brute force")
    ap.add_argument("--fresh", type=int, default=10, help="sell-outs and restocks timed across processes")
    ap.add_argument("--import-rows", type=int, default=1_000_000)
    ap.add_argument("--memory-products", type=int, default=100)
    ap.add_argument("--quick", action="store_true", help="a short check: 3,000 stores, 300,000 lines")
    ap.add_argument("--write", action="store_true", help="write every kept size into docs/benchmarks.md")
    ap.add_argument("--render-only", action="store_true")
    args = ap.parse_args()
    if args.render_only:
        write_section("products_scale", render(json.loads(RESULTS.read_text())))
        return
    if args.quick:
        args.stores, args.rows, args.rounds, args.calls, args.exact, args.fresh = 3000, 300_000, 2, 50, 10, 4
        args.import_rows, args.memory_products = 100_000, 20
    key = "seeded" if args.seeded else str(args.rows)
    run = {"when": now_text(), "git": os.environ.get("O2O_BENCH_GIT") or git_state(), "machine": machine_note(), "seeded": args.seeded,
           "backends": {}, "args": vars(args)}
    tmp = Path(tempfile.mkdtemp(prefix="o2o-scale-", dir=os.environ.get("O2O_BENCH_TMP")))
    pg = None
    try:
        for backend in args.backends.split(","):
            log(f"{backend}: building {args.rows:,} lines" if not args.seeded else f"{backend}: seeding")
            if backend == "sqlite":
                url = f"sqlite:///{tmp / 'scale.db'}"
                info = build_sqlite(tmp / "scale.db", args)
            else:
                pg = PgScratch()
                url = pg.url
                info = build_postgis(url, args)
            log(f"{backend}: {info}")
            result = measure(backend, url, args, info)
            result["info"] = info
            run["backends"][backend] = result
            run["info"] = info
            log(json.dumps({k: v for k, v in result.items() if k != "info"}, ensure_ascii=False, default=str)[:3000])
            if backend == "sqlite":
                for f in tmp.glob("scale.db*"):
                    f.unlink()
            else:
                pg.drop()
                pg = None
    finally:
        if pg is not None:
            pg.drop()
        shutil.rmtree(tmp, ignore_errors=True)
    if not args.quick:
        kept = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        old = kept.get(key, {}).get("backends", {})
        run["backends"] = {**old, **run["backends"]}
        kept[key] = run
        RESULTS.write_text(json.dumps(kept, indent=1, ensure_ascii=False, default=str))
        if args.write:
            write_section("products_scale", render(kept))
    else:
        print(render({key: run}))


if __name__ == "__main__":
    main()
