"""Columns assigned by hand (``columns``: {header: field}) and the dry run's preview, as the retailer
console's upload preview uses them: an unknown column can be made a field before anything is stored."""

from __future__ import annotations

import io
import json

import pytest

from o2o.services.sheets import XLSX_MIME

from ..conftest import bearer
from .test_import_excel import xlsx_bytes

pytestmark = pytest.mark.both_backends

HEADER = ["门店编码", "门店名称", "品牌", "品类", "经度", "纬度", "座机号码", "备注"]
ROWS = [["M1", "手选店1", "HandBrand", "Apparel", 121.480, 31.240, "021-5550001", "旗舰店"],
        ["M2", "手选店2", "HandBrand", "Apparel", 121.490, 31.240, "021-5550002", ""]]


def _post(client, keys, body=None, query="", columns=None, name="stores.xlsx", mimetype=XLSX_MIME):
    data = {"file": (io.BytesIO(body if body is not None else xlsx_bytes(HEADER, ROWS)), name, mimetype)}
    if columns is not None:
        data["columns"] = columns if isinstance(columns, str) else json.dumps(columns, ensure_ascii=False)
    return client.post("/api/v1/stores/import" + query, headers=bearer(keys["retailer"]), data=data,
                       content_type="multipart/form-data")


def _phones(client):
    feats = client.get("/api/v1/stores?bbox=121.47,31.23,121.50,31.25&zoom=18").get_json()["features"]
    return sorted((f["properties"]["external_id"], f["properties"]["phone"]) for f in feats
                  if f["properties"].get("brand") == "HandBrand")


def test_a_dry_run_previews_the_first_rows_and_the_unknown_columns(client, keys):
    report = _post(client, keys, query="?dry_run=true").get_json()
    assert report["dry_run"] is True and report["stored"] is False and report["inserted"] == 2
    assert report["unknown_columns"] == ["座机号码", "备注"]
    assert report["preview"]["header"] == HEADER
    assert [r["row"] for r in report["preview"]["rows"]] == [1, 2]
    assert report["preview"]["rows"][0]["cells"][6] == "021-5550001"
    assert report["preview"]["rows"][1]["cells"] == ["M2", "手选店2", "HandBrand", "Apparel", "121.49", "31.24",
                                                     "021-5550002", ""]
    assert _phones(client) == []


def test_an_import_that_stores_has_no_preview(client, keys):
    report = _post(client, keys).get_json()
    assert report["inserted"] == 2 and "preview" not in report


def test_an_unknown_column_assigned_to_phone_by_hand_is_imported(client, keys):
    columns = {"座机号码": "phone"}
    dry = _post(client, keys, query="?dry_run=true", columns=columns).get_json()
    assert dry["columns"]["座机号码"] == "phone" and dry["unknown_columns"] == ["备注"]
    assert _phones(client) == []
    report = _post(client, keys, columns=columns).get_json()
    assert report["inserted"] == 2 and report["columns"]["座机号码"] == "phone"
    assert _phones(client) == [("M1", "021-5550001"), ("M2", "021-5550002")]


def test_columns_as_a_query_parameter_with_a_csv_body(client, keys):
    text = "code,名称,品牌,品类,lon,lat,座机号码\nQ1,店,HandBrand,Apparel,121.48,31.24,021-5550009\n"
    r = client.post("/api/v1/stores/import?columns=" + json.dumps({"座机号码": "phone"}), data=text.encode(),
                    headers={**bearer(keys["retailer"]), "Content-Type": "text/csv"})
    assert r.status_code == 200 and r.get_json()["inserted"] == 1, r.get_json()
    assert _phones(client) == [("Q1", "021-5550009")]


