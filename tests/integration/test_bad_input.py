"""Bad input of every kind is a 4xx naming what is wrong, never a 5xx: oversized bodies and
uploads, deeply nested JSON, non-numeric and non-finite numbers, huge k, radius, bbox, zoom, res,
scale and ids."""

from __future__ import annotations

import json

import pytest

from ..conftest import bearer

STORE = {"name": "坏输入店", "brand": "BadInput", "category": "Apparel", "lat": 31.2400, "lon": 121.4800}
NON_NUMBERS = ["abc", "NaN", "nan", "Infinity", "-inf", "1e999", "-1e999", "3_1", "0x1F", "٣١", "1,5", "", " ",
               "31.2.3", "١e5", "1e", "--1"]


def error_of(r, status=400) -> dict:
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True)[:300])
    body = r.get_json()
    assert set(body) == {"error"} and body["error"]["code"] and body["error"]["message"]
    return body["error"]


# ----------------------------------------------------------------------------------- query strings
@pytest.mark.parametrize("field", ["lat", "lon", "k", "radius_km"])
@pytest.mark.parametrize("value", NON_NUMBERS)
def test_nearby_numbers_must_be_finite_numbers(client, field, value):
    params = {"lat": "31.23", "lon": "121.47"} | {field: value}
    assert error_of(client.get("/api/v1/stores/nearby", query_string=params))["field"] == field


@pytest.mark.parametrize("field, value", [
    ("k", str(10 ** 30)), ("k", "9" * 5000), ("k", "-1"), ("k", "2.5"), ("radius_km", "1e308"), ("radius_km", "100.0001"),
    ("lat", "1e308"), ("lon", "-1e308"), ("lat", "90.0000001"), ("q", "x" * 101), ("brand", "b" * 201),
    ("crs", "EPSG:3857"),
])
def test_nearby_huge_or_out_of_range_values(client, field, value):
    params = {"lat": "31.23", "lon": "121.47"} | {field: value}
    assert error_of(client.get("/api/v1/stores/nearby", query_string=params))["field"] == field


@pytest.mark.parametrize("bbox", ["1,2,3,nan", "inf,0,1,1", "0,0,1e999,1", "1e308,0,1e309,1", "-1e300,-1,1,1",
                                  "0,0,1,1,2", "0;0;1;1", "a,b,c,d", "0,0,1", "", ",,,", "0x1,0,1,1", "3_0,0,40,1"])
def test_viewport_bbox_must_be_four_finite_numbers_in_range(client, bbox):
    assert error_of(client.get("/api/v1/stores", query_string={"bbox": bbox}))["field"] == "bbox"


@pytest.mark.parametrize("zoom", ["nan", "inf", "1e999", "1e300", "23", "-1", "ten", "1_0"])
def test_viewport_zoom_must_be_0_to_22(client, zoom):
    r = client.get("/api/v1/stores", query_string={"bbox": "121.3,31.1,121.6,31.3", "zoom": zoom})
    assert error_of(r)["field"] == "zoom"


def test_a_parameter_given_twice_is_refused(client):
    r = client.get("/api/v1/stores/nearby?lat=31&lat=32&lon=121")
    assert error_of(r)["field"] == "lat"


def test_very_many_filters_are_fine(client):
    r = client.get("/api/v1/stores/nearby", query_string=[("lat", "31.23"), ("lon", "121.47")] +
                   [("brand", f"b{i}") for i in range(2000)])
    assert r.status_code == 200 and r.get_json()["features"] == []


