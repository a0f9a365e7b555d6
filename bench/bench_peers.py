#!/usr/bin/env python
"""Ahead of the peers: our ``nearby`` and ``/ogc`` items against pygeoapi and tipg on the same stores.

    .venv/bin/python bench/bench_peers.py                # 3 rounds of 4-s runs per case (~6 min with set-up)
    .venv/bin/python bench/bench_peers.py --write-docs   # also rewrite its section of docs/benchmarks.md

What the peers need is installed by this script itself, from PyPI, into virtualenvs of their own
outside the repository (``--peers-dir``, default ``/tmp/o2o-peers``; never committed):

- **pygeoapi** ``==0.21.0`` (the OGC API reference server, Flask; 0.22+ needs Python 3.12, so the
  newest 0.21) with its PostgreSQL provider, which needs ``GeoAlchemy2==0.20.0`` and
  ``psycopg2-binary==2.9.13``, served by ``gunicorn==27.0.1`` (``-w 2`` sync, as ours). Its
  PostgreSQL provider is its best here: the GeoPackage/SQLite providers write to the file on each
  request and lock under two workers.
- **tipg** ``==1.6.1`` (FastAPI over PostGIS, asyncpg) served by ``uvicorn==0.54.0 --workers 2``.
  A tipg user who wants "the 20 nearest stores" can do no better than a PostGIS SQL function
  exposed as a collection: ``peers.nearest20(lat, lon)`` (index-assisted ``<->`` on geography,
  the exact 20 nearest by sphere distance).

The load generator is wrk (Debian's ``wrk``; ``apt-get install -y wrk`` if missing). The database
is a dedicated one on the test PostgreSQL (``O2O_BENCH_POSTGRES``, default
``postgresql://postgres@127.0.0.1:5432/postgres``): ``o2o_bench_peers`` is created, seeded with
30,000 stores by ``flask --app app seed`` (our app serves it), and dropped at the end. The peers
read the same open stores, copied into ``peers.open_stores`` (a point geometry with a GiST index,
and a GiST index on its geography for the nearest-20 function).

Cases, all on the same 200 shopper positions (random stores moved by ~1 km, as bench_http):
``nearby`` k=20 (ours) and tipg's nearest-20 function ask for the 20 nearest; our
``/ogc/collections/stores/items``, tipg's table items and pygeoapi's items ask for
``bbox`` = the position ± 0.01° with ``limit=20`` (the same bbox for all three). Each answer of
the first 100 positions is checked against the true 20 nearest (brute-force haversine over every
open store): recall@20, and the share of answers that are exactly the true nearest set.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    FLASK, ROOT, WRK_DONE_LUA, Server, bench_env, fmt_bytes, fmt_int, free_port, git_state, http_get,
    machine_note, median, now_text, run_wrk, which_or_none, write_section,
)
from bench_http import JITTER_KM, KM_PER_DEG, N_POINTS, SEED  # noqa: E402

SECTION = "bench_peers"
STORES = 30000
DB_NAME = "o2o_bench_peers"
ADMIN_URL = os.environ.get("O2O_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
HALF_DEG = 0.02           # bbox = position ± this, for every bbox case
K = 20
RECALL_POINTS = 100
PYGEOAPI_PINS = ["pygeoapi==0.21.0", "GeoAlchemy2==0.20.0", "psycopg2-binary==2.9.13", "gunicorn==27.0.1"]
TIPG_PINS = ["tipg==1.6.1", "uvicorn==0.54.0"]

PEERS_SQL = """
CREATE SCHEMA peers;
CREATE TABLE peers.open_stores AS
  SELECT id, name, brand, category, province, city, district, address, hours, phone, online_url,
         ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geometry(Point, 4326) AS geom
  FROM public.stores WHERE status = 'open';
