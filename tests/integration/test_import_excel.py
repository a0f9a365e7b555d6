"""Store lists as retailers really keep them: Excel (.xlsx, and the .xls that WPS still writes) with a
title row, Chinese headers, Amap coordinates, codes with leading zeros; columns the importer does
not know are named in the report, never dropped silently; a dry run reports and stores nothing."""

from __future__ import annotations

import io

import pytest

from o2o.geo import crs as crs_mod
from o2o.geo.distance import haversine_m
from o2o.services.sheets import XLS_MIME, XLSX_MIME

from ..conftest import bearer

pytestmark = pytest.mark.both_backends

# WGS-84 truth; the files hold the GCJ-02 positions Amap shows for them
TRUTH = {"00123": (120.1650, 30.2550), "00124": (121.4737, 31.2304), "00125": (116.3740, 39.9070)}
HEADER = ["门店编码", "门店名称", "品牌", "品类", "经度", "纬度", "坐标系", "门店地址", "营业时间", "门店电话", "线上链接", "备注"]


def _rows():
    out = []
    for i, (code, (lon, lat)) in enumerate(TRUTH.items()):
        glon, glat = crs_mod.from_wgs84(lon, lat, "gcj02")
        out.append([code, f"测试品牌(第{i + 1}店)", "测试品牌", "Apparel", round(glon, 6), round(glat, 6), "高德",
                    f"测试路{i + 1}号", "10:00-22:00", 13800000000 + i, f"https://test.tmall.com/shop{i}", "旗舰店"])
    return out


def xlsx_bytes(header=HEADER, rows=None, title="2026 双11 参与门店清单") -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    if title:
        sheet.append([title])
        sheet.append([])
    sheet.append(header)
    for row in rows if rows is not None else _rows():
        sheet.append(row)
    for cell in sheet["A"]:           # codes typed as text, as Excel keeps 00123
        cell.number_format = "@"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def xls_bytes() -> bytes:
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("门店")
    sheet.write(0, 0, "门店清单")
    for c, text in enumerate(HEADER):
        sheet.write(1, c, text)
    for r, row in enumerate(_rows(), start=2):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def post(client, key, data, content_type=XLSX_MIME, query="", filename=None):
    if filename:
        return client.post(f"/api/v1/stores/import{query}", headers=bearer(key),
                           data={"file": (io.BytesIO(data), filename, content_type)}, content_type="multipart/form-data")
    return client.post(f"/api/v1/stores/import{query}", data=data, headers=bearer(key), content_type=content_type)


def stores_of(client, key):
    return {f["properties"]["external_id"]: f["properties"] for f in
            client.get("/api/v1/retailer/stores", headers=bearer(key)).get_json()["features"]}


@pytest.mark.parametrize("how", ["body", "multipart"])
def test_an_xlsx_with_a_title_row_chinese_headers_and_amap_coordinates(client, keys, how):
    data = xlsx_bytes()
    r = post(client, keys["retailer"], data, filename="门店.xlsx" if how == "multipart" else None)
    body = r.get_json()
    assert r.status_code == 200, body
    assert body["format"] == "xlsx" and body["encoding"] is None
    assert (body["inserted"], body["updated"], body["rejected"]) == (3, 0, [])
    assert body["columns"]["线上链接"] == "online_url" and body["columns"]["门店电话"] == "phone"
    assert body["columns"]["经度"] == "lon" and body["columns"]["门店编码"] == "external_id"
    assert body["unknown_columns"] == ["备注"] and "备注" in body["message"]
    stores = stores_of(client, keys["retailer"])
    assert set(stores) == set(TRUTH)                       # 00123 kept as text, not 123
    for code, (lon, lat) in TRUTH.items():
        p = stores[code]
        assert haversine_m(p["lon"], p["lat"], lon, lat) < 0.5   # GCJ-02 undone
        assert p["online_url"].startswith("https://test.tmall.com/shop")
    assert stores["00123"]["phone"] == "13800000000"       # a number cell, no ".0"
    # the same file again changes nothing
    again = post(client, keys["retailer"], data).get_json()
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, 3)


def test_a_legacy_xls_as_wps_writes_it(client, keys):
    r = post(client, keys["retailer"], xls_bytes(), content_type=XLS_MIME)
    body = r.get_json()
    assert r.status_code == 200, body
    assert body["format"] == "xls" and body["inserted"] == 3 and body["unknown_columns"] == ["备注"]
    assert set(stores_of(client, keys["retailer"])) == set(TRUTH)


