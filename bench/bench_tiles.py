#!/usr/bin/env python
"""Vector tiles: the app's (in-memory index + mapbox-vector-tile) against PostGIS's ``ST_AsMVT``.

Run: ``.venv/bin/python bench/bench_tiles.py [--stores 30000] [--repeats 15] [--write-docs]``

A fresh PostGIS database (on ``O2O_TEST_POSTGRES``'s server, dropped afterwards) gets the demo's
stores; one app over it. For tiles at zooms 4 to 17 around Shanghai, Beijing and Chengdu (all
stores, and one brand's), each way makes each tile ``--repeats`` times, in alternating order:
(a) ``o2o.services.tiles.store_tile`` (what ``/tiles/stores/…`` runs: the index's box query, the
clustering in numpy, the labels of lone stores from their cache, the MVT encoder), with the labels
warm as they are after a tile has been seen once; (b) ``o2o.storage.postgis_tiles.store_tile_mvt``
(one query: GiST box, the same squares in SQL, ``ST_AsMVT``), through the app's connection pool.
Both tiles are decoded and checked to hold the same features first. Medians per zoom, the ratio,
tile sizes; and the HTTP cost of a tile (the test client, no network) for reference.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import git_state, machine_note, now_text, write_section  # noqa: E402

SECTION = "bench_tiles"
PLACES = {"Shanghai": (121.4737, 31.2304), "Beijing": (116.4074, 39.9042), "Chengdu": (104.0665, 30.5728)}
ZOOMS = [4, 6, 8, 10, 12, 14, 17]
ADMIN = os.environ.get("O2O_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def tile_of(lon, lat, z):
    from o2o.geo import tiles

    px, py = tiles.pixels([lon], [lat], z)
    return int(px[0] // 256), int(py[0] // 256)


def same(a: bytes, b: bytes) -> bool:
    from o2o.geo import tiles

    def key(f):
        p = f["properties"]
        return (p.get("cluster", False), p.get("id", 0), p.get("point_count", 0), f["x"] // 8, f["y"] // 8)

    fa, fb = sorted(tiles.decode(a), key=key), sorted(tiles.decode(b), key=key)
    return len(fa) == len(fb) and all(x["properties"] == y["properties"] and abs(x["x"] - y["x"]) <= 1
                                      and abs(x["y"] - y["y"]) <= 1 for x, y in zip(fa, fb))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--stores", type=int, default=30_000)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--write-docs", action="store_true")
    args = ap.parse_args()

    import psycopg

    from o2o.geo.index import Filters
    from o2o.services.tiles import store_tile
    from o2o.storage.postgis import close_pools
    from o2o.storage.postgis_tiles import store_tile_mvt
    from o2o.web import create_app
    from o2o.web.tiles import labels

    name = f"o2o_bench_tiles_{os.getpid()}"
    base = ADMIN.rpartition("/")[0]
    url = f"{base}/{name}"
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        t0 = time.perf_counter()
        app = create_app({"DATABASE_URL": url, "SEED_STORES": args.stores, "SEED_SCANS": 0, "SEED_PRODUCTS": "false",
                          "SECRET_KEY": "bench", "TESTING": True, "TILES": "none"})
        print(f"seeded {args.stores:,} stores on PostGIS in {time.perf_counter() - t0:.0f} s", flush=True)
        state = app.extensions["o2o"]
        with app.app_context():
            repo = state.repo()
            index = state.index_sync.refresh(repo)
            brand = max(repo.brand_counts(), key=lambda b: b[1])[0]
            cases = []
            for z in ZOOMS:
                for place, (lon, lat) in PLACES.items():
                    cases.append((z, *tile_of(lon, lat, z), None))
                cases.append((z, *tile_of(*PLACES["Shanghai"], z), brand))
            rows = {}
            for z, x, y, b in cases:
                filters = Filters.of([b] if b else None)
                ours = store_tile(index, labels(app), repo, z, x, y, filters)   # warms the labels
                theirs = store_tile_mvt(repo, z, x, y, brands=[b] if b else None)
                if not same(ours, theirs):
                    raise SystemExit(f"tiles differ at {z}/{x}/{y} brand={b}")
                t_ours, t_theirs = [], []
                for i in range(args.repeats):
                    for which in ((0, 1) if i % 2 == 0 else (1, 0)):
                        t = time.perf_counter()
                        if which == 0:
                            store_tile(index, labels(app), repo, z, x, y, filters)
                            t_ours.append(time.perf_counter() - t)
                        else:
                            store_tile_mvt(repo, z, x, y, brands=[b] if b else None)
                            t_theirs.append(time.perf_counter() - t)
                from o2o.geo import tiles as tile_math
                feats = tile_math.decode(ours)
                row = rows.setdefault((z, bool(b)), {"ours": [], "theirs": [], "bytes": [], "features": [], "stores": []})
                row["ours"].append(statistics.median(t_ours))
                row["theirs"].append(statistics.median(t_theirs))
                row["bytes"].append(len(ours))
                row["features"].append(len(feats))
                row["stores"].append(sum(f["properties"].get("point_count", 1) for f in feats))
            client = app.test_client()
            z, (x, y) = 10, tile_of(*PLACES["Shanghai"], 10)
            path = f"/tiles/stores/{z}/{x}/{y}.mvt"
            client.get(path)
            http = []
            for _ in range(args.repeats):
                t = time.perf_counter()
                client.get(path, headers={"Accept-Encoding": "identity"})
                http.append(time.perf_counter() - t)
            etag = client.get(path).headers["ETag"]
            not_modified = []
            for _ in range(args.repeats):
                t = time.perf_counter()
                client.get(path, headers={"If-None-Match": etag})
                not_modified.append(time.perf_counter() - t)
            gz = client.get(path, headers={"Accept-Encoding": "gzip"})
            plain = client.get(path, headers={"Accept-Encoding": "identity"})
        close_pools(url)
    finally:
        close_pools(url)
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    ms = lambda v: f"{v * 1000:.2f} ms"  # noqa: E731
    lines = ["| zoom | stores | tiles | features per tile | bytes per tile | index + mapbox-vector-tile | PostGIS ST_AsMVT | ST_AsMVT / index |",
             "|---:|---|---:|---:|---:|---:|---:|---:|"]
    all_ours, all_theirs = [], []
    for (z, branded), row in sorted(rows.items()):
        o, t = statistics.median(row["ours"]), statistics.median(row["theirs"])
        all_ours += row["ours"]
        all_theirs += row["theirs"]
        lines.append(f"| {z} | {'one brand' if branded else 'all'} | {len(row['ours'])} | "
                     f"{statistics.median(row['features']):.0f} | {statistics.median(row['bytes']):,.0f} | "
                     f"{ms(o)} | {ms(t)} | {t / o:.2f}× |")
    o, t = statistics.median(all_ours), statistics.median(all_theirs)
    lines.append(f"| all | | {len(all_ours)} | | | {ms(o)} | {ms(t)} | {t / o:.2f}× |")
    table = "\n".join(lines)
    extra = (f"Over HTTP in process (Flask's test client, zoom 10 over Shanghai, {len(plain.data):,} bytes, "
             f"{len(gz.data):,} gzipped): {ms(statistics.median(http))} a tile, "
             f"{ms(statistics.median(not_modified))} a 304.")
    print(table + "\n\n" + extra)
    if args.write_docs:
        write_section(SECTION, "\n".join([
            "## Vector tiles: from the index, or PostGIS ST_AsMVT",
            "",
            f"Measured {now_text()} on {machine_note()}; {git_state()}. `bench/bench_tiles.py` (rerun: "
            f"`.venv/bin/python bench/bench_tiles.py --write-docs`): {args.stores:,} demo stores in a fresh "
            "PostGIS database; for each zoom, the tiles over Shanghai, Beijing and Chengdu, and Shanghai's "
            f"for the biggest brand alone; each tile made {args.repeats} times each way, alternating; "
            "the median per tile, then the median of the tiles. Both ways' tiles were decoded and hold "
            "the same features (the test `tests/integration/test_tiles_postgis.py` checks it too).",
            "",
            table,
            "",
            extra,
            "",
            "The app serves the tiles from its index: "
            + ("no query per tile, and faster than PostgreSQL making them" if t > o else
               "no query per tile (PostgreSQL made them faster here, but one query per tile on the shared "
               "database is the load the read path avoids)")
            + f" ({t / o:.2f}× over all tiles; each `ST_AsMVT` tile is also a round trip to PostgreSQL and "
            "its planning, which weigh more the busier the machine). Below zoom 17 a tile holds at most 16 clusters plus "
            "its lone stores, so the encoder has little to do; the labels of lone stores come from a "
            "per-store cache (a first view of a tile reads the missing ones in one query).",
        ]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
