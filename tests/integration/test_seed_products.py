"""The seeded festival's products and stock (issue 15): realistic catalogues, sizes as skus,
deterministic stock, and opt-in for small seeds."""

from __future__ import annotations

import pytest

from o2o.services.seeding import PRODUCTS_FROM_STORES, products_wanted, seed
from o2o.storage import open_repository


def _seeded(url: str, n: int = 400, random_seed: int = 7):
    repo = open_repository(url)
    repo.migrate()
    result = seed(repo, n, 0, random_seed, products=True)
    return repo, result


def _snapshot(repo) -> tuple:
    products = [(p["id"], p["retailer_id"], p["sku"], p["title"], p["price"], p["online_url"], p["gtin"])
                for p in repo.list_products()]
    stock = [row[1:6] for batch in repo.dump_table("stock") for row in batch]   # without updated_at
    return products, stock


@pytest.mark.both_backends
def test_the_same_seed_gives_the_same_products_and_stock(db_url, tmp_path):
    repo, result = _seeded(db_url)
    other, _ = _seeded(f"sqlite:///{tmp_path / 'again.db'}")
    try:
        assert result["products"] == repo.count_products() > 1000 and result["stock"] == repo.count_stock() > 0
        assert _snapshot(repo) == _snapshot(other)
    finally:
        repo.close()
        other.close()


def test_catalogues_are_realistic_with_sizes_as_skus(tmp_path):
    repo, _ = _seeded(f"sqlite:///{tmp_path / 's.db'}")
    try:
        by_brand: dict[str, list[dict]] = {}
        for p in repo.list_products():
            by_brand.setdefault(p["brand"], []).append(p)
        assert all(6 <= len(items) <= 400 for items in by_brand.values())
        assert len(by_brand["Uniqlo"]) >= 100
        uniqlo = {p["sku"]: p for p in by_brand["Uniqlo"]}
        sized = [sku for sku in uniqlo if sku.endswith("-M")]
        assert sized and all(sku[:-2] + "-L" in uniqlo for sku in sized)
        assert all(p["online_url"].startswith("https://uniqlo.tmall.com/") for p in uniqlo.values())
        assert "M码" in uniqlo[sized[0]]["title"] and uniqlo[sized[0]]["title"].startswith("优衣库")
        gtin = uniqlo[sized[0]]["gtin"]
        assert len(gtin) == 13 and gtin.startswith("69")
        assert sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(gtin)) % 10 == 0  # EAN check digit
        fridges = [p for p in by_brand["Haier"] if "冰箱" in p["title"]]
        assert fridges and "码" not in fridges[0]["title"]
        words = {line["availability"] for p in list(uniqlo.values())[:50] for line in repo.stock_of_product(p["id"])}
        assert words == {"in_stock", "limited", "out_of_stock"}
    finally:
        repo.close()


def test_small_seeds_leave_products_out_unless_asked():
    assert products_wanted(None, PRODUCTS_FROM_STORES) and not products_wanted("auto", 2000)
    assert products_wanted("true", 10) and not products_wanted(False, 30_000)
    with pytest.raises(ValueError):
        products_wanted("sometimes", 10)


def test_the_seed_command_seeds_products_when_asked(runner, db_url):
    result = runner.invoke(args=["seed", "--stores", "300", "--scans", "0", "--products"])
    assert result.exit_code == 0, result.output
    assert "products" in result.output and "stock lines" in result.output
    repo = open_repository(db_url)
    try:
        assert repo.count_products() > 1000 and repo.count_stock() > 0
    finally:
        repo.close()


def test_products_and_inventory_export_as_csv_the_import_reads_back(runner, db_url, tmp_path):
    import csv

    assert runner.invoke(args=["seed", "--stores", "200", "--scans", "0", "--products"]).exit_code == 0
    out = tmp_path / "products.csv"
    result = runner.invoke(args=["export", "--format", "csv", "--what", "products", "--output", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    repo = open_repository(db_url)
    try:
        assert len(rows) == repo.count_products() and {"sku", "title", "price", "online_url"} <= set(rows[0])
        stock = runner.invoke(args=["export", "--format", "csv", "--what", "inventory"])
        lines = list(csv.DictReader(stock.output.splitlines()))
        assert len(lines) == repo.count_stock()
        assert lines[0]["store"] and lines[0]["sku"] and lines[0]["availability"] in ("in_stock", "limited",
                                                                                        "out_of_stock")
    finally:
        repo.close()
    refused = runner.invoke(args=["export", "--format", "geojson", "--what", "products"])
    assert refused.exit_code != 0 and "csv" in refused.output