def test_a_link_to_a_foreign_domain_is_rejected_not_dropped_with_its_column(client, keys):
    rows = _rows()
    rows[1][10] = "https://evil.example.com/phish"
    body = post(client, keys["retailer"], xlsx_bytes(rows=rows)).get_json()
    assert body["inserted"] == 2
    (bad,) = body["rejected"]
    assert bad["external_id"] == "00124" and bad["line"] == 5   # the sheet's own row number
    assert any("online_url" in e for e in bad["errors"])


def test_a_dry_run_reports_what_would_happen_and_stores_nothing(client, keys):
    rows = _rows()
    rows[2][4] = "not a number"
    r = post(client, keys["retailer"], xlsx_bytes(rows=rows), query="?dry_run=true")
    body = r.get_json()
    assert r.status_code == 200, body
    assert body["dry_run"] is True and body["stored"] is False
    assert body["inserted"] == 2 and len(body["rejected"]) == 1
    assert body["message"].startswith("dry run, nothing stored")
    assert stores_of(client, keys["retailer"]) == {}
    # the dry run of a file already stored: updates counted, still nothing written
    post(client, keys["retailer"], xlsx_bytes())
    rows = _rows()
    rows[0][1] = "测试品牌(改名店)"
    body = post(client, keys["retailer"], xlsx_bytes(rows=rows), query="?dry_run=true").get_json()
    assert (body["inserted"], body["updated"], body["unchanged"]) == (0, 1, 2)
    assert stores_of(client, keys["retailer"])["00123"]["name"] == "测试品牌(第1店)"
    assert client.post("/api/v1/stores/import?dry_run=maybe", data=b"x", headers=bearer(keys["retailer"]),
                       content_type="text/csv").get_json()["error"]["field"] == "dry_run"


def test_coordinates_in_one_cell_and_unknown_columns_in_a_gbk_csv(client, keys):
    text = ("门店编码,门店名称,品牌,品类,经纬度,坐标系,网店地址,会员折扣\n"
            "C1,测试品牌(一店),测试品牌,Apparel,\"120.1650,30.2550\",WGS84,https://test.tmall.com/a,9折\n"
            "C2,测试品牌(二店),测试品牌,Apparel,\"31.2304, 121.4737\",WGS84,https://test.tmall.com/b,8折\n"
            "C3,测试品牌(三店),测试品牌,Apparel,somewhere,WGS84,https://test.tmall.com/c,\n")
    r = post(client, keys["retailer"], text.encode("gbk"), content_type="text/csv")
    body = r.get_json()
    assert body["encoding"] == "gb18030"
    assert body["columns"]["经纬度"] == "lonlat" and body["columns"]["网店地址"] == "online_url"
    assert body["unknown_columns"] == ["会员折扣"]
    assert body["inserted"] == 2 and [x["external_id"] for x in body["rejected"]] == ["C3"]
    stores = stores_of(client, keys["retailer"])
    assert haversine_m(stores["C2"]["lon"], stores["C2"]["lat"], 121.4737, 31.2304) < 1  # either order
    assert stores["C1"]["online_url"] == "https://test.tmall.com/a"


def test_chinese_messages_for_the_new_reports(client, keys):
    body = client.post("/api/v1/stores/import?dry_run=true&lang=zh", data=xlsx_bytes(), content_type=XLSX_MIME,
                       headers=bearer(keys["retailer"])).get_json()
    assert "dry run" not in body["message"] and "备注" in body["message"]


@pytest.mark.parametrize("data,content_type,filename", [
    (b"just some text, not a workbook", XLSX_MIME, None),
    (b"PK\x03\x04 broken zip", XLSX_MIME, None),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 broken ole", XLS_MIME, None),
    (b"name,city\nA,B\n", "text/csv", "stores.xlsx"),
])
def test_files_that_are_not_the_spreadsheets_they_claim_are_a_400(client, keys, data, content_type, filename):
    before = stores_of(client, keys["retailer"])
    r = post(client, keys["retailer"], data, content_type=content_type, filename=filename)
    assert r.status_code == 400, r.get_data(as_text=True)
    assert r.get_json()["error"]["field"] == "file"
    assert stores_of(client, keys["retailer"]) == before


def test_an_xlsx_without_coordinates_names_what_it_found(client, keys):
    r = post(client, keys["retailer"], xlsx_bytes(header=["门店编码", "门店名称", "地址"], rows=[["1", "a", "b"]]))
    assert r.status_code == 400
    assert "门店名称" in r.get_json()["error"]["message"]
