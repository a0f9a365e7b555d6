"""The products' search index, built in the background from the first request of a process (issue
15): first searches sent at once all get the right answer, and a product import is found by the
next search, on both backends."""

from __future__ import annotations

import threading

import pytest

from o2o.storage import open_repository

from ..conftest import bearer

pytestmark = pytest.mark.both_backends

PRODUCTS_CSV = """商品编码,商品名称,品牌,品类,价格,商品链接
D100-M,轻型羽绒服 M码,TestBrand,Apparel,499,https://test.tmall.com/item/d100m
T200,纯棉T恤,TestBrand,Apparel,79,https://test.tmall.com/item/t200
"""


def _skus(client, query):
    response = client.get("/api/v1/products?" + query)
    assert response.status_code == 200, response.get_json()
    return [p["sku"] for p in response.get_json()["products"]]


def test_first_searches_at_once_get_the_right_answer(app, keys, db_url):
    repo = open_repository(db_url)
    repo.upsert_products(keys["retailer_id"], [
        {"sku": f"P{i:03d}", "title": f"羽绒服 {i}号" if i % 10 == 0 else f"纯棉T恤 {i}号", "brand": "TestBrand",
         "category": "Apparel", "price": 99.0} for i in range(200)])
    repo.close()
    answers, start = [], threading.Barrier(4)

    def search():
        client = app.test_client()
        start.wait(30)
        answers.append(_skus(client, "q=yurongfu&limit=100"))

    threads = [threading.Thread(target=search) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    want = sorted(f"P{i:03d}" for i in range(0, 200, 10))
    assert len(answers) == 4 and all(sorted(a) == want for a in answers)
    from o2o.web.products import catalogue_cache

    assert catalogue_cache(app).wait_ready(60)


def test_a_product_import_is_found_by_the_next_search(app, client, keys):
    assert _skus(client, "q=羽绒服") == []       # the first request: the index is built (empty)
    from o2o.web.products import catalogue_cache

    assert catalogue_cache(app).wait_ready(60)
    response = client.post("/api/v1/products/import", headers=bearer(keys["retailer"]),
                           data=PRODUCTS_CSV.encode(), content_type="text/csv")
    assert response.status_code == 200, response.get_json()
    assert _skus(client, "q=yurongfu") == ["D100-M"]
    assert _skus(client, "q=T恤&retailer=Test%20Co") == ["T200"]
