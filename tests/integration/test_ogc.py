"""OGC API – Features at /ogc, read by real clients: OWSLib (paging a bbox through the ``next``
links) and GDAL's OAPIF driver through pyogrio, against a live server; plus the protocol's
details (conformance, links, bad input, formats, ETags) through the test client."""

from __future__ import annotations

import random
import signal
from urllib.parse import parse_qs, urlsplit

import pytest

from o2o.services import ogc as ogc_service
from o2o.storage import open_repository
from o2o.web import create_app

from ..conftest import fill
from ..servers import kill, start_gunicorn

BBOX = (121.40, 31.15, 121.55, 31.30)   # central Shanghai
N_EXTRA = 240


def _extra_stores(retailer_id: int) -> list[dict]:
    """Stores scattered over Shanghai and beyond, a tenth of them closed (fixed seed)."""
    rng = random.Random(16)
    rows = []
    for i in range(N_EXTRA):
        lon, lat = rng.uniform(121.3, 121.65), rng.uniform(31.1, 31.35)
        rows.append({"retailer_id": retailer_id, "external_id": f"X{i:04d}", "name": f"测试店{i}", "brand": "Uniqlo",
                     "category": "Apparel", "lon": lon, "lat": lat, "address": f"测试路{i}号", "province": "上海市",
                     "city": "上海市", "district": "黄浦区", "hours": "10:00-22:00", "phone": "021-60000000",
                     "online_url": "https://uniqlo.tmall.com/", "status": "closed" if i % 10 == 3 else "open"})
    return rows


@pytest.fixture(scope="module")
def ogc_app(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('ogc') / 'o2o.db'}"
    repo = open_repository(url)
    repo.migrate()
    ids = fill(repo)
    repo.insert_stores(_extra_stores(ids["Uniqlo"]))
    repo.upsert_products(ids["Uniqlo"], [
        {"sku": f"UQ-{i}", "title": f"优衣库 羽绒服 {i}", "brand": "Uniqlo", "category": "Apparel", "price": 299.0 + i,
         "online_url": "https://uniqlo.tmall.com/item.htm?id=1"} for i in range(25)])
    repo.close()
    return create_app({"DATABASE_URL": url, "SEED_STORES": 0, "SECRET_KEY": "t", "TESTING": True, "TILES": "none"})


@pytest.fixture(scope="module")
def live(ogc_app):
    """gunicorn in a process of its own: GDAL holds the GIL while it downloads, so a server thread
    in this process would never answer it."""
    proc, base = start_gunicorn(ogc_app.config["O2O"]["DATABASE_URL"], workers=1, threads=4)
    yield base
    kill(proc, signal.SIGKILL)  # nothing to finish: no need to wait for a graceful stop


@pytest.fixture(scope="module")
def client(ogc_app):
    return ogc_app.test_client()


def _open_in(app, bbox=None) -> set[int]:
    """The open stores inside ``bbox`` as the database has them (what every client must get)."""
    repo = open_repository(app.config["O2O"]["DATABASE_URL"])
    try:
        w, s, e, n = bbox or (-180, -90, 180, 90)
        return {st["id"] for st in repo.iter_stores()
                if st["status"] == "open" and w <= st["lon"] <= e and s <= st["lat"] <= n}
    finally:
        repo.close()


