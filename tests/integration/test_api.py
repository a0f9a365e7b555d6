"""The HTTP API against the contract, on a small hand-made set of stores."""

import pytest

from o2o.geo import crs
from o2o.geo.distance import haversine_m

pytestmark = pytest.mark.both_backends

PEOPLES_SQUARE = (121.4737, 31.2304)


def nearby(client, **params):
    params.setdefault("lat", PEOPLES_SQUARE[1])
    params.setdefault("lon", PEOPLES_SQUARE[0])
    return client.get("/api/v1/stores/nearby", query_string=params)


def test_nearby_returns_open_stores_nearest_first(client):
    r = nearby(client)
    assert r.status_code == 200
    body = r.get_json()
    assert body["type"] == "FeatureCollection"
    dists = [f["properties"]["distance_m"] for f in body["features"]]
    assert dists == sorted(dists)
    assert all(f["properties"]["status"] == "open" for f in body["features"])
    assert "优衣库(已闭店)" not in [f["properties"]["name"] for f in body["features"]]


def test_nearby_features_carry_every_store_field(client):
    f = nearby(client, k=1).get_json()["features"][0]
    assert isinstance(f["id"], int)
    assert f["geometry"]["type"] == "Point"
    props = f["properties"]
    for field in ("id", "retailer_id", "external_id", "name", "brand", "retailer", "category", "lat",
                  "lon", "address", "province", "city", "district", "hours", "phone", "online_url",
                  "status", "created_at", "updated_at", "distance_m", "go_url"):
        assert field in props, field
    assert props["go_url"].endswith(f"/go/{f['id']}")
    assert f["geometry"]["coordinates"] == [props["lon"], props["lat"]]


def test_distances_are_great_circle_metres(client):
    for f in nearby(client).get_json()["features"]:
        lon, lat = f["geometry"]["coordinates"]
        assert f["properties"]["distance_m"] == pytest.approx(haversine_m(*PEOPLES_SQUARE, lon, lat), abs=0.1)


def test_k_limits_the_answer(client):
    assert len(nearby(client, k=2).get_json()["features"]) == 2


def test_brand_filter_is_exact_and_repeatable(client):
    r = client.get("/api/v1/stores/nearby?lat=31.23&lon=121.47&brand=GAP&brand=Haier")
    brands = {f["properties"]["brand"] for f in r.get_json()["features"]}
    assert brands == {"GAP", "Haier"}
    assert nearby(client, brand="uniqlo").get_json()["features"] == []


def test_category_and_retailer_filters(client):
    r = nearby(client, category="Electronics")
    assert [f["properties"]["brand"] for f in r.get_json()["features"]] == ["Gome"]
    r = nearby(client, retailer="Fast Retailing")
    assert {f["properties"]["brand"] for f in r.get_json()["features"]} == {"Uniqlo"}


def test_radius_keeps_only_stores_inside(client):
    body = nearby(client, radius_km=1).get_json()
    assert body["features"]
    assert all(f["properties"]["distance_m"] <= 1000 for f in body["features"])
    assert "nearest" not in body


def test_empty_radius_offers_the_nearest_store(client):
    body = nearby(client, radius_km=0.05, brand="Intime").get_json()
    assert body["features"] == []
    assert body["nearest"]["properties"]["brand"] == "Intime"
    assert body["nearest"]["properties"]["distance_m"] > 100_000


def test_empty_radius_with_no_match_anywhere_says_so(client):
    body = nearby(client, radius_km=1, brand="Nobody").get_json()
    assert body["features"] == [] and body["nearest"] is None


def test_nearby_in_gcj02_converts_input_and_output(client):
    g_lon, g_lat = crs.wgs84_to_gcj02(*PEOPLES_SQUARE)
    wgs = nearby(client, k=3).get_json()
    gcj = client.get("/api/v1/stores/nearby", query_string={"lat": g_lat, "lon": g_lon, "k": 3,
                                                             "crs": "gcj02"}).get_json()
    assert [f["id"] for f in gcj["features"]] == [f["id"] for f in wgs["features"]]
    for a, b in zip(wgs["features"], gcj["features"]):
        assert a["properties"]["distance_m"] == pytest.approx(b["properties"]["distance_m"], abs=0.05)
        expect = crs.wgs84_to_gcj02(*a["geometry"]["coordinates"])
        assert b["geometry"]["coordinates"] == pytest.approx(list(expect), abs=1e-6)


def test_text_search_finds_by_name(client):
    body = nearby(client, q="南京东路").get_json()
    assert [f["properties"]["name"] for f in body["features"]] == ["优衣库(南京东路店)"]


@pytest.mark.parametrize("params, field", [
    ({"lat": "91"}, "lat"), ({"lat": "-90.5"}, "lat"), ({"lat": "abc"}, "lat"), ({"lat": "nan"}, "lat"),
    ({"lat": "inf"}, "lat"), ({"lon": "181"}, "lon"), ({"lon": ""}, "lon"), ({"k": "0"}, "k"),
    ({"k": "201"}, "k"), ({"k": "1e9"}, "k"), ({"k": "two"}, "k"), ({"radius_km": "-1"}, "radius_km"),
    ({"radius_km": "101"}, "radius_km"), ({"crs": "utm"}, "crs"), ({"brand": "x" * 500}, "brand"),
])
def test_nearby_bad_input_is_a_400_naming_the_field(client, params, field):
    r = nearby(client, **params)
    assert r.status_code == 400
    err = r.get_json()["error"]
    assert err["code"] == "invalid_parameter" and err["field"] == field and err["message"]


def test_nearby_missing_coordinates_names_the_field(client):
    r = client.get("/api/v1/stores/nearby?lon=121")
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "lat"
    assert r.get_json()["error"]["message"] == "lat is required"