ALTER TABLE peers.open_stores ADD PRIMARY KEY (id);
CREATE INDEX open_stores_geom ON peers.open_stores USING gist (geom);
CREATE INDEX open_stores_geog ON peers.open_stores USING gist ((geom::geography));
ANALYZE peers.open_stores;
CREATE FUNCTION peers.nearest20(lat double precision, lon double precision)
RETURNS TABLE (id bigint, name text, brand text, category text, city text, address text,
               distance_m double precision, geom geometry(Point, 4326))
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT s.id, s.name, s.brand, s.category, s.city, s.address,
         ST_Distance(s.geom::geography, p.g) AS distance_m, s.geom
  FROM peers.open_stores s,
       (SELECT ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography AS g) p
  ORDER BY s.geom::geography <-> p.g
  LIMIT 20
$$;
"""

PYGEOAPI_CONFIG = """
server:
  bind: {{host: 127.0.0.1, port: {port}}}
  url: http://127.0.0.1:{port}
  mimetype: application/json; charset=UTF-8
  encoding: utf-8
  gzip: false
  languages: [en-US]
  pretty_print: false
  limits: {{default_items: 20, max_items: 1000}}
  map: {{url: 'https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png', attribution: 'OpenStreetMap'}}
logging:
  level: ERROR
metadata:
  identification:
    title: o2o peers bench
    description: the o2o stores served by pygeoapi
    keywords: [stores]
    keywords_type: theme
    terms_of_service: https://creativecommons.org/licenses/by/4.0/
    url: https://example.org
  license: {{name: CC-BY 4.0, url: 'https://creativecommons.org/licenses/by/4.0/'}}
  provider: {{name: o2o, url: 'https://example.org'}}
  contact: {{name: o2o}}
resources:
  stores:
    type: collection
    title: Stores
    description: open stores
    keywords: [stores]
    links: []
    extents:
      spatial: {{bbox: [73, 18, 135, 54], crs: 'http://www.opengis.net/def/crs/OGC/1.3/CRS84'}}
    providers:
      - type: feature
        name: PostgreSQL
        data: {{host: {host}, port: {pgport}, dbname: {db}, user: {user}, password: '{password}', search_path: [peers, public]}}
        id_field: id
        table: open_stores
        geom_field: geom
"""

LUA = r"""
-- Generated by bench/bench_peers.py: GET each of these paths in turn.
local paths = {
%(paths)s
}
local counter = 0
local next_tid = 0
function setup(thread)
  next_tid = next_tid + 1
  thread:set("tid", next_tid)
end
function init(args)
  counter = (tid or 0) * 7919