@pytest.mark.parametrize("query, field", [
    ("layer=stores&res=" + str(10 ** 20), "res"), ("layer=stores&res=1e999", "res"), ("layer=stores&res=nan", "res"),
    ("layer=stores&res=2", "res"), ("layer=stores&res=10", "res"), ("layer=stores&bbox=0,0,inf,1", "bbox"),
    ("layer=stores&bbox=1e400,0,1,1", "bbox"), ("layer=stores&since=1e999", "since"),
    ("layer=stores&since=99999-01-01", "since"), ("layer=stores&until=2026-11-11T25:00", "until"),
    ("layer=stores&format=xlsx", "format"), ("layer=nan", "layer"),
])
def test_analytics_huge_and_non_numeric_values(client, keys, query, field):
    r = client.get(f"/api/v1/analytics/heatmap?{query}", headers=bearer(keys["analyst"]))
    assert error_of(r)["field"] == field


@pytest.mark.parametrize("scale", ["0", "41", "1e9", str(2 ** 64), "nan", "-3", "²", "x"])
def test_qr_scale_is_1_to_40(client, scale):
    assert error_of(client.get(f"/api/v1/stores/1/qr.png?scale={scale}"))["field"] == "scale"


# ----------------------------------------------------------------------------------- ids
BIG_IDS = [str(2 ** 63 - 1), str(2 ** 63), str(2 ** 64), str(10 ** 30), "9" * 400, "-1", "0x1", "1.0", "²", "١"]


@pytest.mark.parametrize("sid", BIG_IDS)
def test_ids_beyond_64_bits_or_not_ascii_digits_are_unknown(client, keys, sid):
    h = bearer(keys["retailer"])
    for r in (client.get(f"/api/v1/stores/{sid}"), client.get(f"/api/v1/stores/{sid}/qr.svg"),
              client.get(f"/go/{sid}"), client.get(f"/api/v1/stores/{sid}/history", headers=h),
              client.patch(f"/api/v1/stores/{sid}", json={"name": "x"}, headers=h),
              client.delete(f"/api/v1/stores/{sid}", headers=h)):
        assert r.status_code == 404, (r.request.path, r.status_code)
        assert r.get_json()["error"]["code"] == "not_found"
    assert client.get(f"/stores/{sid}").status_code == 404


# ----------------------------------------------------------------------------------- bodies
@pytest.mark.parametrize("raw", ["NaN", "Infinity", "-Infinity", "1e999", '"nan"', '"inf"', '"abc"', '"31,24"',
                                 '"31°14′N"', "true", "[]", "{}", '"0x1F"', '"3_1"'])
@pytest.mark.parametrize("field", ["lat", "lon"])
def test_store_coordinates_must_be_finite_numbers(client, keys, raw, field):
    body = json.dumps({k: v for k, v in STORE.items() if k != field})[:-1] + f', "{field}": {raw}}}'
    r = client.post("/api/v1/stores", data=body, headers=bearer(keys["retailer"]), content_type="application/json")
    assert error_of(r)["field"] == field


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "1e999"])
def test_non_finite_numbers_are_not_text_either(client, keys, raw):
    body = json.dumps(STORE)[:-1] + f', "external_id": {raw}}}'
    r = client.post("/api/v1/stores", data=body, headers=bearer(keys["retailer"]), content_type="application/json")
    assert error_of(r)["field"] == "external_id"


def test_a_store_body_over_64_kb_is_a_413_naming_the_body(client, keys):
    h = bearer(keys["retailer"])
    big = json.dumps(STORE | {"address": "长" * 40_000})
    assert error_of(client.post("/api/v1/stores", data=big, headers=h, content_type="application/json"),
                    413)["field"] == "body"
    assert error_of(client.patch("/api/v1/stores/1", data=big, headers=h, content_type="application/json"),
                    413)["field"] == "body"
    assert client.get("/healthz").get_json()["stores"] == 9


@pytest.mark.parametrize("nested", ["[" * 1_000 + "]" * 1_000, "[" * 30_000 + "]" * 30_000,
                                    '{"a":' * 1_000 + "1" + "}" * 1_000, '{"a":' * 10_000 + "1" + "}" * 10_000],
                         ids=["arrays-1k", "arrays-30k", "objects-1k", "objects-10k"])
