"""Analysts count scans of products by region and by hour (issue 15): GET /api/v1/analytics/products,
checked against the scans made here, on both backends; CSV; errors name the field."""

from __future__ import annotations

import csv
import io

import pytest

from o2o.storage import open_repository

from ..conftest import bearer

pytestmark = pytest.mark.both_backends

T0 = 1_794_326_400  # 2026-11-11T00:00:00+08:00
PLACES = {"SH1": ("上海市", "上海市", "黄浦区"), "SH2": ("上海市", "上海市", "徐汇区"),
          "HZ1": ("浙江省", "杭州市", "西湖区")}
# (store, product, seconds after T0): every one a different shopper, so every one counts
SCANS = [("SH1", "DOWN", 60), ("SH1", "DOWN", 120), ("SH2", "DOWN", 3700), ("SH2", "TEE", 3800),
         ("SH1", "TEE", 3900), ("HZ1", "TEE", 7300), ("HZ1", "TEE", 7400), ("HZ1", "TEE", 7500),
         ("HZ1", "CAP", 7600)]


@pytest.fixture
def scanned(app, keys, db_url):
    repo = open_repository(db_url)
    rid = keys["retailer_id"]
    repo.insert_stores([{"retailer_id": rid, "external_id": code, "name": code, "brand": "TestBrand",
                         "category": "Apparel", "lon": 121.47, "lat": 31.23, "address": "", "status": "open",
                         "province": p, "city": c, "district": d} for code, (p, c, d) in PLACES.items()])
    stores = repo.find_store_ids(rid, list(PLACES))
    repo.upsert_products(rid, [{"sku": sku, "title": title, "brand": "TestBrand", "category": "Apparel",
                                "price": 99.0} for sku, title in (("DOWN", "轻型羽绒服"), ("TEE", "纯棉T恤"),
                                                                  ("CAP", "棒球帽"))])
    products = repo.find_product_ids(rid, ["DOWN", "TEE", "CAP"])
    for i, (store, product, after) in enumerate(SCANS):
        assert repo.record_product_scan(repo.get_store(stores[store]), products[product], T0 + after, "phone",
                                        f"shopper{i}", 1800) is True
    repo.record_product_scan(repo.get_store(stores["SH1"]), products["CAP"], T0 + 99, "bot", "bot", 1800)
    repo.record_scan(repo.get_store(stores["SH1"]), T0 + 30, "phone", "store-only", 1800)
    repo.close()
    return {"stores": stores, "products": products}


def _get(client, keys, query):
    response = client.get("/api/v1/analytics/products?" + query, headers=bearer(keys["analyst"]))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _rows(body, *fields):
    return [tuple(r[f] for f in fields) for r in body["rows"]]


def test_most_scanned_products_per_province_busiest_first(client, keys, scanned):
    body = _get(client, keys, "by=province")
    assert body["by"] == "province" and body["total"] == len(SCANS)
    assert _rows(body, "province", "sku", "title", "scans", "rank", "region_scans") == [
        ("上海市", "DOWN", "轻型羽绒服", 3, 1, 5), ("上海市", "TEE", "纯棉T恤", 2, 2, 5),
        ("浙江省", "TEE", "纯棉T恤", 3, 1, 4), ("浙江省", "CAP", "棒球帽", 1, 2, 4)]
    assert body["rows"][0]["product_id"] == scanned["products"]["DOWN"]


def test_by_city_and_district_and_the_top_products(client, keys, scanned):
    assert _rows(_get(client, keys, "by=city&top=1"), "city", "sku", "scans") == [
        ("上海市", "DOWN", 3), ("杭州市", "TEE", 3)]
    assert _rows(_get(client, keys, "by=district"), "district", "sku", "scans") == [
        ("西湖区", "TEE", 3), ("西湖区", "CAP", 1), ("黄浦区", "DOWN", 2), ("黄浦区", "TEE", 1),
        ("徐汇区", "DOWN", 1), ("徐汇区", "TEE", 1)]
    assert _rows(_get(client, keys, "by=product"), "sku", "scans", "rank") == [
        ("TEE", 5, 1), ("DOWN", 3, 2), ("CAP", 1, 3)]


