"""``/products/{id}`` (issue 15): the nearest stores that have the product, with stock, price and the
stock's age (older than a day: possibly out of date), in Chinese and English."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from o2o.storage import open_repository


def _iso(hours_ago: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(hours=hours_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def product(app, db_url):
    repo = open_repository(db_url)
    rid = next(r["id"] for r in repo.list_retailers() if r["name"] == "Fast Retailing")
    repo.upsert_products(rid, [{"sku": "D1", "title": "轻型羽绒服 M码", "brand": "Uniqlo", "price": 499.0,
                                "online_url": "https://uniqlo.tmall.com/item/d1"}])
    pid = repo.find_product_ids(rid, ["D1"])["D1"]
    stores = repo.find_store_ids(rid, ["T001", "T002", "T007"])
    repo.set_stock([
        {"store_id": stores["T001"], "product_id": pid, "availability": "in_stock", "quantity": 7,
         "updated_at": _iso(3)},
        {"store_id": stores["T002"], "product_id": pid, "availability": "limited", "quantity": 1, "price": 459.0,
         "updated_at": _iso(30)},
        {"store_id": stores["T007"], "product_id": pid, "availability": "out_of_stock", "updated_at": _iso(1)},
    ])
    repo.close()
    return pid


def test_the_page_lists_the_nearest_stores_with_stock_in_chinese(client, product):
    page = client.get(f"/products/{product}?lat=31.2330&lon=121.4760").get_data(as_text=True)
    assert "轻型羽绒服 M码" in page and "优衣库(来福士店)" in page and "优衣库(南京东路店)" in page
    assert "优衣库(西单店)" not in page          # out of stock there
    assert "有货" in page and "剩 7 件" in page and "少量库存" in page and "售价 ¥459" in page
    assert "3小时前更新" in page and "可能已过时" in page   # the 30-hour-old line
    assert page.index("来福士店") < page.index("南京东路店")   # nearest first


def test_the_page_in_english_and_unknown_products(client, product):
    page = client.get(f"/products/{product}?lang=en&lat=31.2330&lon=121.4760").get_data(as_text=True)
    assert "In stock" in page and "7 left" in page and "updated 3 hours ago" in page
    assert "possibly out of date" in page and "Buy online" in page
    assert client.get("/products/999999").status_code == 404
    assert client.get("/products/abc").status_code == 404


def test_the_store_page_lists_what_the_store_has(client, product, db_url):
    repo = open_repository(db_url)
    rid = next(r["id"] for r in repo.list_retailers() if r["name"] == "Fast Retailing")
    stores = repo.find_store_ids(rid, ["T001", "T002", "T007"])
    repo.close()
    page = client.get(f"/stores/{stores['T002']}").get_data(as_text=True)
    assert "本店有货" in page and "轻型羽绒服 M码" in page and f"/products/{product}" in page and "少量库存" in page
    assert "售价 ¥459" in page
    english = client.get(f"/stores/{stores['T001']}?lang=en").get_data(as_text=True)
    assert "In this store" in english and "In stock" in english and "¥499" in english
    assert "本店有货" not in client.get(f"/stores/{stores['T007']}").get_data(as_text=True)  # out of stock there
