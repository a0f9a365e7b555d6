"""``/go/{store}?product={id}`` (issue 15): the scan is recorded with the product and the shopper lands on
the product's page with ``o2o_store`` added."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from o2o.storage import open_repository

pytestmark = pytest.mark.both_backends

PHONE = {"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"}


@pytest.fixture
def product(app, db_url):
    repo = open_repository(db_url)
    rid = next(r["id"] for r in repo.list_retailers() if r["name"] == "Fast Retailing")
    gid = next(r["id"] for r in repo.list_retailers() if r["name"] == "Gap Inc.")
    repo.upsert_products(rid, [{"sku": "D1", "title": "羽绒服", "brand": "Uniqlo",
                                "online_url": "https://uniqlo.tmall.com/item.htm?id=42"},
                               {"sku": "NOLINK", "title": "袜子", "brand": "Uniqlo"}])
    repo.upsert_products(gid, [{"sku": "G1", "title": "卫衣", "brand": "GAP"}])
    ids = {**repo.find_product_ids(rid, ["D1", "NOLINK"]), **repo.find_product_ids(gid, ["G1"])}
    store = repo.find_store_ids(rid, ["T001"])["T001"]
    yield {"repo": repo, "store": store, **ids}
    repo.close()


def test_a_product_scan_lands_on_the_product_page_and_is_counted_for_it(client, product):
    response = client.get(f"/go/{product['store']}?product={product['D1']}", headers=PHONE)
    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    assert (target.netloc, target.path) == ("uniqlo.tmall.com", "/item.htm")
    query = parse_qs(target.query)
    assert query["id"] == ["42"] and query["o2o_store"] == [str(product["store"])]
    assert product["repo"].product_scan_counts() == {product["D1"]: 1}
    assert product["repo"].count_scans(counted_only=True) == 1


def test_a_product_without_a_link_lands_on_the_stores_shop(client, product):
    response = client.get(f"/go/{product['store']}?product={product['NOLINK']}", headers=PHONE)
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/"
    assert product["repo"].product_scan_counts() == {product["NOLINK"]: 1}


@pytest.mark.parametrize("which", ["G1", "unknown", "text"])
def test_another_retailers_or_an_unknown_product_is_a_404_naming_product(client, product, which):
    value = {"G1": product["G1"], "unknown": 999999, "text": "abc"}[which]
    response = client.get(f"/go/{product['store']}?product={value}", headers=PHONE)
    assert response.status_code == 404 and response.get_json()["error"]["field"] == "product"
    assert product["repo"].count_scans() == 0


def test_shelf_labels_are_a_pdf_of_the_stores_products_for_its_retailer_only(client, product, db_url):
    from ..conftest import bearer
    from o2o.services import accounts

    repo = product["repo"]
    repo.set_stock([{"store_id": product["store"], "product_id": product["D1"], "availability": "in_stock"},
                    {"store_id": product["store"], "product_id": product["NOLINK"], "availability": "limited"}])
    rid = repo.get_store(product["store"])["retailer_id"]
    key = accounts.rotate_key(repo, "r", rid)
    response = client.get(f"/api/v1/retailer/stores/{product['store']}/labels.pdf", headers=bearer(key))
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF") and response.data.count(b"/Type /Page\n") + response.data.count(
        b"/Type /Page ") >= 1
    other_store = repo.find_store_ids(next(r["id"] for r in repo.list_retailers() if r["name"] == "Gap Inc."),
                                      ["T003"])["T003"]
    assert client.get(f"/api/v1/retailer/stores/{other_store}/labels.pdf", headers=bearer(key)).status_code == 404
    assert client.get(f"/api/v1/retailer/stores/{product['store']}/labels.pdf").status_code == 401
