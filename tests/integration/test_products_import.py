"""Importing a retailer's products and its stores' stock (issue 15): CSV in UTF-8 and GBK with Chinese
or English headers, xlsx, JSON; every bad row reported by row; dry run, atomic, replace."""

from __future__ import annotations

import io
import re
import json

import pytest

from o2o.services.sheets import XLSX_MIME
from o2o.storage import open_repository

from ..conftest import bearer
from .test_import_excel import xlsx_bytes

pytestmark = pytest.mark.both_backends

PRODUCTS_CSV = """商品编码,商品名称,品牌,品类,价格,商品链接,条码,图片
D100-M,轻型羽绒服 M码,TestBrand,羽绒服,¥499.00,https://test.tmall.com/item/d100m,6901234567892,https://img.test.com/d100.jpg
D100-L,轻型羽绒服 L码,TestBrand,羽绒服,499,https://shop.test.com/item/d100l,,
T200,纯棉T恤,TestBrand,T恤,79.9,https://test.tmall.com/item/t200,,
"""


@pytest.fixture
def stores(app, keys, db_url):
    repo = open_repository(db_url)
    repo.insert_stores([{"retailer_id": keys["retailer_id"], "external_id": f"S{i}", "name": f"测试店{i}",
                         "brand": "TestBrand", "category": "Apparel", "lon": 121.47 + i * 0.01, "lat": 31.23,
                         "address": "", "status": "open"} for i in (1, 2)])
    ids = repo.find_store_ids(keys["retailer_id"], ["S1", "S2"])
    repo.close()
    return ids


def _post(client, keys, path, body, query="", key="retailer", content_type="text/csv"):
    return client.post(f"/api/v1/{path}/import{query}", headers=bearer(keys[key]), data=body,
                       content_type=content_type)


def _products(db_url, rid):
    repo = open_repository(db_url)
    try:
        return {p["sku"]: p for p in repo.list_products(rid)}
    finally:
        repo.close()


def _stock(db_url, store_id):
    repo = open_repository(db_url)
    try:
        return {line["product_id"]: line for line in repo.stock_of_store(store_id)}
    finally:
        repo.close()


def test_products_from_a_chinese_csv_are_added_then_updated_by_sku(client, keys, db_url):
    report = _post(client, keys, "products", PRODUCTS_CSV.encode()).get_json()
    assert (report["inserted"], report["updated"], report["rejected"]) == (3, 0, [])
    assert report["columns"]["商品编码"] == "sku" and report["format"] == "csv"
    products = _products(db_url, keys["retailer_id"])
    assert products["D100-M"]["price"] == 499.0 and products["D100-M"]["gtin"] == "6901234567892"
    assert products["D100-L"]["online_url"] == "https://shop.test.com/item/d100l"
    again = _post(client, keys, "products", PRODUCTS_CSV.replace("79.9", "69").encode()).get_json()
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 1, 2)
    assert _products(db_url, keys["retailer_id"])["T200"]["price"] == 69.0


def test_products_in_gbk_with_english_headers_and_as_json_and_xlsx(client, keys, db_url):
    gbk = "sku,title,brand,price,online_url\nG1,保暖内衣,TestBrand,129,https://test.tmall.com/g1\n".encode("gbk")
    report = _post(client, keys, "products", gbk).get_json()
    assert report["inserted"] == 1 and report["encoding"] in ("gbk", "gb18030")
    body = json.dumps({"products": [{"sku": "J1", "title": "围巾", "brand": "TestBrand", "price": 59}]})
    assert _post(client, keys, "products", body, content_type="application/json").get_json()["inserted"] == 1
    xlsx = xlsx_bytes(["商品编码", "商品名称", "品牌", "价格"], [["X1", "手套", "TestBrand", 39]])
    response = client.post("/api/v1/products/import", headers=bearer(keys["retailer"]),
                           data={"file": (io.BytesIO(xlsx), "products.xlsx", XLSX_MIME)},
                           content_type="multipart/form-data")
    assert response.get_json()["inserted"] == 1 and response.get_json()["format"] == "xlsx"
    assert set(_products(db_url, keys["retailer_id"])) == {"G1", "J1", "X1"}


def test_every_bad_product_row_is_reported_by_row(client, keys, db_url):
    body = ("商品编码,商品名称,品牌,价格,商品链接\n"
            "OK1,好商品,TestBrand,10,https://test.tmall.com/ok\n"
            "P2,价格不对,TestBrand,十块,\n"
            "P3,外链,TestBrand,10,https://evil.example.com/x\n"
            ",没有编码,TestBrand,10,\n").encode()
    response = _post(client, keys, "products", body)
    report = response.get_json()
    assert response.status_code == 200 and report["inserted"] == 1
    by_row = {r["row"]: " ".join(r["errors"]) for r in report["rejected"]}
    assert set(by_row) == {2, 3, 4}
    assert "price" in by_row[2] and "not a number" in by_row[2]
    assert "retailer's domains" in by_row[3]
    assert "sku is required" in by_row[4]
    assert report["rejected"][0]["line"] == 3


