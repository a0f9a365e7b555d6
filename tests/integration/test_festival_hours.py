"""Festival hours (``special_hours``): dated exceptions to the daily hours, through the API, the
import, the exports, open-now and the store page, on both backends."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

import pytest

from o2o.geo.hours import BEIJING
from o2o.web import api, geojson, pages

from ..conftest import bearer
from .test_import_excel import xlsx_bytes

pytestmark = pytest.mark.both_backends

SPECIAL = "2026-11-10 10:00-02:00; 2026-11-12 closed"
STORE = {"external_id": "F-1", "name": "节日门店", "brand": "FestBrand", "category": "Apparel",
         "lat": 31.2400, "lon": 121.4800, "address": "上海市黄浦区南京东路1号", "hours": "10:00-22:00",
         "online_url": "https://test.tmall.com/", "special_hours": "2026-11-12 休息；2026/11/10 10:00~02:00"}


@pytest.fixture
def clock(monkeypatch):
    """Sets the Beijing time every view reads (open-now in the API and on the pages)."""
    def at(*parts):
        when = datetime(*parts, tzinfo=BEIJING)
        for module in (api, pages, geojson):
            monkeypatch.setattr(module, "now_beijing", lambda: when)
    return at


def _register(client, keys, **changes):
    r = client.post("/api/v1/stores", json={**STORE, **changes}, headers=bearer(keys["retailer"]))
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def test_special_hours_are_stored_canonical_and_returned(client, keys):
    feature = _register(client, keys)
    assert feature["properties"]["special_hours"] == SPECIAL
    got = client.get(f"/api/v1/stores/{feature['id']}").get_json()
    assert got["properties"]["special_hours"] == SPECIAL


def test_a_store_without_special_hours_has_null(client, keys):
    feature = _register(client, keys, special_hours=None)
    assert feature["properties"]["special_hours"] is None


@pytest.mark.parametrize("bad, why", [
    ("2026-11-10 25:00-26:00", "is not a valid time range"),
    ("11月10日 通宵", "write a date and hours"),
    ("2026-02-30 closed", "is not a date"),
    ("2026-11-10 10:00-22:00; 2026-11-10 closed", "is given twice"),
    ("2026-11-10", "has no hours"),
])
def test_a_bad_entry_is_a_400_naming_special_hours_and_why(client, keys, bad, why):
    r = client.post("/api/v1/stores", json={**STORE, "special_hours": bad}, headers=bearer(keys["retailer"]))
    assert r.status_code == 400
    error = r.get_json()["error"]
    assert error["field"] == "special_hours" and why in error["message"], error
    assert error["message"].startswith("special_hours")


def test_a_bad_entry_is_explained_in_chinese_when_asked(client, keys):
    r = client.post("/api/v1/stores?lang=zh", json={**STORE, "special_hours": "2026-11-10"},
                    headers=bearer(keys["retailer"]))
    assert r.status_code == 400
    message = r.get_json()["error"]["message"]
    assert "special_hours" in message and "2026-11-10" in message and "has no hours" not in message, message


def test_patch_changes_and_clears_special_hours(client, keys):
    sid = _register(client, keys, special_hours=None)["id"]
    h = bearer(keys["retailer"])
    r = client.patch(f"/api/v1/stores/{sid}", json={"special_hours": "2026-11-11 08:00-23:59"}, headers=h)
    assert r.status_code == 200 and r.get_json()["properties"]["special_hours"] == "2026-11-11 08:00-23:59"
    r = client.patch(f"/api/v1/stores/{sid}", json={"special_hours": "2026-11-11 8点"}, headers=h)
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "special_hours"
    r = client.patch(f"/api/v1/stores/{sid}", json={"special_hours": None}, headers=h)
    assert r.status_code == 200 and r.get_json()["properties"]["special_hours"] is None


def _open_now_everywhere(client, sid):
    one = client.get(f"/api/v1/stores/{sid}").get_json()["properties"]["open_now"]
    near = client.get("/api/v1/stores/nearby?lat=31.24&lon=121.48&k=1").get_json()["features"][0]
    view = client.get("/api/v1/stores?bbox=121.47,31.23,121.49,31.25&zoom=18").get_json()["features"]
    in_view = [f["properties"]["open_now"] for f in view if f.get("id") == sid]
    assert near["id"] == sid and len(in_view) == 1
    return one, near["properties"]["open_now"], in_view[0]


def test_open_now_at_1_30_on_the_11th_after_the_festival_night(client, keys, clock):
    sid = _register(client, keys)["id"]
    clock(2026, 11, 11, 1, 30)         # the 10th's 10:00-02:00 runs into the 11th
    assert _open_now_everywhere(client, sid) == (True, True, True)
    clock(2026, 11, 11, 2, 30)         # past 02:00, before the daily 10:00
    assert _open_now_everywhere(client, sid) == (False, False, False)
    clock(2026, 11, 12, 12, 0)         # closed all day on the 12th
    assert _open_now_everywhere(client, sid) == (False, False, False)
    clock(2026, 11, 13, 1, 30)         # an ordinary night: the daily hours
    assert _open_now_everywhere(client, sid) == (False, False, False)
    clock(2026, 11, 13, 12, 0)
    assert _open_now_everywhere(client, sid) == (True, True, True)


def test_open_now_follows_a_change_of_special_hours(client, keys, clock):
    sid = _register(client, keys, special_hours=None)["id"]
    clock(2026, 11, 11, 1, 30)
    assert _open_now_everywhere(client, sid) == (False, False, False)
    client.patch(f"/api/v1/stores/{sid}", json={"special_hours": SPECIAL}, headers=bearer(keys["retailer"]))
    assert _open_now_everywhere(client, sid) == (True, True, True)


def test_the_store_page_shows_the_coming_exceptions_in_chinese_and_english(client, keys, clock):
    sid = _register(client, keys)["id"]
    clock(2026, 11, 11, 1, 30)
    zh = client.get(f"/stores/{sid}?lang=zh").get_data(as_text=True)
    assert "节日营业时间" in zh and "11月10日</span> 10:00–次日02:00" in zh and "11月12日</span> 休息" in zh
    assert 'class="badge open"' in zh
    en = client.get(f"/stores/{sid}?lang=en").get_data(as_text=True)
    assert "Festival hours" in en and "Nov 10</span> 10:00–02:00 (next day)" in en and "Nov 12</span> closed" in en
    clock(2026, 11, 12, 12, 0)         # the festival night is over; the closed day is still to come
    zh = client.get(f"/stores/{sid}?lang=zh").get_data(as_text=True)
    assert "11月10日" not in zh and "11月12日</span> 休息" in zh and 'class="badge shut"' in zh
    clock(2026, 11, 13, 12, 0)         # nothing left to come: no festival hours on the page
    assert "节日营业时间" not in client.get(f"/stores/{sid}?lang=zh").get_data(as_text=True)


def _import(client, keys, body, name, mimetype, query=""):
    r = client.post("/api/v1/stores/import" + query, headers=bearer(keys["retailer"]),
                    data={"file": (io.BytesIO(body), name, mimetype)}, content_type="multipart/form-data")
    return r


@pytest.mark.parametrize("header", ["特殊营业时间", "节日营业时间", "特殊时段", "special_hours", "holiday_hours"])
def test_a_csv_column_of_special_hours_is_imported(client, keys, header):
    text = (f"门店编码,门店名称,品牌,品类,经度,纬度,营业时间,{header}\n"
            f"C1,节日店,FestBrand,Apparel,121.48,31.24,10:00-22:00,\"2026-11-10 10:00-02:00；2026-11-12 休息\"\n")
    r = _import(client, keys, text.encode(), "stores.csv", "text/csv")
    report = r.get_json()
    assert r.status_code == 200 and report["inserted"] == 1, report
    assert report["columns"][header] == "special_hours" and report["unknown_columns"] == []
    sid = client.get("/api/v1/stores/nearby?lat=31.24&lon=121.48&k=1").get_json()["features"][0]["id"]
    assert client.get(f"/api/v1/stores/{sid}").get_json()["properties"]["special_hours"] == SPECIAL


def test_an_xlsx_column_of_special_hours_is_imported_and_bad_ones_reported_by_row(client, keys):
    header = ["门店编码", "门店名称", "品牌", "品类", "经度", "纬度", "节日营业时间"]
    rows = [["X1", "节日店1", "FestBrand", "Apparel", 121.48, 31.24, SPECIAL],
            ["X2", "节日店2", "FestBrand", "Apparel", 121.49, 31.24, "2026-11-10 通宵"]]
    r = _import(client, keys, xlsx_bytes(header, rows), "stores.xlsx",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    report = r.get_json()
    assert report["inserted"] == 1 and [x["row"] for x in report["rejected"]] == [2], report
    assert report["rejected"][0]["errors"][0].startswith("special_hours cannot read")


def test_geojson_special_hours_are_imported_and_exported(client, keys, runner, tmp_path):
    doc = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [121.48, 31.24]},
        "properties": {"external_id": "G1", "name": "节日店", "brand": "FestBrand", "category": "Apparel",
                       "hours": "10:00-22:00", "holiday_hours": SPECIAL}}]}
    r = _import(client, keys, json.dumps(doc).encode(), "stores.geojson", "application/geo+json")
    assert r.get_json()["inserted"] == 1, r.get_json()
    out = tmp_path / "all.csv"
    assert runner.invoke(args=["export", "--format", "csv", "--output", str(out)]).exit_code == 0
    rows = [row for row in csv.DictReader(out.open(encoding="utf-8-sig")) if row["external_id"] == "G1"]
    assert rows[0]["special_hours"] == SPECIAL
    out = tmp_path / "all.geojson"
    assert runner.invoke(args=["export", "--format", "geojson", "--output", str(out)]).exit_code == 0
    features = json.loads(out.read_text(encoding="utf-8"))["features"]
    assert [f["properties"]["special_hours"] for f in features if f["properties"]["external_id"] == "G1"] == [SPECIAL]