def test_lat_range_message_is_the_contracts(client):
    err = nearby(client, lat=95).get_json()["error"]
    assert err == {"code": "invalid_parameter", "message": "lat must be between -90 and 90", "field": "lat"}


def test_viewport_returns_stores_and_clusters(client):
    r = client.get("/api/v1/stores?bbox=121.3,31.1,121.6,31.3&zoom=17")
    body = r.get_json()
    assert r.status_code == 200
    ids = {f["id"] for f in body["features"] if not f["properties"].get("cluster")}
    assert ids == {1, 2, 3, 4, 5, 9}  # the open Shanghai stores: no closed one, none from Hangzhou
    r = client.get("/api/v1/stores?bbox=70,15,140,55&zoom=3")
    feats = r.get_json()["features"]
    counted = sum(f["properties"]["point_count"] if f["properties"].get("cluster") else 1 for f in feats)
    assert counted == 9 - 1  # every open store, once
    assert any(f["properties"].get("cluster") for f in feats)


@pytest.mark.parametrize("bbox", ["1,2,3", "a,b,c,d", "121.6,31.1,121.3,31.3", "-200,0,0,1", "0,-95,1,1", ""])
def test_viewport_bad_bbox_is_a_400(client, bbox):
    r = client.get("/api/v1/stores", query_string={"bbox": bbox})
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "bbox"


def test_viewport_requires_bbox_and_checks_zoom(client):
    assert client.get("/api/v1/stores").get_json()["error"]["field"] == "bbox"
    r = client.get("/api/v1/stores?bbox=121,31,122,32&zoom=23")
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "zoom"


def test_store_by_id_and_unknown_ids(client):
    first = nearby(client, k=1).get_json()["features"][0]
    r = client.get(f"/api/v1/stores/{first['id']}")
    assert r.status_code == 200 and r.get_json()["id"] == first["id"]
    assert client.get("/api/v1/stores/999999").status_code == 404
    assert client.get("/api/v1/stores/abc").status_code == 404
    assert client.get("/api/v1/stores/999999").get_json()["error"]["code"] == "not_found"


def test_closed_store_is_still_readable_by_id(client):
    closed = [i for i in range(1, 10) if client.get(f"/api/v1/stores/{i}").get_json()["properties"]["status"] == "closed"]
    assert len(closed) == 1


def test_brands_count_open_stores(client):
    brands = {b["name"]: b for b in client.get("/api/v1/brands").get_json()}
    assert brands["Uniqlo"]["stores"] == 3  # the closed one is not counted
    assert brands["GAP"]["slug"] == "gap"


def test_healthz(client):
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok" and body["stores"] == 9


def test_qr_codes_are_served(client):
    svg = client.get("/api/v1/stores/1/qr.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
    png = client.get("/api/v1/stores/1/qr.png")
    assert png.status_code == 200 and png.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert client.get("/api/v1/stores/4242/qr.svg").status_code == 404


def test_openapi_describes_every_endpoint(client, app):
    from openapi_spec_validator import validate

    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    validate(spec)
    for path in ("/api/v1/stores/nearby", "/api/v1/stores", "/api/v1/stores/{id}", "/api/v1/brands",
                 "/api/v1/stores/{id}/qr.svg", "/api/v1/stores/{id}/qr.png", "/healthz", "/go/{id}",
                 "/api/v1/stores/import", "/api/v1/analytics/heatmap"):
        assert path in spec["paths"], path
    assert {"get", "post"} <= set(spec["paths"]["/api/v1/stores"])
    assert {"get", "patch", "delete"} <= set(spec["paths"]["/api/v1/stores/{id}"])
    # Every API route the app serves is described.
    import re
    documented = {re.sub(r"\{\w+\}", "<>", p) for p in spec["paths"]}
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<[^>]+>", "<>", rule.rule)
        if path.startswith("/api/") or path.startswith("/go/"):
            if "qr.<>" in path:
                continue  # qr.svg and qr.png are listed one by one
            assert path in documented, path
    names = {p["name"] for p in spec["paths"]["/api/v1/stores/nearby"]["get"]["parameters"]}
    assert {"lat", "lon", "k", "radius_km", "brand", "retailer", "category", "crs"} <= names


def test_unknown_api_path_is_json_404(client):
    r = client.get("/api/v1/nope")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"


def test_wrong_method_is_json_405(client):
    r = client.delete("/api/v1/brands")
    assert r.status_code == 405 and "error" in r.get_json()


def test_viewport_in_gcj02_matches_wgs84(client):
    wgs = client.get("/api/v1/stores?bbox=121.3,31.1,121.6,31.3&zoom=17").get_json()
    g_w, g_s = crs.wgs84_to_gcj02(121.3, 31.1)
    g_e, g_n = crs.wgs84_to_gcj02(121.6, 31.3)
    gcj = client.get(f"/api/v1/stores?bbox={g_w},{g_s},{g_e},{g_n}&zoom=17&crs=gcj02").get_json()
    assert sorted(f["id"] for f in gcj["features"]) == sorted(f["id"] for f in wgs["features"])
    by_id = {f["id"]: f for f in wgs["features"]}
    for f in gcj["features"]:
        assert f["geometry"]["coordinates"] == pytest.approx(list(crs.wgs84_to_gcj02(*by_id[f["id"]]["geometry"]["coordinates"])), abs=1e-6)


@pytest.mark.parametrize("path", ["/stores/99999999999999999999999", "/stores/99999999999999999999999/poster.pdf",
                                  "/api/v1/stores/99999999999999999999", "/go/99999999999999999999",
                                  "/api/v1/stores/99999999999999999999/qr.png"])
def test_ids_beyond_64_bits_are_404_not_500(client, path):
    assert client.get(path).status_code == 404
