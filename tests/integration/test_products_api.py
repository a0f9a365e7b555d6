"""Shoppers' product API (issue 15): search in Chinese, pinyin, initials and English; one product; the
nearest open stores that have it, exact and fresh as stock changes; ETags."""

from __future__ import annotations

import pytest

from o2o.geo.distance import haversine_m
from o2o.storage import open_repository

pytestmark = pytest.mark.both_backends

HERE = (121.4750, 31.2300)  # People's Square, Shanghai


@pytest.fixture
def catalogue(app, db_url):
    """Uniqlo's products and stock in the hand-made stores (tests/conftest.py STORES)."""
    repo = open_repository(db_url)
    rid = next(r["id"] for r in repo.list_retailers() if r["name"] == "Fast Retailing")
    repo.upsert_products(rid, [
        {"sku": "D100-M", "title": "轻型羽绒服 M码", "brand": "Uniqlo", "category": "Apparel", "price": 499.0,
         "online_url": "https://uniqlo.tmall.com/item/d100m"},
        {"sku": "T200", "title": "纯棉T恤", "brand": "Uniqlo", "category": "Apparel", "price": 79.0,
         "online_url": "https://uniqlo.tmall.com/item/t200"},
        {"sku": "AIR", "title": "AIRism 凉感内衣", "brand": "Uniqlo", "category": "Apparel", "price": 99.0},
    ])
    gid = next(r["id"] for r in repo.list_retailers() if r["name"] == "Gap Inc.")
    repo.upsert_products(gid, [{"sku": "G1", "title": "连帽羽绒服", "brand": "GAP", "category": "Apparel",
                                "price": 699.0}])
    stores = repo.find_store_ids(rid, ["T001", "T002", "T007", "T008"])
    products = repo.find_product_ids(rid, ["D100-M", "T200", "AIR"])
    down = products["D100-M"]
    repo.set_stock([
        {"store_id": stores["T001"], "product_id": down, "availability": "in_stock", "quantity": 9, "price": 459.0},
        {"store_id": stores["T002"], "product_id": down, "availability": "limited", "quantity": 1},
        {"store_id": stores["T007"], "product_id": down, "availability": "in_stock"},
        {"store_id": stores["T008"], "product_id": down, "availability": "in_stock"},   # a closed store
        {"store_id": stores["T001"], "product_id": products["T200"], "availability": "out_of_stock"},
    ])
    yield {"repo": repo, "stores": stores, "products": products, "down": down}
    repo.close()


def _skus(client, query):
    response = client.get("/api/v1/products?" + query)
    assert response.status_code == 200, response.get_json()
    return [p["sku"] for p in response.get_json()["products"]]


def test_search_finds_products_by_characters_pinyin_initials_and_english(client, catalogue):
    assert _skus(client, "q=羽绒服") == ["G1", "D100-M"]   # both titles hold it: the shorter first
    assert _skus(client, "q=yurongfu") == ["G1", "D100-M"]
    assert _skus(client, "q=yrf&brand=Uniqlo") == ["D100-M"]
    assert _skus(client, "q=优衣库羽绒服") == ["D100-M"]
    assert _skus(client, "q=youyiku%20T恤") == ["T200"]
    assert _skus(client, "q=airism") == ["AIR"]
    assert _skus(client, "q=羽絨服&retailer=Gap%20Inc.") == ["G1"]   # traditional characters fold
    assert _skus(client, "q=冰箱") == []
    assert set(_skus(client, "brand=优衣库")) == {"D100-M", "T200", "AIR"}


def test_one_product_and_unknown_ones(client, catalogue):
    body = client.get(f"/api/v1/products/{catalogue['down']}").get_json()
    assert (body["sku"], body["title"], body["price"], body["retailer"]) == (
        "D100-M", "轻型羽绒服 M码", 499.0, "Fast Retailing")
    assert client.get("/api/v1/products/999999").status_code == 404
    assert client.get("/api/v1/products/abc").get_json()["error"]["field"] == "id"