end
function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
""" + WRK_DONE_LUA


def bbox(lat: float, lon: float) -> str:
    return f"{lon - HALF_DEG:.6f},{lat - HALF_DEG:.6f},{lon + HALF_DEG:.6f},{lat + HALF_DEG:.6f}"


# name, label, server, path for (lat, lon), exact (asks for the nearest)
CASES = [
    ("ours_nearby", "o2o `nearby` k=20", "ours",
     lambda lat, lon: f"/api/v1/stores/nearby?lat={lat:.6f}&lon={lon:.6f}&k={K}", True),
    ("tipg_nearest", "tipg: PostGIS nearest-20 function as a collection", "tipg",
     lambda lat, lon: f"/collections/peers.nearest20/items?lat={lat:.6f}&lon={lon:.6f}&limit={K}", True),
    ("ours_ogc", "o2o `/ogc/collections/stores/items?bbox=…&limit=20`", "ours",
     lambda lat, lon: f"/ogc/collections/stores/items?bbox={bbox(lat, lon)}&limit={K}", False),
    ("tipg_bbox", "tipg `/collections/peers.open_stores/items?bbox=…&limit=20`", "tipg",
     lambda lat, lon: f"/collections/peers.open_stores/items?bbox={bbox(lat, lon)}&limit={K}", False),
    ("pygeoapi_bbox", "pygeoapi (PostgreSQL provider) `/collections/stores/items?bbox=…&limit=20`", "pygeoapi",
     lambda lat, lon: f"/collections/stores/items?bbox={bbox(lat, lon)}&limit={K}&f=json", False),
]


# ------------------------------------------------------------------------------ set-up
def ensure_venv(path: Path, pins: list[str]) -> Path:
    """A virtualenv at ``path`` with ``pins`` installed (from PyPI; skipped when already there)."""
    stamp = path / (".installed-" + "-".join(p.replace("==", "_") for p in pins))
    if not stamp.exists():
        print(f"  installing {' '.join(pins)} into {path} …", flush=True)
        if not (path / "bin" / "python").exists():
            subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
        subprocess.run([str(path / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", *pins],
                       check=True)
        stamp.touch()
    return path / "bin"


def pip_version(bin_dir: Path, package: str) -> str:
    out = subprocess.run([str(bin_dir / "python"), "-c",
                          f"import importlib.metadata as m; print(m.version({package!r}))"],
                         capture_output=True, text=True)
    return out.stdout.strip() or "?"


def pg_url(database: str) -> str:
    base, _, _ = ADMIN_URL.rpartition("/")
    return f"{base}/{database}"


def admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql)


def create_database() -> str:
    import psycopg

    admin(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    admin(f"CREATE DATABASE {DB_NAME}")
    url = pg_url(DB_NAME)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    return url


def database_ready() -> bool:
    """The bench's database is there, seeded and with the peers' schema (a run kept with --keep)."""
    import psycopg

    try:
        with psycopg.connect(pg_url(DB_NAME), autocommit=True, connect_timeout=5) as conn:
            return conn.execute("SELECT to_regclass('peers.open_stores') IS NOT NULL").fetchone()[0]
    except psycopg.Error:
        return False


def seed(url: str, tmp: Path) -> int:
    env = bench_env(tmp / "unused.db", O2O_DATABASE_URL=url, O2O_SEED_STORES=str(STORES), O2O_SEED_PRODUCTS="false")
    t0 = time.perf_counter()
    for attempt in range(3):   # a loaded machine can miss the pool's connect timeout: try again
        out = subprocess.run([FLASK, "--app", "app", "seed", "--stores", str(STORES), "--scans", "0"],
                             cwd=ROOT, env=env, capture_output=True, text=True)
        if out.returncode == 0:
            break
        print(f"  seeding failed (attempt {attempt + 1}): {out.stderr.strip().splitlines()[-1:]}", flush=True)
    else:
        raise RuntimeError(f"seeding failed:\n{out.stdout}\n{out.stderr}")
    print(f"  {out.stdout.strip()} in {time.perf_counter() - t0:.1f} s", flush=True)
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(PEERS_SQL)
        return conn.execute("SELECT count(*) FROM peers.open_stores").fetchone()[0]


def database_versions(url: str) -> str:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0].split()[0]
        postgis = conn.execute("SELECT postgis_lib_version()").fetchone()[0]
    return f"PostgreSQL {pg}, PostGIS {postgis}"


def open_stores(url: str):
    """(ids, lat, lon) of every open store, as numpy arrays."""
    import numpy as np
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT id, lat, lon FROM stores WHERE status = 'open' ORDER BY id").fetchall()
    ids = np.array([r[0] for r in rows])
    return ids, np.array([r[1] for r in rows]), np.array([r[2] for r in rows])


def shopper_points(stores, n: int = N_POINTS, seed: int = SEED):
    """bench_http's positions: random open stores moved by ~1 km of normal jitter."""
    import random

    ids, lat, lon = stores
    rng = random.Random(seed)
    out = []
    for i in rng.sample(range(len(ids)), n):
        la, lo = float(lat[i]), float(lon[i])
        dlat = rng.gauss(0, JITTER_KM) / KM_PER_DEG
        dlon = rng.gauss(0, JITTER_KM) / (KM_PER_DEG * math.cos(math.radians(la)))
        out.append((round(la + dlat, 6), round(lo + dlon, 6)))
    return out


def true_nearest(stores, lat: float, lon: float, k: int = K) -> set[int]:
    """Brute force: haversine to every open store, the ``k`` smallest."""
    import numpy as np

    ids, la, lo = stores
    p1, p2 = np.radians(lat), np.radians(la)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lo - lon) / 2) ** 2
    d = 2 * 6371008.8 * np.arcsin(np.sqrt(a))
    return {int(x) for x in ids[np.argpartition(d, k)[:k]]}