def test_deeply_nested_store_bodies_are_400s(client, keys, nested):
    assert len(nested) < 64 * 1024  # within the size a store may take: the nesting is what is refused
    r = client.post("/api/v1/stores", data=nested, headers=bearer(keys["retailer"]), content_type="application/json")
    assert error_of(r)["field"] == "body"


def test_100k_nested_arrays_are_refused_whatever_the_door(client, keys):
    h = bearer(keys["retailer"])
    deep = "[" * 100_000 + "]" * 100_000
    assert client.post("/api/v1/stores", data=deep, headers=h, content_type="application/json").status_code == 413
    r = client.post("/api/v1/stores/import", data=deep, headers=h, content_type="application/geo+json")
    assert error_of(r)["field"] == "file"
    feature_deep = '{"type": "FeatureCollection", "features": [' + "[" * 100_000 + "]" * 100_000 + "]}"
    r = client.post("/api/v1/stores/import", data=feature_deep, headers=h, content_type="application/geo+json")
    assert error_of(r)["field"] == "file"


@pytest.mark.parametrize("body, field", [
    ({"type": "Feature", "geometry": [1, 2], "properties": STORE}, "geometry"),
    ({"type": "Feature", "geometry": "POINT(121 31)", "properties": STORE}, "geometry"),
    ({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[1, 2]]}, "properties": STORE}, "geometry"),
    ({"type": "Feature", "geometry": {"type": "Point", "coordinates": "121,31"}, "properties": STORE}, "geometry"),
    ({"type": "Feature", "geometry": {"type": "Point", "coordinates": [121]}, "properties": STORE}, "geometry"),
    ({"type": "Feature", "geometry": None, "properties": [1, 2]}, "properties"),
    ({"type": "Feature", "geometry": None, "properties": "name"}, "properties"),
    ({"type": "Feature", "geometry": {"type": "Point", "coordinates": [None, "x"]}, "properties": STORE}, "lat"),
])
def test_feature_bodies_of_any_shape_are_400s(client, keys, body, field):
    body = json.loads(json.dumps(body))
    if field == "lat":  # coordinates win only where properties have none
        body["properties"] = {k: v for k, v in STORE.items() if k not in ("lat", "lon")}
    r = client.post("/api/v1/stores", json=body, headers=bearer(keys["retailer"]))
    assert error_of(r)["field"] in (field, "lon")


def test_an_upload_over_the_limit_is_a_413_for_multipart_too(db_url, app, keys):
    from io import BytesIO

    from o2o.web import create_app

    small = create_app({"DATABASE_URL": db_url, "SEED_STORES": 0, "SECRET_KEY": "t", "MAX_UPLOAD_MB": 1})
    r = small.test_client().post("/api/v1/stores/import", headers=bearer(keys["retailer"]),
                                 data={"file": (BytesIO(b"a" * (2 * 1024 * 1024)), "big.csv")},
                                 content_type="multipart/form-data")
    err = error_of(r, 413)
    assert err["field"] == "file" and "1 MB" in err["message"]


def test_a_huge_sign_in_form_is_refused(client):
    r = client.post("/retailer/sign-in", data={"key": "k" * 1_000_000, "csrf_token": "x"})
    assert r.status_code in (400, 413)


@pytest.mark.parametrize("external_id", [[1], {"a": 1}, [[[]]], True, None])
def test_import_rows_with_codes_of_any_json_type_are_reported(client, keys, external_id):
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [121.47, 31.23]},
         "properties": {"external_id": external_id, "name": "x", "brand": "b", "category": "c"}}] * 2}
    r = client.post("/api/v1/stores/import", json=doc, headers=bearer(keys["retailer"]))
    assert r.status_code == 200, r.get_data(as_text=True)
    report = r.get_json()
    assert report["inserted"] == 0 and len(report["rejected"]) == 2
    assert all(isinstance(x["external_id"], (str, type(None))) for x in report["rejected"])