def test_a_dry_run_and_an_atomic_import_store_nothing(client, keys, db_url):
    dry = _post(client, keys, "products", PRODUCTS_CSV.encode(), "?dry_run=true").get_json()
    assert dry["dry_run"] is True and dry["inserted"] == 3
    bad = PRODUCTS_CSV + "BAD,坏行,TestBrand,羽绒服,abc,,,\n"
    response = _post(client, keys, "products", bad.encode(), "?atomic=true")
    assert response.status_code == 422 and response.get_json()["stored"] is False
    assert _products(db_url, keys["retailer_id"]) == {}


def test_stock_with_chinese_words_unknown_codes_and_replacement(client, keys, db_url, stores):
    _post(client, keys, "products", PRODUCTS_CSV.encode())
    ids = {sku: p["id"] for sku, p in _products(db_url, keys["retailer_id"]).items()}
    body = ("门店编码,商品编码,库存状态,数量,价格\n"
            "S1,D100-M,有货,12,459\n"
            "S1,D100-L,少量,2,\n"
            "S2,D100-M,缺货,0,\n"
            "S2,T200,,30,\n"
            "S9,D100-M,有货,1,\n"
            "S1,NOPE,有货,1,\n"
            "S1,T200,大概有,1,\n"
            "S2,D100-L,无货,-1,\n").encode()
    report = _post(client, keys, "inventory", body).get_json()
    assert report["inserted"] == 4 and report["stored"] is True
    by_row = {r["row"]: " ".join(r["errors"]) for r in report["rejected"]}
    assert "'S9' is not one of the retailer's store codes" in by_row[5]
    assert "'NOPE' is not one of the retailer's products" in by_row[6]
    assert "'大概有' is not a stock word" in by_row[7]
    assert "quantity" in by_row[8]
    s1, s2 = _stock(db_url, stores["S1"]), _stock(db_url, stores["S2"])
    assert (s1[ids["D100-M"]]["availability"], s1[ids["D100-M"]]["quantity"], s1[ids["D100-M"]]["price"]) == (
        "in_stock", 12, 459.0)
    assert s1[ids["D100-L"]]["availability"] == "limited"
    assert s2[ids["D100-M"]]["availability"] == "out_of_stock" and s2[ids["T200"]]["availability"] == "in_stock"
    english = "store,sku,availability\nS1,T200,in_stock\n".encode()
    assert _post(client, keys, "inventory", english, "?replace=true").get_json()["inserted"] == 1
    assert set(_stock(db_url, stores["S1"])) == {ids["T200"]}
    assert len(_stock(db_url, stores["S2"])) == 2  # not in the file: left as it was


def test_another_retailers_codes_are_unknown_and_analysts_may_not_import(client, keys, db_url, stores):
    _post(client, keys, "products", PRODUCTS_CSV.encode())
    report = _post(client, keys, "inventory", b"store,sku,availability\nS1,D100-M,in_stock\n", key="other").get_json()
    assert report["inserted"] == 0 and len(report["rejected"]) == 1
    assert _post(client, keys, "products", PRODUCTS_CSV.encode(), key="analyst").status_code == 403
    assert client.post("/api/v1/products/import", data=PRODUCTS_CSV.encode()).status_code == 401


def test_unreadable_files_are_a_400_naming_the_file(client, keys):
    for body, content_type in ((b"", "text/csv"), (b"{not json", "application/json"),
                               (b'{"products": 3}', "application/json")):
        response = _post(client, keys, "products", body, content_type=content_type)
        assert response.status_code == 400, body
        assert response.get_json()["error"]["field"] == "file"
    assert _post(client, keys, "products", PRODUCTS_CSV.encode(), "?dry_run=perhaps").status_code == 400


def test_rejected_rows_are_explained_in_chinese_when_asked(client, keys, db_url, stores):
    _post(client, keys, "products", PRODUCTS_CSV.encode())
    body = ("门店编码,商品编码,库存状态,数量,价格\nS9,D100-M,有货,1,\nS1,NOPE,大概有,1.5,十块\n").encode()
    report = _post(client, keys, "inventory", body, "?lang=zh").get_json()
    reasons = [e for r in report["rejected"] for e in r["errors"]]
    assert reasons and all(re.search(r"[\u4e00-\u9fff]", e) for e in reasons), reasons
    assert any("门店编码 'S9' 不属于该零售商" in e for e in reasons)
    bad = _post(client, keys, "products", b"sku,title,brand,price\nP1,T,B,abc\n", "?lang=zh").get_json()
    assert "不是数字" in bad["rejected"][0]["errors"][0]