# ----------------------------------------------------------------------------- real clients
def test_owslib_pages_a_bbox_through_next_links_and_gets_exactly_its_open_stores(live, ogc_app):
    from owslib.ogcapi.features import Features

    api = Features(live + "/ogc")
    assert {"stores", "products"} <= set(api.feature_collections())
    assert set(ogc_service.CONFORMANCE) <= set(api.conformance()["conformsTo"])
    seen, pages = [], 0
    args = {"bbox": list(BBOX), "limit": 10}
    while True:
        page = api.collection_items("stores", **args)
        pages += 1
        seen += [f["id"] for f in page["features"]]
        assert page["numberReturned"] == len(page["features"]) <= 10
        nxt = [link["href"] for link in page["links"] if link["rel"] == "next"]
        if not nxt:
            break
        assert nxt[0].startswith(live + "/ogc/collections/stores/items?")  # absolute, on this host
        query = {k: v[0] for k, v in parse_qs(urlsplit(nxt[0]).query).items()}
        args = {**query, "bbox": query["bbox"].split(",")}
    expected = _open_in(ogc_app, BBOX)
    assert len(expected) > 40  # several pages' worth
    assert page["numberMatched"] == len(expected)
    assert len(seen) == len(set(seen)) and set(seen) == expected
    assert pages == -(-len(expected) // 10)
    one = api.collection_item("stores", str(seen[0]))
    assert one["id"] == seen[0] and one["geometry"]["type"] == "Point"


def test_gdal_reads_every_open_store_with_its_attributes(live, ogc_app):
    pyogrio = pytest.importorskip("pyogrio")
    if "OAPIF" not in pyogrio.list_drivers():
        pytest.skip("this GDAL has no OAPIF driver")
    assert "stores" in [name for name, _ in pyogrio.list_layers(f"OAPIF:{live}/ogc")]
    df = pyogrio.read_dataframe(f"OAPIF:{live}/ogc", layer="stores")
    expected = _open_in(ogc_app)
    assert set(df["id"]) == expected and len(df) == len(expected)
    assert df.crs.equals("OGC:CRS84")  # longitude, latitude on WGS 84
    row = df[df["name"] == "优衣库(来福士店)"].iloc[0]
    assert (row["brand"], row["category"], row["hours"]) == ("Uniqlo", "Apparel", "10:00-22:00")
    assert (row.geometry.x, row.geometry.y) == pytest.approx((121.4760, 31.2330))
    assert row["url"] == f"{live}/stores/{row['id']}"
    products = pyogrio.read_dataframe(f"OAPIF:{live}/ogc", layer="products")
    assert len(products) == 25 and products.geometry.isna().all()
    assert sorted(products["sku"]) == sorted(f"UQ-{i}" for i in range(25))


# ----------------------------------------------------------------------------- the protocol
def test_landing_conformance_and_api_link_to_each_other_absolutely(client):
    landing = client.get("/ogc", headers={"Accept": "application/json"}).get_json()
    rels = {link["rel"]: link for link in landing["links"]}
    assert {"self", "alternate", "service-desc", "conformance", "data"} <= set(rels)
    assert all(link["href"].startswith("http://localhost/ogc") for link in landing["links"])
    assert rels["service-desc"]["type"] == "application/vnd.oai.openapi+json;version=3.0"
    conf = client.get("/ogc/conformance?f=json").get_json()
    assert {"core", "geojson", "oas30", "html"} == {uri.rsplit("/", 1)[1] for uri in conf["conformsTo"]}
    api = client.get("/ogc/api")
    assert api.mimetype == "application/vnd.oai.openapi+json"
    from openapi_spec_validator import validate

    doc = api.get_json()
    validate(doc)
    assert doc["openapi"].startswith("3.0") and doc["servers"][0]["url"] == "http://localhost/ogc"
    limit = next(p for p in doc["paths"]["/collections/{collectionId}/items"]["get"]["parameters"] if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 1000 and limit["schema"]["default"] == 10


def test_links_use_the_public_url_when_set(ogc_app):
    app = create_app({"DATABASE_URL": ogc_app.config["O2O"]["DATABASE_URL"], "SEED_STORES": 0, "SECRET_KEY": "t",
                      "TESTING": True, "TILES": "none", "PUBLIC_URL": "https://o2o.example.cn/"})
    page = app.test_client().get("/ogc/collections/stores/items?limit=2", headers={"Host": "evil.example"}).get_json()
    assert all(link["href"].startswith("https://o2o.example.cn/ogc/") for link in page["links"])
    assert page["features"][0]["properties"]["url"].startswith("https://o2o.example.cn/stores/")


def test_collection_has_the_stores_extent(client, ogc_app):
    body = client.get("/ogc/collections/stores?f=json").get_json()
    w, s, e, n = body["extent"]["spatial"]["bbox"][0]
    assert (w, s) <= (116.374, 30.274) and (e, n) >= (121.49, 39.907)
    assert body["crs"] == [ogc_service.CRS84] and body["itemType"] == "feature"
    assert {link["rel"] for link in body["links"]} >= {"self", "alternate", "items"}


def test_items_page_has_counts_timestamp_and_next_prev_links(client, ogc_app):
    total = len(_open_in(ogc_app))
    body = client.get("/ogc/collections/stores/items?limit=10&offset=20").get_json()
    assert body["numberMatched"] == total and body["numberReturned"] == 10
    assert body["timeStamp"].endswith("Z")
    links = {link["rel"]: link["href"] for link in body["links"]}
    assert "offset=30" in links["next"] and "offset=10" in links["prev"] and "limit=10" in links["next"]
    assert {"self", "alternate", "collection"} <= set(links)
    ids = [f["id"] for f in body["features"]]
    assert ids == sorted(ids)
    last = client.get(f"/ogc/collections/stores/items?limit=10&offset={total - 3}").get_json()
    assert last["numberReturned"] == 3 and "next" not in {link["rel"] for link in last["links"]}
    beyond = client.get(f"/ogc/collections/stores/items?offset={total + 5}").get_json()
    assert beyond["features"] == [] and beyond["numberMatched"] == total


def test_items_filter_by_brand_as_the_index_does(client, ogc_app):
    body = client.get("/ogc/collections/stores/items?brand=GAP&limit=100").get_json()
    assert {f["properties"]["brand"] for f in body["features"]} == {"GAP"}
    assert body["numberMatched"] == 2  # the closed one is not there


@pytest.mark.parametrize("query, field", [
    ("bbox=1,2,3", "bbox"), ("bbox=a,b,c,d", "bbox"), ("bbox=10,0,5,1", "bbox"), ("bbox=0,80,1,95", "bbox"),
    ("limit=0", "limit"), ("limit=1001", "limit"), ("limit=ten", "limit"), ("offset=-1", "offset"),
    ("f=xml", "f"), ("datetime=yesterday", "datetime"), ("colour=red", "colour"), ("limit=1&limit=2", "limit"),
])
def test_bad_items_parameters_are_400_naming_the_field(client, query, field):
    r = client.get(f"/ogc/collections/stores/items?{query}")
    assert r.status_code == 400, query
    assert r.get_json()["error"]["field"] == field


def test_six_number_bbox_and_datetime_are_accepted(client):
    r = client.get("/ogc/collections/stores/items?bbox=121.4,31.2,0,121.5,31.3,100&datetime=2026-11-11T00:00:00Z/..")
    assert r.status_code == 200 and r.get_json()["numberMatched"] > 0


def test_missing_closed_and_unknown_items_are_404(client):
    closed = client.get("/ogc/collections/stores/items/8")      # 优衣库(已闭店)
    assert closed.status_code == 404 and closed.get_json()["error"]["code"] == "not_found"
    assert client.get("/ogc/collections/stores/items/999999").status_code == 404
    assert client.get("/ogc/collections/stores/items/abc").status_code == 404
    assert client.get("/ogc/collections/nope/items").status_code == 404
    assert client.get("/ogc/collections/products/items/999999").status_code == 404
    ok = client.get("/ogc/collections/stores/items/1")
    assert ok.status_code == 200 and ok.mimetype == "application/geo+json"
    assert {link["rel"] for link in ok.get_json()["links"]} >= {"self", "alternate", "collection"}


def test_products_have_null_geometry_and_no_bbox_match(client):
    body = client.get("/ogc/collections/products/items?limit=5").get_json()
    assert body["numberMatched"] == 25 and all(f["geometry"] is None for f in body["features"])
    assert body["features"][0]["properties"]["url"].startswith("http://localhost/products/")
    assert client.get("/ogc/collections/products/items?bbox=121,31,122,32").get_json()["numberMatched"] == 0
    one = client.get(f"/ogc/collections/products/items/{body['features'][0]['id']}")
    assert one.status_code == 200 and one.get_json()["geometry"] is None


def test_format_follows_f_then_accept(client):
    assert client.get("/ogc/collections", headers={"Accept": "text/html,*/*;q=0.8"}).mimetype == "text/html"
    assert client.get("/ogc/collections", headers={"Accept": "*/*"}).mimetype == "application/json"
    assert client.get("/ogc/collections?f=json", headers={"Accept": "text/html"}).mimetype == "application/json"
    items = client.get("/ogc/collections/stores/items", headers={"Accept": "application/geo+json, application/json"})
    assert items.mimetype == "application/geo+json" and "Accept" in items.headers["Vary"]
    assert items.headers["Access-Control-Allow-Origin"] == "*"
    html = client.get("/ogc/collections/stores/items?f=html&limit=5&lang=en")
    assert html.mimetype == "text/html" and "优衣库(来福士店)" in html.get_data(as_text=True)
    error = client.get("/ogc/collections/stores/items?f=html&limit=0", headers={"Accept": "text/html"})
    assert error.status_code == 400 and error.mimetype == "text/html"


@pytest.mark.parametrize("path", ["/ogc?f=html", "/ogc/conformance?f=html", "/ogc/collections?f=html",
                                  "/ogc/collections/stores?f=html", "/ogc/collections/products/items?f=html",
                                  "/ogc/collections/stores/items/1?f=html", "/ogc/collections/products/items/1?f=html"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_html_views_render_in_both_languages(client, path, lang):
    r = client.get(f"{path}&lang={lang}")
    assert r.status_code == 200 and r.mimetype == "text/html"
    assert f'<html lang="{"zh-CN" if lang == "zh" else "en"}"' in r.get_data(as_text=True)


def test_items_answer_304_to_their_etag_until_a_store_changes(client, ogc_app):
    url = "/ogc/collections/stores/items?bbox=121.4,31.2,121.5,31.3"
    first = client.get(url)
    tag = first.headers["ETag"]
    again = client.get(url, headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.data == b""
    assert client.get(url, headers={"If-None-Match": tag, "Accept": "text/html"}).status_code == 200
    repo = open_repository(ogc_app.config["O2O"]["DATABASE_URL"])
    repo.update_store(1, {"name": "优衣库(来福士店·新)"})
    repo.close()
    changed = client.get(url, headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["ETag"] != tag