# ------------------------------------------------------------------------------ servers
def start_servers(url: str, tmp: Path, pyg_bin: Path, tipg_bin: Path) -> dict[str, Server]:
    from urllib.parse import urlsplit

    pg = urlsplit(url)
    ours_env = bench_env(tmp / "unused.db", O2O_DATABASE_URL=url, O2O_SEED_STORES="0")
    ours = Server.gunicorn("app:app", 2, ours_env, tmp / "ours.log", extra=["--no-control-socket"])

    port = free_port()
    cfg = tmp / "pygeoapi.yml"
    cfg.write_text(PYGEOAPI_CONFIG.format(port=port, host=pg.hostname or "127.0.0.1", pgport=pg.port or 5432,
                                          db=DB_NAME, user=pg.username or "postgres",
                                          password=pg.password or ""), encoding="utf-8")
    openapi = tmp / "pygeoapi-openapi.yml"
    pyg_env = dict(os.environ, PYGEOAPI_CONFIG=str(cfg), PYGEOAPI_OPENAPI=str(openapi))
    out = subprocess.run([str(pyg_bin / "pygeoapi"), "openapi", "generate", str(cfg), "--output-file", str(openapi)],
                         env=pyg_env, capture_output=True, text=True, cwd=tmp)
    if out.returncode != 0:
        raise RuntimeError(f"pygeoapi openapi generate failed:\n{out.stdout}\n{out.stderr}")
    pygeoapi = Server([str(pyg_bin / "gunicorn"), "--workers", "2", "--worker-class", "sync", "--bind",
                       f"127.0.0.1:{port}", "--timeout", "120", "--no-control-socket", "pygeoapi.flask_app:APP"],
                      port, pyg_env, tmp / "pygeoapi.log", cwd=tmp)  # cwd: not our gunicorn.conf.py

    port = free_port()
    tipg_env = dict(os.environ, DATABASE_URL=url, TIPG_DB_SCHEMAS='["peers"]', TIPG_DEFAULT_FEATURES_LIMIT=str(K),
                    TIPG_DB_SPATIAL_EXTENT="false", TIPG_DB_DATETIME_EXTENT="false")
    tipg = Server([str(tipg_bin / "uvicorn"), "tipg.main:app", "--workers", "2", "--host", "127.0.0.1",
                   "--port", str(port), "--log-level", "warning", "--no-access-log"],
                  port, tipg_env, tmp / "tipg.log", cwd=tmp)
    return {"ours": ours, "pygeoapi": pygeoapi, "tipg": tipg}