def test_nearby_is_the_open_stores_with_it_nearest_first_exactly(client, catalogue):
    response = client.get(f"/api/v1/products/{catalogue['down']}/nearby?lat={HERE[1]}&lon={HERE[0]}")
    assert response.status_code == 200 and response.mimetype == "application/geo+json"
    features = response.get_json()["features"]
    stores = catalogue["stores"]
    assert [f["id"] for f in features] == [stores["T001"], stores["T002"], stores["T007"]]
    first = features[0]["properties"]
    assert (first["availability"], first["quantity"], first["price"]) == ("in_stock", 9, 459.0)
    assert first["stock_updated_at"].endswith("Z")
    assert first["go_url"].endswith(f"/go/{stores['T001']}?product={catalogue['down']}")
    assert features[1]["properties"]["price"] == 499.0   # no store price: the product's
    for f in features:
        lon, lat = f["geometry"]["coordinates"]
        assert f["properties"]["distance_m"] == pytest.approx(float(haversine_m(HERE[0], HERE[1], lon, lat)), abs=0.1)
    near = client.get(f"/api/v1/products/{catalogue['down']}/nearby?lat={HERE[1]}&lon={HERE[0]}&radius_km=5&k=1")
    assert [f["id"] for f in near.get_json()["features"]] == [stores["T001"]]


def test_a_store_that_sells_out_drops_out_at_once(client, catalogue):
    url = f"/api/v1/products/{catalogue['down']}/nearby?lat={HERE[1]}&lon={HERE[0]}&k=1"
    assert client.get(url).get_json()["features"][0]["id"] == catalogue["stores"]["T001"]
    catalogue["repo"].set_stock([{"store_id": catalogue["stores"]["T001"], "product_id": catalogue["down"],
                                  "availability": "out_of_stock", "quantity": 0}])
    assert client.get(url).get_json()["features"][0]["id"] == catalogue["stores"]["T002"]
    catalogue["repo"].update_store(catalogue["stores"]["T002"], {"status": "closed"})
    assert client.get(url).get_json()["features"][0]["id"] == catalogue["stores"]["T007"]


def test_product_answers_carry_an_etag_that_follows_the_stock(client, catalogue):
    url = f"/api/v1/products/{catalogue['down']}/nearby?lat={HERE[1]}&lon={HERE[0]}"
    first = client.get(url)
    tag = first.headers["ETag"]
    assert client.get(url, headers={"If-None-Match": tag}).status_code == 304
    catalogue["repo"].set_stock([{"store_id": catalogue["stores"]["T002"], "product_id": catalogue["down"],
                                  "availability": "out_of_stock"}])
    again = client.get(url, headers={"If-None-Match": tag})
    assert again.status_code == 200 and again.headers["ETag"] != tag
    assert client.get("/api/v1/products?q=yrf").headers.get("ETag")


@pytest.mark.parametrize("query, field", [("lat=abc&lon=121", "lat"), ("lat=31&lon=121&k=0", "k"),
                                          ("lat=31", "lon"), ("lat=31&lon=121&radius_km=-1", "radius_km")])
def test_bad_nearby_parameters_are_a_400_naming_the_field(client, catalogue, query, field):
    response = client.get(f"/api/v1/products/{catalogue['down']}/nearby?{query}")
    assert response.status_code == 400
    assert field in {e.get("field") for e in response.get_json()["error"].get("errors", [])} | {
        response.get_json()["error"].get("field")}


def test_bad_search_parameters_are_a_400_naming_the_field(client, catalogue):
    response = client.get("/api/v1/products?limit=1000")
    assert response.status_code == 400
    body = response.get_json()["error"]
    assert "limit" in {e.get("field") for e in body.get("errors", [])} | {body.get("field")}


def test_nearby_in_gcj02_finds_the_same_stores(client, catalogue):
    from o2o.geo.crs import wgs84_to_gcj02

    lon, lat = wgs84_to_gcj02(*HERE)
    plain = client.get(f"/api/v1/products/{catalogue['down']}/nearby?lat={HERE[1]}&lon={HERE[0]}").get_json()
    mars = client.get(f"/api/v1/products/{catalogue['down']}/nearby?lat={lat}&lon={lon}&crs=gcj02").get_json()
    assert [f["id"] for f in mars["features"]] == [f["id"] for f in plain["features"]]
    assert mars["crs_name"] == "gcj02" and mars["features"][0]["properties"]["availability"] == "in_stock"
