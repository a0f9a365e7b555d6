"""Products in stores (issue 15) at the seeded size: the nearest stores with a product against a plain
``nearby``, measured alternately in the same run, in process (Flask test client, SQLite).

- baseline: ``GET /api/v1/stores/nearby?k=20`` (the store index's exact k-nearest);
- ``GET /api/v1/products/{id}/nearby?k=20``, stock cached (the steady state: stock unchanged
  since the last question about that product; one read of the catalogue counter per request);
- the same with the cache emptied before every request: the SQL join (stock ⋈ stores, open, in
  stock or limited) and the exact distances each time, the anchor the cache has to beat;
- ``GET /api/v1/products?q=…`` (pinyin) against ``GET /api/v1/stores/nearby?q=…``.

Also the seed: stores alone, then products and stock added (``seed_products``), and the database
file's growth per stock line.

Run: ``.venv/bin/python bench/bench_products.py [--rounds 5] [--write]``; ``--write`` puts the
tables in docs/benchmarks.md between the ``products`` markers.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import section_heading, warm_and_time, write_section  # noqa: E402
from o2o.services.seeding import seed, seed_products  # noqa: E402
from o2o.storage import open_repository  # noqa: E402
from o2o.web import create_app  # noqa: E402
from o2o.web.products import catalogue_cache  # noqa: E402


def _file_bytes(path: Path) -> int:
    with sqlite3.connect(path) as con:
        return con.execute("PRAGMA page_count").fetchone()[0] * con.execute("PRAGMA page_size").fetchone()[0]


def _import_stock(repo, n_rows: int) -> tuple[int, float]:
    """Time ``POST /api/v1/inventory/import``'s work (read the CSV, check every row, write) for a
    file of ``n_rows`` lines of one retailer (the brand with the most stores), all updates."""
    import io
    import itertools

    from o2o.services import catalogue as catalogue_service
    from o2o.services.accounts import Principal

    retailer = max(repo.list_retailers(), key=lambda r: len(repo.stores_of_retailer(r["id"])))
    stores = [s["external_id"] for s in repo.stores_of_retailer(retailer["id"]) if s["status"] == "open"]
    skus = [p["sku"] for p in repo.list_products(retailer["id"])]
    out = io.StringIO()
    out.write("门店编码,商品编码,库存状态,数量,价格\n")
    words = itertools.cycle(("有货", "少量", "缺货", "in_stock"))
    n = 0
    for code, sku in itertools.product(stores, skus):
        if n == n_rows:
            break
        out.write(f"{code},{sku},{next(words)},{n % 37},\n")
        n += 1
    data = out.getvalue().encode("utf-8")
    principal = Principal("retailer", retailer["id"], retailer["name"], tuple(retailer["domains"]))
    t0 = time.perf_counter()
    rows = catalogue_service.read_rows(data, "stock.csv", "text/csv", catalogue_service.STOCK_HEADERS, "stock")[0]
    report = catalogue_service.import_stock(repo, principal, rows)
    elapsed = time.perf_counter() - t0
    assert not report.rejected and report.inserted + report.updated + report.unchanged == n, report.to_dict()
    return n, elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--stores", type=int, default=30000)
    ap.add_argument("--import-rows", type=int, default=200_000, help="stock lines in the timed import file")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="o2o-products-"))
    db = tmp / "o2o.db"
    repo = open_repository(f"sqlite:///{db}")
    repo.migrate()
    t0 = time.perf_counter()
    seed(repo, args.stores, 0, 7, products=False)
    stores_s = time.perf_counter() - t0
    bytes_before = _file_bytes(db)
    t0 = time.perf_counter()
    n_products, n_stock = seed_products(repo, {r["name"]: r["id"] for r in repo.list_retailers()}, 7)
    products_s = time.perf_counter() - t0
    bytes_after = _file_bytes(db)
    # A widely stocked product (the most stores in stock or limited) and a rare one.
    counts = sorted(((len(repo.stocked_stores(p["id"])), p["id"]) for p in repo.list_products()[::25]), reverse=True)
    wide_n, wide = counts[0]
    rare_n, rare = next(c for c in reversed(counts) if c[0] >= 20)
    import_rows, import_s = _import_stock(repo, args.import_rows)
    repo.close()

    app = create_app({"DATABASE_URL": f"sqlite:///{db}", "SEED_STORES": 0, "SECRET_KEY": "bench", "TESTING": True,
                      "TILES": "none"})
    client = app.test_client()
    rng = random.Random(3)
    points = [(rng.uniform(22.5, 40.0), rng.uniform(108.0, 121.5)) for _ in range(500)]

    def uncached(path):
        def run(i):
            with app.app_context():
                catalogue_cache()._stocked.clear()
            return path(i)
        return run

    paths = {
        "stores nearby, k = 20 (baseline)": lambda i: "/api/v1/stores/nearby?lat=%.5f&lon=%.5f&k=20" % points[i % 500],
        f"product nearby, k = 20, product in {wide_n:,} stores": (
            lambda i: f"/api/v1/products/{wide}/nearby?lat=%.5f&lon=%.5f&k=20" % points[i % 500]),
        f"the same, uncached (SQL join + exact distances)": uncached(
            lambda i: f"/api/v1/products/{wide}/nearby?lat=%.5f&lon=%.5f&k=20" % points[i % 500]),
        f"product nearby, k = 20, product in {rare_n:,} stores": (
            lambda i: f"/api/v1/products/{rare}/nearby?lat=%.5f&lon=%.5f&k=20" % points[i % 500]),
        "stores nearby, q = yurongfu": lambda i: "/api/v1/stores/nearby?lat=%.5f&lon=%.5f&k=20&q=yurongfu" % points[i % 500],
        "product search, q = yurongfu": lambda i: "/api/v1/products?q=yurongfu",
        "product search, q = 优衣库羽绒服": lambda i: "/api/v1/products?q=优衣库羽绒服",
    }
    for label, path in paths.items():
        assert client.get(path(0)).status_code == 200, label
    results: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        for label, path in paths.items():        # alternated: each sees the same machine load
            results.setdefault(label, []).append(warm_and_time(client, path, args.calls))
    base = statistics.median(results[next(iter(paths))])
    rows = [f"| {label} | {statistics.median(v):,.0f} µs | {statistics.median(v) / base:.2f}× |"
            for label, v in results.items()]
    table = "\n".join(["| request (in process, SQLite) | median | vs stores nearby |", "|---|---:|---:|", *rows])
    seed_table = "\n".join([
        "| seed of {:,} stores | time | database file |".format(args.stores), "|---|---:|---:|",
        f"| stores alone | {stores_s:.1f} s | {bytes_before / 1e6:,.0f} MB |",
        f"| + {n_products:,} products and {n_stock:,} stock lines | +{products_s:.1f} s | +{(bytes_after - bytes_before) / 1e6:,.0f} MB "
        f"({(bytes_after - bytes_before) / max(n_stock, 1):.0f} bytes a line) |",
        f"| import of {import_rows:,} stock lines (CSV read, every row checked, written; one transaction) | "
        f"{import_s:.1f} s | |"])
    print(table)
    print()
    print(seed_table)
    if args.write:
        text = (section_heading("Products in stores (issue 15)")
                + f"`bench/bench_products.py --rounds {args.rounds}`: {args.stores:,} seeded stores with the seeded "
                f"catalogue and stock, medians of {args.rounds} alternated rounds of {args.calls} requests from "
                "random points in eastern China. The baseline is the plain nearby search, measured in the same run.\n\n"
                + table + "\n\n" + seed_table + "\n\n"
                "The product's nearby search is exact: the great-circle distance to every open store holding the "
                "product (in stock or limited), then the k smallest; the stores holding it are read with one join "
                "and kept in memory per product (compact columns, `o2o/services/stocked.py`) until that product's "
                "stock mark or the store revision moves (one read of `meta` per request, so a sell-out is seen by "
                "the next request on every worker, and a write of one product's stock leaves the others cached). "
                "An import file holds at most 200,000 rows (the store import's limit), so 1 M lines are five files. "
                "The issue's 30,000 × 1,000 (30 M lines) scale, PostGIS, memory per line and how a stock update "
                "reaches other workers: the next section (`bench/bench_products_scale.py`).")
        write_section("products", text)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