def test_filters_window_and_products(client, keys, scanned):
    p = scanned["products"]
    assert _rows(_get(client, keys, f"by=product&product={p['CAP']}&product={p['DOWN']}"), "sku", "scans") == [
        ("DOWN", 3), ("CAP", 1)]
    since = "2026-11-11T01:00:00%2B08:00"
    assert _rows(_get(client, keys, f"by=province&since={since}&until=2026-11-11T02:00:00%2B08:00"),
                 "province", "sku", "scans") == [("上海市", "TEE", 2), ("上海市", "DOWN", 1)]
    assert _get(client, keys, "by=province&brand=Nobody") == {"by": "province", "top": 10, "rows": [], "total": 0}
    assert _get(client, keys, "by=province&retailer=Test%20Co")["total"] == len(SCANS)


def test_product_scans_per_hour_in_beijing_time(client, keys, scanned):
    body = _get(client, keys, "by=hour")
    got = {r["hour"]: r["scans"] for r in body["rows"]}
    assert got["2026-11-11T00:00:00+08:00"] == 2 and got["2026-11-11T01:00:00+08:00"] == 3
    assert got["2026-11-11T02:00:00+08:00"] == 4 and body["total"] == len(SCANS) == sum(got.values())
    assert body["rows"][0]["hour_utc"] == "2026-11-10T16:00:00Z"
    tee = _get(client, keys, f"by=hour&product={scanned['products']['TEE']}")
    assert tee["total"] == 5


def test_csv_exports(client, keys, scanned):
    response = client.get("/api/v1/analytics/products?by=city&format=csv", headers=bearer(keys["analyst"]))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert list(rows[0]) == ["province", "city", "product_id", "sku", "title", "brand", "scans", "rank", "region_scans"]
    assert (rows[0]["city"], rows[0]["sku"], rows[0]["scans"]) == ("上海市", "DOWN", "3")
    hourly = client.get("/api/v1/analytics/products?by=hour&format=csv", headers=bearer(keys["analyst"]))
    assert hourly.get_data(as_text=True).lstrip("\ufeff").startswith("hour,hour_utc,scans\n")


def test_bad_parameters_name_the_field_and_keys_are_checked(client, keys, scanned):
    for query, field in (("by=street", "by"), ("product=abc", "product"), ("product=0", "product"),
                         ("top=0", "top"), ("top=101", "top"), ("since=yesterday", "since"), ("format=xml", "format"),
                         ("since=2026-11-12&until=2026-11-11", "until")):
        response = client.get("/api/v1/analytics/products?" + query, headers=bearer(keys["analyst"]))
        assert response.status_code == 400 and response.get_json()["error"]["field"] == field, query
    assert client.get("/api/v1/analytics/products").status_code == 401
    assert client.get("/api/v1/analytics/products", headers=bearer(keys["retailer"])).status_code == 403


def test_no_product_scans_is_an_empty_answer(client, keys):
    assert _get(client, keys, "by=district") == {"by": "district", "top": 10, "rows": [], "total": 0}
    assert _get(client, keys, "by=hour")["total"] == 0


def test_the_seed_marks_some_scans_as_scans_of_products_in_stock(client, keys, db_url):
    from o2o.services.seeding import seed_product_scans

    repo = open_repository(db_url)
    rid = keys["retailer_id"]
    repo.insert_stores([{"retailer_id": rid, "external_id": "S1", "name": "S1", "brand": "TestBrand",
                         "category": "Apparel", "lon": 121.47, "lat": 31.23, "address": "", "status": "open",
                         "province": "上海市", "city": "上海市", "district": "黄浦区"}])
    store = repo.get_store(repo.find_store_ids(rid, ["S1"])["S1"])
    repo.upsert_products(rid, [{"sku": s, "title": s, "brand": "TestBrand", "category": "Apparel", "price": 9.0}
                               for s in ("A", "B")])
    a, b = (repo.find_product_ids(rid, ["A", "B"])[s] for s in ("A", "B"))
    for i in range(300):
        repo.record_scan(store, T0 + i * 60, "phone", f"s{i}", 1800)
    lines = [(store["id"], a, "in_stock", 3, None, None), (store["id"], b, "out_of_stock", 0, None, None)]
    n = seed_product_scans(repo, lines, 7)
    repo.close()
    assert 50 < n < 200
    body = _get(client, keys, "by=product")
    assert _rows(body, "sku", "scans") == [("A", n)]