def cpu_snapshot(server: Server, db_url: str) -> dict[int, float]:
    """CPU seconds (user + system) so far of the server's processes (master and workers) and of
    every PostgreSQL backend serving the bench's database: what one answer costs, wherever it is
    spent. On a shared machine requests/s follow whatever else runs; CPU per answer much less."""
    import psutil
    import psycopg

    procs = []
    try:
        root = psutil.Process(server.proc.pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        pass
    with psycopg.connect(db_url, autocommit=True) as conn:
        backends = [r[0] for r in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")]
    for pid in backends:
        try:
            procs.append(psutil.Process(pid))
        except psutil.NoSuchProcess:
            pass
    out = {}
    backend_pids = set(backends)
    for proc in procs:
        try:
            t = proc.cpu_times()
            out[(proc.pid, proc.pid in backend_pids)] = t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return out


def cpu_used(before: dict, after: dict, database: bool | None = None) -> float:
    """CPU seconds used between two snapshots: all of it, or only the database's (True) / the server's (False)."""
    return sum(max(0.0, v - before.get(key, 0.0)) for key, v in after.items()
               if database is None or key[1] == database)


def feature_ids(body: bytes) -> list[int]:
    data = json.loads(body)
    return [int(f["id"]) for f in data.get("features", [])]


def check_and_recall(servers, stores, points) -> dict:
    """Every case on the first RECALL_POINTS positions: status, body size, recall@20 against the truth."""
    out = {}
    truths = [true_nearest(stores, lat, lon) for lat, lon in points[:RECALL_POINTS]]
    for name, _label, srv, path, _exact in CASES:
        sizes, recalls, exact, counts = [], [], 0, []
        for (lat, lon), truth in zip(points[:RECALL_POINTS], truths):
            url = servers[srv].base + path(lat, lon)
            status, body, _ = http_get(url, timeout=30)
            if status != 200:
                raise RuntimeError(f"{name}: {url} answered {status}: {body[:300]!r}")
            ids = feature_ids(body)
            sizes.append(len(body))
            counts.append(len(ids))
            hit = len(truth & set(ids))
            recalls.append(hit / K)
            exact += set(ids) == truth
        out[name] = {"bytes": median(sizes), "features": median(counts), "recall": sum(recalls) / len(recalls),
                     "exact": exact / len(truths)}
        print(f"  {name:14s} {fmt_bytes(out[name]['bytes']):>9s}  {out[name]['features']:.0f} features  "
              f"recall@20 {out[name]['recall']:.2f}  exact {out[name]['exact'] * 100:.0f} %", flush=True)
    return out


def write_lua(path: Path, paths: list[str]) -> None:
    rows = ",\n".join(f"  {json.dumps(p)}" for p in paths)
    path.write_text(LUA % {"paths": rows}, encoding="utf-8")


# ------------------------------------------------------------------------------ report
def table(summary: dict, quality: dict) -> str:
    lines = ["| server and query | requests/s | CPU per answer (server + its database) | of which PostgreSQL | answers per CPU-second "
             "| p50 ms | p99 ms | bytes per answer | recall@20 vs true nearest "
             "| answers exactly the true 20 | non-2xx / socket errors |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, label, _srv, _path, _exact in CASES:
        s, q = summary[name], quality[name]
        lines.append(f"| {label} | {s['rps']:,.1f} | {s['cpu_ms']:.2f} ms | {s['db_cpu_ms']:.2f} ms | "
                     f"{fmt_int(s['per_cpu_s'])} | "
                     f"{s['p50_ms']:.1f} | {s['p99_ms']:.1f} | "
                     f"{fmt_bytes(q['bytes'])} | {q['recall']:.2f} | {q['exact'] * 100:.0f} % | "
                     f"{s['non2xx']} / {s['socket_errors']} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=4, help="wrk duration per run")
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--peers-dir", default=os.environ.get("O2O_PEERS_DIR", "/tmp/o2o-peers"))
    ap.add_argument("--write-docs", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the database and the temp directory")
    ap.add_argument("--reuse", action="store_true", help="use the database a --keep run left (no re-seeding)")
    args = ap.parse_args(argv)
    if not which_or_none("wrk"):
        print("bench_peers.py needs wrk: sudo apt-get install -y wrk", file=sys.stderr)
        return 2
    t_start = time.perf_counter()
    started, machine = now_text(), f"{git_state()}; {machine_note()}"
    peers = Path(args.peers_dir)
    print("peers' virtualenvs:", flush=True)
    pyg_bin = ensure_venv(peers / "pygeoapi", PYGEOAPI_PINS)
    tipg_bin = ensure_venv(peers / "tipg", TIPG_PINS)
    versions = {"pygeoapi": pip_version(pyg_bin, "pygeoapi"), "tipg": pip_version(tipg_bin, "tipg"),
                "uvicorn": pip_version(tipg_bin, "uvicorn"), "asyncpg": pip_version(tipg_bin, "asyncpg"),
                "SQLAlchemy": pip_version(pyg_bin, "SQLAlchemy"), "GeoAlchemy2": pip_version(pyg_bin, "GeoAlchemy2")}
    tmp = Path(tempfile.mkdtemp(prefix="o2o-bench-peers-"))
    servers = {}
    print(f"temp directory {tmp}; database {DB_NAME}", flush=True)
    try:
        if args.reuse and database_ready():
            url = pg_url(DB_NAME)
            open_count = len(open_stores(url)[0])
            print(f"  reusing {DB_NAME} ({open_count:,} open stores)", flush=True)
        else:
            url = create_database()
            open_count = seed(url, tmp)
        db_versions = database_versions(url)
        stores = open_stores(url)
        assert len(stores[0]) == open_count
        points = shopper_points(stores)
        servers = start_servers(url, tmp, pyg_bin, tipg_bin)
        for s in servers.values():
            s.start()
        servers["ours"].wait_ready("/healthz", timeout=180)
        servers["pygeoapi"].wait_ready("/collections/stores", timeout=180)
        servers["tipg"].wait_ready("/collections/peers.open_stores", timeout=180)
        print("answers checked against the true nearest (brute-force haversine):", flush=True)
        quality = check_and_recall(servers, stores, points)
        luas = {}
        for name, _label, _srv, path, _exact in CASES:
            luas[name] = tmp / f"{name}.lua"
            write_lua(luas[name], [path(lat, lon) for lat, lon in points])
        for name, _label, srv, _path, _exact in CASES:   # warm-up, not recorded
            run_wrk(servers[srv].base, luas[name], "", "", 2, 1, args.connections)
        runs = {c[0]: [] for c in CASES}
        for rnd in range(args.rounds):
            for name, _label, srv, _path, _exact in (CASES if rnd % 2 == 0 else CASES[::-1]):
                cpu0 = cpu_snapshot(servers[srv], url)
                r = run_wrk(servers[srv].base, luas[name], "", "", args.seconds, 1, args.connections)
                cpu1 = cpu_snapshot(servers[srv], url)
                r["cpu_ms"] = cpu_used(cpu0, cpu1) / max(r["requests"], 1) * 1e3
                r["db_cpu_ms"] = cpu_used(cpu0, cpu1, database=True) / max(r["requests"], 1) * 1e3
                runs[name].append(r)
                print(f"  round {rnd + 1}/{args.rounds} {name:14s} {r['rps']:8.1f} req/s  CPU {r['cpu_ms']:6.2f} ms/answer"
                      f"  p50 {r['p50_us'] / 1000:7.2f} ms"
                      f"  p99 {r['p99_us'] / 1000:7.2f} ms  non-2xx {r['status']}  socket errors {r['socket_errors']}",
                      flush=True)
                for s in servers.values():
                    if s.proc.poll() is not None:
                        raise RuntimeError(f"a server died; see {s.log}")
    finally:
        for s in servers.values():
            s.stop()
        if not args.keep:
            try:
                admin(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
            except Exception as exc:  # noqa: BLE001
                print(f"could not drop {DB_NAME}: {exc}", file=sys.stderr)
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp} and database {DB_NAME}")
    summary = {name: {"rps": median(r["rps"] for r in rs), "p50_ms": median(r["p50_us"] for r in rs) / 1000,
                      "p99_ms": median(r["p99_us"] for r in rs) / 1000,
                      "cpu_ms": median(r["cpu_ms"] for r in rs),
                      "db_cpu_ms": median(r["db_cpu_ms"] for r in rs),
                      "non2xx": sum(r["status"] for r in rs), "socket_errors": sum(r["socket_errors"] for r in rs)}
               for name, rs in runs.items()}
    for v in summary.values():
        v["per_cpu_s"] = 1000 / v["cpu_ms"] if v["cpu_ms"] > 0 else float("nan")
    text = table(summary, quality)
    print()
    print(text)
    ratios = {}
    for key in ("rps", "per_cpu_s"):
        best_exact = max(summary[n][key] for n, *_rest, exact in CASES if exact and not n.startswith("ours"))
        ratios[key] = {"nearby": summary["ours_nearby"][key] / best_exact,
                       "ogc": summary["ours_ogc"][key] / summary["pygeoapi_bbox"][key],
                       "ogc_tipg": summary["ours_ogc"][key] / summary["tipg_bbox"][key]}
        print(f"\n{key}: ours nearby ÷ best exact peer {ratios[key]['nearby']:.1f}× (aim ≥ 8×); ours /ogc ÷ pygeoapi "
              f"{ratios[key]['ogc']:.1f}× (aim ≥ 20×); ÷ tipg bbox {ratios[key]['ogc_tipg']:.1f}×")
    elapsed = time.perf_counter() - t_start
    if args.write_docs:
        write_section(SECTION, docs_section(text, summary, quality, ratios, versions,
                                            db_versions, open_count, args, started, elapsed, machine))
    return 0


def docs_section(text, summary, quality, ratios, versions, db_versions, open_count, args, started, elapsed,
                 machine) -> str:
    mark = lambda ok: "✓" if ok else "✗"  # noqa: E731
    r, c = ratios["rps"], ratios["per_cpu_s"]
    return "\n".join([
        "## Ahead of the peers: pygeoapi and tipg on the same stores",
        "",
        f"The same {STORES:,} seeded stores ({open_count:,} open) in one PostGIS database, served side by side by "
        "our app (`gunicorn -w 2` sync), pygeoapi (`gunicorn -w 2` sync, its PostgreSQL provider) and tipg "
        "(`uvicorn --workers 2`), and loaded in turn by wrk "
        f"(`-t1 -c{args.connections}`, {args.rounds} rounds of {args.seconds} s per case, order reversed every other "
        "round; medians). Every case walks the same 200 shopper positions; the bbox cases ask for the position "
        f"± {HALF_DEG}° with `limit=20`. CPU per answer: the CPU time the server's processes and the PostgreSQL "
        "backends of the bench's database used during the run, divided by the answers (what an answer costs "
        "wherever it is spent; it holds on a busy machine where requests/s follow whatever else runs). Bytes = "
        "median uncompressed answer. Recall@20: the share of the true 20 nearest open stores (brute-force "
        f"haversine) in the answer, mean over {RECALL_POINTS} positions.",
        "",
        text,
        "",
        f"- **Nearest 20**: our `nearby` against the best exact peer (tipg with a PostGIS nearest-20 function): "
        f"**{r['nearby']:.1f}×** its requests/s and **{c['nearby']:.1f}×** its answers per CPU-second "
        f"(aim ≥ 8×) {mark(min(r['nearby'], c['nearby']) >= 8)}.",
        f"- **bbox items**: our `/ogc` items against pygeoapi on the same bbox queries: **{r['ogc']:.1f}×** its "
        f"requests/s, **{c['ogc']:.1f}×** its answers per CPU-second (aim ≥ 20×) {mark(min(r['ogc'], c['ogc']) >= 20)}; "
        f"against tipg's bbox items {r['ogc_tipg']:.1f}× / {c['ogc_tipg']:.1f}×.",
        f"- A bbox page is not the nearest stores (recall {quality['tipg_bbox']['recall']:.2f} for tipg, "
        f"{quality['pygeoapi_bbox']['recall']:.2f} for pygeoapi, {quality['ours_ogc']['recall']:.2f} for ours): an "
        "OGC API client cannot ask for \"the 20 nearest\" without a server-side function; ours answers it directly.",
        "",
        f"Versions: pygeoapi {versions['pygeoapi']} (SQLAlchemy {versions['SQLAlchemy']}, GeoAlchemy2 "
        f"{versions['GeoAlchemy2']}), tipg {versions['tipg']} (uvicorn {versions['uvicorn']}, asyncpg "
        f"{versions['asyncpg']}), {db_versions}; installed by the script into virtualenvs outside the repository. "
        "pygeoapi 0.22+ needs Python 3.12, hence 0.21; its GeoPackage provider writes to the file per request "
        "and locks under two workers, so its PostgreSQL provider (the better one) is measured.",
        "",
        f"Run {started} in {elapsed / 60:.1f} min: `.venv/bin/python bench/bench_peers.py --write-docs` ({machine}). "
        "A shared, noisy 2-core VM where wrk competes with the servers (and other jobs with all of them): read "
        "the CPU per answer and the ratios, measured in the same run, rather than the absolute requests/s.",
    ])


if __name__ == "__main__":
    sys.exit(main())
