"""After a bulk write the planner knows the data: seeding and big imports refresh its statistics.

Measured on PostGIS at 3,000,000 stock lines (docs/benchmarks.md): with the statistics of a
freshly seeded database (86 open stores estimated for 29,846), a product's stores were read by a
nested loop over every store, 53 ms; after ANALYZE, a hash join, 10 ms.
"""

from __future__ import annotations

import io

import pytest

from o2o.services import catalogue, importer, seeding
from o2o.services.accounts import Principal
from o2o.storage import open_repository

pytestmark = pytest.mark.both_backends


def _estimated_open_stores(repo, db_url) -> float:
    if db_url.startswith("postgresql"):
        plan = repo._query("EXPLAIN (FORMAT JSON) SELECT id FROM stores WHERE status = 'open'", one=True)[0]
        plan = plan if isinstance(plan, list) else __import__("json").loads(plan)
        return plan[0]["Plan"]["Plan Rows"]
    rows = repo._query("SELECT stat FROM sqlite_stat1 WHERE tbl = 'stores' AND idx IS NOT NULL")
    return float(len(rows))  # SQLite: how many of the stores' indexes have statistics


def test_seeding_leaves_the_planner_statistics_of_what_it_wrote(db_url):
    repo = open_repository(db_url)
    try:
        repo.migrate()
        seeding.seed(repo, 2000, 0, products=True)
        if db_url.startswith("postgresql"):
            assert _estimated_open_stores(repo, db_url) > 1000  # not the empty table's guess
            analysed = {r[0] for r in repo._query(
                "SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL")}
            assert {"stores", "products", "stock"} <= analysed
        else:
            assert _estimated_open_stores(repo, db_url) > 0
            analysed = {r[0] for r in repo._query("SELECT DISTINCT tbl FROM sqlite_stat1")}
            assert {"stores", "products", "stock"} <= analysed
    finally:
        repo.close()


@pytest.fixture
def seeded(db_url):
    """A repository of 400 seeded stores with their products (statistics refreshed by the seed)."""
    repo = open_repository(db_url)
    repo.migrate()
    seeding.seed(repo, 400, 0, products=True)
    yield repo
    repo.close()


def _largest_retailer(repo):
    """The retailer with the most stores: its principal, its open stores' codes, its SKUs."""
    retailer = max(repo.list_retailers(), key=lambda r: len(repo.stores_of_retailer(r["id"])))
    principal = Principal("retailer", retailer["id"], retailer["name"], tuple(retailer["domains"]))
    codes = [s["external_id"] for s in repo.stores_of_retailer(retailer["id"]) if s["status"] == "open"]
    skus = [p["sku"] for p in repo.list_products(retailer["id"])]
    return principal, codes, skus


def _import_stock(repo, principal, header: str, lines):
    """A stock CSV of ``header`` and ``lines``, read and imported as the upload would be."""
    out = io.StringIO()
    out.write(header + "\n")
    for line in lines:
        out.write(line + "\n")
    rows = catalogue.read_rows(out.getvalue().encode(), "stock.csv", "text/csv", catalogue.STOCK_HEADERS, "stock")[0]
    return catalogue.import_stock(repo, principal, rows)


def test_a_big_stock_import_refreshes_the_statistics_a_small_one_does_not(seeded, monkeypatch):
    repo = seeded
    calls = []
    real = repo.analyze
    monkeypatch.setattr(repo, "analyze", lambda tables: (calls.append(tuple(tables)), real(tables)))
    principal, codes, skus = _largest_retailer(repo)

    def load(pairs):
        return _import_stock(repo, principal, "门店编码,商品编码,库存状态,数量",
                             (f"{code},{sku},少量,{n % 4 + 1}" for n, (code, sku) in enumerate(pairs)))

    small = load([(codes[0], sku) for sku in skus[:3]])
    assert small.stored and calls == []
    pairs = [(c, s) for c in codes for s in skus][:importer.BULK_ROWS + 10]
    assert len(pairs) > importer.BULK_ROWS
    big = load(pairs)
    assert big.stored and not big.rejected and calls == [("stock",)]


def test_a_failed_analysis_does_not_fail_the_import_that_committed(seeded, monkeypatch):
    """PostgreSQL refuses two ANALYZEs of one table at once ("tuple concurrently updated"): the
    import before it has committed and must be reported stored, its rows all there."""
    repo = seeded
    real = repo._execute

    def refusing(sql, *args, **kwargs):
        if sql.startswith("ANALYZE"):
            raise RuntimeError("tuple concurrently updated")
        return real(sql, *args, **kwargs)
    monkeypatch.setattr(repo, "_execute", refusing)
    principal, codes, skus = _largest_retailer(repo)
    pairs = [(c, s) for c in codes for s in skus][:importer.BULK_ROWS + 10]
    report = _import_stock(repo, principal, "store,sku,availability,quantity",
                           (f"{code},{sku},limited,3" for code, sku in pairs))
    assert report.stored and not report.rejected and report.inserted + report.updated + report.unchanged == len(pairs)
    product_ids = repo.find_product_ids(principal.id, skus)
    store_ids = repo.find_store_ids(principal.id, codes)
    stored = {(line["store_id"], line["product_id"]): line for sid in set(store_ids.values())
              for line in repo.stock_of_store(sid)}
    assert all(stored[(store_ids[c], product_ids[s])]["quantity"] == 3 for c, s in pairs)
