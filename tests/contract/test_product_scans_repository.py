"""Scans of products counted by place and by hour (issue 15's analytics) alike on every backend."""

from __future__ import annotations

import pytest

from o2o.storage.errors import Conflict

pytestmark = pytest.mark.all_backends

T0 = 1_794_326_400  # 2026-11-11T00:00:00+08:00 (16:00 UTC on the 10th)


@pytest.fixture
def scanned(repo):
    """Two Uniqlo stores (Huangpu and Hangzhou), a GAP store, three products, scans at known hours."""
    rid = repo.create_retailer("Fast Retailing", ["uniqlo.tmall.com"])
    gid = repo.create_retailer("Gap Inc.", ["gap.tmall.com"])
    places = {"S1": ("Uniqlo", rid, "上海市", "上海市", "黄浦区"), "S2": ("Uniqlo", rid, "浙江省", "杭州市", "西湖区"),
              "G1": ("GAP", gid, "上海市", "上海市", "徐汇区")}
    for code, (brand, owner, province, city, district) in places.items():
        repo.insert_stores([{"retailer_id": owner, "external_id": code, "name": code, "brand": brand,
                             "category": "Apparel", "lon": 121.47, "lat": 31.23, "address": "", "status": "open",
                             "province": province, "city": city, "district": district}])
    stores = {**repo.find_store_ids(rid, ["S1", "S2"]), **repo.find_store_ids(gid, ["G1"])}
    repo.upsert_products(rid, [{"sku": s, "title": s, "brand": "Uniqlo", "category": "Apparel", "price": 99.0}
                               for s in ("DOWN", "TEE")])
    repo.upsert_products(gid, [{"sku": "HOOD", "title": "HOOD", "brand": "GAP", "category": "Apparel",
                                "price": 99.0}])
    products = {**repo.find_product_ids(rid, ["DOWN", "TEE"]), **repo.find_product_ids(gid, ["HOOD"])}

    def scan(store, product, at, who, kind="phone"):
        return repo.record_product_scan(repo.get_store(stores[store]), products[product], at, kind, who, 1800)

    assert scan("S1", "DOWN", T0 + 60, "a") is True
    assert scan("S1", "DOWN", T0 + 120, "a") is False        # the same shopper again: not counted
    assert scan("S1", "DOWN", T0 + 180, "b") is True
    assert scan("S1", "TEE", T0 + 3600 + 5, "c") is True
    assert scan("S2", "DOWN", T0 + 2 * 3600, "d") is True
    assert scan("G1", "HOOD", T0 + 2 * 3600 + 9, "e", "bot") is False   # a bot: recorded, not counted
    assert scan("G1", "HOOD", T0 + 3 * 3600, "f") is True
    repo.record_scan(repo.get_store(stores["S1"]), T0 + 30, "phone", "g", 1800)   # a scan of the store alone
    return {"stores": stores, "products": products}


def test_product_scans_are_counted_per_product_and_district(repo, scanned):
    p = scanned["products"]
    got = sorted(repo.product_scans_by_place())
    assert got == sorted([(p["DOWN"], "上海市", "上海市", "黄浦区", 2), (p["TEE"], "上海市", "上海市", "黄浦区", 1),
                          (p["DOWN"], "浙江省", "杭州市", "西湖区", 1), (p["HOOD"], "上海市", "上海市", "徐汇区", 1)])
    assert [r.scans for r in repo.product_scans_by_place(brands=["GAP"])] == [1]
    assert sorted(r.district for r in repo.product_scans_by_place(products=[p["DOWN"]])) == ["西湖区", "黄浦区"]
    assert sorted(r.product_id for r in repo.product_scans_by_place(retailers=["Fast Retailing"], since=T0 + 3600)) \
        == sorted([p["TEE"], p["DOWN"]])
    assert repo.product_scans_by_place(until=T0) == []


def test_product_scans_are_counted_per_hour(repo, scanned):
    p = scanned["products"]
    assert [tuple(r) for r in repo.product_scans_by_hour()] == [(T0, 2), (T0 + 3600, 1), (T0 + 7200, 1),
                                                                (T0 + 10800, 1)]
    assert [tuple(r) for r in repo.product_scans_by_hour(products=[p["DOWN"]], categories=["Apparel"])] == [
        (T0, 2), (T0 + 7200, 1)]
    assert [tuple(r) for r in repo.product_scans_by_hour(since=T0 + 3600, until=T0 + 7200)] == [(T0 + 3600, 1)]
    assert repo.product_scans_by_hour(brands=["Nobody"]) == []


def test_product_scans_load_in_bulk(repo, scanned):
    p = scanned["products"]
    store = repo.get_store(scanned["stores"]["S2"])
    for i in range(3):
        repo.record_scan(store, T0 + 5 * 3600 + i, "phone", f"bulk{i}", 1800)
    ids = [row[0] for batch in repo.scan_batches() for row in batch][-3:]
    assert repo.insert_product_scans([(i, p["TEE"]) for i in ids]) == 3
    assert (p["TEE"], "浙江省", "杭州市", "西湖区", 3) in repo.product_scans_by_place()
    assert repo.product_scan_counts()[p["TEE"]] == 4
    with pytest.raises(Conflict):
        repo.insert_product_scans([(ids[0], p["DOWN"])])      # one product per scan
