"""The in-memory stores-with-a-product (o2o.services.stocked): exact against brute force, compact,
and fresh (a sell-out or a closed store drops out at once; other products stay cached)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from o2o.geo.distance import haversine_m
from o2o.services.stocked import StockCache, StockedStores
from o2o.storage.memory import MemoryRepository

N_STORES = 300


@pytest.fixture(scope="module")
def world():
    """300 stores (some sharing a point, so distances tie), two products, stock of every kind."""
    repo = MemoryRepository()
    rid = repo.create_retailer("Fast Retailing", ["uniqlo.tmall.com"])
    rng = random.Random(5)
    points = [(round(rng.uniform(121.2, 121.8), 3), round(rng.uniform(31.0, 31.5), 3)) for _ in range(N_STORES - 20)]
    points += points[:20]                                        # 20 stores at another store's point
    repo.insert_stores([{"retailer_id": rid, "external_id": f"S{i}", "name": f"店{i}", "brand": "Uniqlo",
                         "category": "Apparel", "lon": lon, "lat": lat, "address": "", "status": "open"}
                        for i, (lon, lat) in enumerate(points)])
    stores = repo.find_store_ids(rid, [f"S{i}" for i in range(N_STORES)])
    repo.upsert_products(rid, [{"sku": sku, "title": sku, "brand": "Uniqlo"} for sku in ("A", "B")])
    products = repo.find_product_ids(rid, ["A", "B"])
    lines = []
    for i in range(N_STORES):
        for sku in ("A", "B"):
            word = rng.choice(("in_stock", "in_stock", "limited", "out_of_stock"))
            lines.append({"store_id": stores[f"S{i}"], "product_id": products[sku], "availability": word,
                          "quantity": rng.choice((None, 0, 3, 40)), "price": rng.choice((None, 459.0, 399.9))})
    repo.set_stock(lines)
    return repo, stores, products


def _brute_force(repo, product_id, lon, lat, k, radius_m=None):
    rows = repo.stocked_stores(product_id)
    dist = haversine_m(lon, lat, np.array([r[1] for r in rows]), np.array([r[2] for r in rows]))
    scored = sorted((float(d), r[0]) for d, r in zip(dist, rows))
    return [(sid, d) for d, sid in scored if radius_m is None or d <= radius_m][:k]


def test_nearest_is_the_brute_force_answer_ties_by_id(world):
    repo, _, products = world
    cache = StockCache()
    rng = random.Random(9)
    for _ in range(40):
        lon, lat = rng.uniform(121.1, 121.9), rng.uniform(30.9, 31.6)
        k = rng.choice((1, 5, 20, 200, 500))
        radius = rng.choice((None, 3000.0, 20_000.0))
        for product in products.values():
            got = cache.nearest(repo, product, lon, lat, k, radius)
            assert [(sid, d) for sid, d, _ in got] == _brute_force(repo, product, lon, lat, k, radius)


def test_a_tie_at_the_kth_distance_is_broken_by_the_smaller_id(world):
    repo, _, products = world
    rows = repo.stocked_stores(products["A"])
    by_point = {}
    for r in rows:
        by_point.setdefault((r[1], r[2]), []).append(r[0])
    lon, lat = next(p for p, ids in by_point.items() if len(ids) > 1)
    got = StockCache().nearest(repo, products["A"], lon, lat, k=1)
    assert got[0][0] == min(by_point[(lon, lat)]) and got[0][1] == 0.0


def test_a_line_reads_back_as_the_repository_gives_it_in_a_few_bytes(world):
    repo, _, products = world
    rows = repo.stocked_stores(products["B"])
    stocked = StockedStores.from_rows(rows)
    assert [stocked.row(i) for i in range(len(stocked))] == rows
    assert stocked.nbytes / len(stocked) <= 45
    assert len(StockedStores.from_rows([])) == 0 and StockedStores.from_rows([]).nearest(121.5, 31.2, 5)[0].size == 0


def test_a_sell_out_drops_the_store_at_once_and_other_products_stay_cached():
    repo = MemoryRepository()
    rid = repo.create_retailer("Fast Retailing", ["uniqlo.tmall.com"])
    repo.insert_stores([{"retailer_id": rid, "external_id": f"S{i}", "name": f"店{i}", "brand": "Uniqlo",
                         "category": "Apparel", "lon": 121.47 + i * 0.01, "lat": 31.23, "address": "",
                         "status": "open"} for i in range(3)])
    s = repo.find_store_ids(rid, ["S0", "S1", "S2"])
    repo.upsert_products(rid, [{"sku": sku, "title": sku, "brand": "Uniqlo"} for sku in ("A", "B")])
    p = repo.find_product_ids(rid, ["A", "B"])
    repo.set_stock([{"store_id": s[f"S{i}"], "product_id": p[sku], "availability": "in_stock"}
                    for i in range(3) for sku in ("A", "B")])
    cache = StockCache()

    def nearest_ids(product):
        return [sid for sid, _, _ in cache.nearest(repo, product, 121.47, 31.23, k=3)]

    assert nearest_ids(p["A"]) == [s["S0"], s["S1"], s["S2"]] and nearest_ids(p["B"]) == nearest_ids(p["A"])
    reads = cache.reads
    repo.set_stock([{"store_id": s["S0"], "product_id": p["A"], "availability": "out_of_stock"}])
    assert nearest_ids(p["A"]) == [s["S1"], s["S2"]]            # the sell-out, at once
    assert nearest_ids(p["B"]) == [s["S0"], s["S1"], s["S2"]]
    assert cache.reads == reads + 1                               # B was not read again
    repo.update_store(s["S1"], {"status": "closed"})
    assert nearest_ids(p["A"]) == [s["S2"]] and nearest_ids(p["B"]) == [s["S0"], s["S2"]]
    repo.set_stock([{"store_id": s["S0"], "product_id": p["A"], "availability": "limited", "quantity": 2}])
    assert cache.nearest(repo, p["A"], 121.47, 31.23, k=1)[0][2][3:5] == ("limited", 2)


def test_the_cache_keeps_at_most_its_lines_least_recently_used_out(world):
    repo, _, products = world
    cache = StockCache(max_lines=len(repo.stocked_stores(products["A"])) + 1)
    cache.get(repo, products["A"])
    cache.get(repo, products["B"])
    assert len(cache) == 1 and cache.lines == len(repo.stocked_stores(products["B"]))
    assert np.array_equal(cache.get(repo, products["B"]).ids, [r[0] for r in repo.stocked_stores(products["B"])])