def test_a_column_chosen_by_hand_takes_the_field_from_the_automatic_one(client, keys):
    header = ["门店编码", "门店名称", "品牌", "品类", "经度", "纬度", "门店电话", "座机号码"]
    rows = [["T1", "店", "HandBrand", "Apparel", 121.48, 31.24, "021-1111111", "021-2222222"]]
    report = _post(client, keys, xlsx_bytes(header, rows), columns={"座机号码": "phone"}).get_json()
    assert report["columns"]["座机号码"] == "phone" and "门店电话" in report["unknown_columns"]
    assert _phones(client) == [("T1", "021-2222222")]


def test_a_known_column_can_be_left_out_by_hand(client, keys):
    report = _post(client, keys, columns={"门店名称": None, "座机号码": "phone"}, query="?dry_run=true").get_json()
    assert "门店名称" in report["unknown_columns"] and "门店名称" not in report["columns"]
    assert {r["row"] for r in report["rejected"]} == {1, 2}   # a store needs its name
    assert all(any(e.startswith("name") for e in r["errors"]) for r in report["rejected"])


def test_lat_and_lon_columns_can_be_assigned_when_the_importer_does_not_know_them(client, keys):
    header = ["门店编码", "门店名称", "品牌", "品类", "东经", "北纬"]
    rows = [["L1", "店", "HandBrand", "Apparel", 121.48, 31.24]]
    body = xlsx_bytes(header, rows)
    r = _post(client, keys, body, query="?dry_run=true")
    error = r.get_json()["error"]
    assert r.status_code == 400 and error["code"] == "invalid_file"
    assert error["unknown_columns"] == ["东经", "北纬"] and error["preview"]["header"] == header  # to assign them
    report = _post(client, keys, body, columns={"东经": "lon", "北纬": "lat"}).get_json()
    assert report["inserted"] == 1, report


def test_geojson_properties_can_be_assigned_by_hand(client, keys):
    doc = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [121.48, 31.24]},
        "properties": {"external_id": "J1", "name": "店", "brand": "HandBrand", "category": "Apparel",
                       "座机号码": "021-5550003"}}]}
    body = json.dumps(doc, ensure_ascii=False).encode()
    dry = _post(client, keys, body, query="?dry_run=true", name="s.geojson", mimetype="application/geo+json").get_json()
    assert dry["unknown_columns"] == ["座机号码"] and dry["preview"]["rows"][0]["cells"][-1] == "021-5550003"
    report = _post(client, keys, body, columns={"座机号码": "phone"}, name="s.geojson",
                   mimetype="application/geo+json").get_json()
    assert report["inserted"] == 1 and _phones(client) == [("J1", "021-5550003")]


@pytest.mark.parametrize("columns, why", [
    ("{not json", "must be a JSON object"),
    ('["phone"]', "must be a JSON object"),
    ("[" * 100_000, "must be a JSON object"),            # nested past Python's recursion limit
    ({"座机号码": "telephone"}, "which is not a field"),
    ({"座机号码": 7}, "must be a JSON object"),
    ({"座机号码": "phone", "备注": "phone"}, "maps both"),
    ({"传真": "phone"}, "not a column of the file"),
])
def test_a_bad_mapping_is_a_400_naming_columns(client, keys, columns, why):
    r = _post(client, keys, columns=columns, query="?dry_run=true")
    assert r.status_code == 400
    error = r.get_json()["error"]
    assert error["field"] == "columns" and why in error["message"], error
    assert _phones(client) == []


def test_a_bad_mapping_is_explained_in_chinese_when_asked(client, keys):
    r = _post(client, keys, columns={"座机号码": "telephone"}, query="?dry_run=true&lang=zh")
    message = r.get_json()["error"]["message"]
    assert r.status_code == 400 and "不是字段" in message, message


def test_the_openapi_document_describes_dry_run_and_columns(client):
    op = client.get("/api/openapi.json").get_json()["paths"]["/api/v1/stores/import"]["post"]
    names = {p["name"] for p in op["parameters"]}
    assert {"dry_run", "columns", "atomic"} <= names
    multipart = op["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    assert set(multipart) == {"file", "columns"}
