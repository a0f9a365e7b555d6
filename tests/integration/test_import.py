"""Bulk import from the files retailers really have, through the API and the command line."""

from pathlib import Path

import pytest

from o2o.geo.distance import haversine_m

from ..conftest import bearer

pytestmark = pytest.mark.both_backends

DATA = Path(__file__).resolve().parent.parent / "data"
WGS84 = {"HZ001": (120.1650, 30.2550), "HZ002": (120.1640, 30.2750), "SH001": (121.4737, 31.2304),
         "BJ001": (116.3740, 39.9070), "GZ001": (113.3240, 23.1330)}


def upload(client, key, name, query=""):
    data = (DATA / name).read_bytes()
    return client.post(f"/api/v1/stores/import{query}", data=data, headers=bearer(key),
                       content_type="text/csv" if not name.endswith("json") else "application/geo+json")


def stores_of(client, key):
    return {f["properties"]["external_id"]: f for f in
            client.get("/api/v1/retailer/stores", headers=bearer(key)).get_json()["features"]}


def test_gbk_csv_with_chinese_headers_and_amap_coordinates(client, keys):
    r = upload(client, keys["retailer"], "stores_gbk_gcj02.csv")
    body = r.get_json()
    assert r.status_code == 200, body
    assert (body["inserted"], body["updated"], body["rejected"]) == (5, 0, [])
    assert body["encoding"] == "gb18030" and body["format"] == "csv"
    stores = stores_of(client, keys["retailer"])
    for code, (lon, lat) in WGS84.items():
        p = stores[code]["properties"]
        assert haversine_m(p["lon"], p["lat"], lon, lat) < 0.5  # GCJ-02 undone to within centimetres (6 decimals in the file)
    assert stores["HZ001"]["properties"]["name"] == "测试品牌(西湖银泰店)"
    assert stores["HZ002"]["properties"]["hours"] == "09:30-21:30"
    assert stores["BJ001"]["properties"]["district"] == "西城区"


def test_importing_the_same_file_twice_changes_nothing(client, keys):
    upload(client, keys["retailer"], "stores_gbk_gcj02.csv")
    before = stores_of(client, keys["retailer"])
    r = upload(client, keys["retailer"], "stores_gbk_gcj02.csv").get_json()
    assert (r["inserted"], r["updated"], r["unchanged"]) == (0, 0, 5)
    assert "nothing changed" in r["message"]
    after = stores_of(client, keys["retailer"])
    assert {k: v["properties"]["updated_at"] for k, v in after.items()} == \
           {k: v["properties"]["updated_at"] for k, v in before.items()}


def test_utf8_bom_tab_separated_updates_by_external_id(client, keys):
    upload(client, keys["retailer"], "stores_gbk_gcj02.csv")
    r = upload(client, keys["retailer"], "stores_utf8_bom.tsv").get_json()
    assert r["encoding"] == "utf-8-sig"
    # Same stores (same codes, same places once converted); the file adds online_url to each.
    assert r["inserted"] == 0 and r["updated"] == 5 and not r["rejected"]


def test_geojson_import(client, keys):
    r = upload(client, keys["retailer"], "stores.geojson").get_json()
    assert r["format"] == "geojson" and r["inserted"] == 5


def test_multipart_upload(client, keys):
    with open(DATA / "stores.geojson", "rb") as fh:
        r = client.post("/api/v1/stores/import", data={"file": (fh, "stores.geojson")},
                        headers=bearer(keys["retailer"]), content_type="multipart/form-data")
    assert r.status_code == 200 and r.get_json()["inserted"] == 5


def test_every_bad_row_is_reported_with_its_number_and_reason(client, keys):
    r = upload(client, keys["retailer"], "bad_rows.csv")
    body = r.get_json()
    assert r.status_code == 200
    assert body["inserted"] == 2  # OK1 and OK2
    rejected = {x["row"]: " ".join(x["errors"]) for x in body["rejected"]}
    assert body["rows"] == 16 and len(rejected) == 14
    assert "name" in rejected[2]
    assert "lon is required" in rejected[3]
    assert "lat must be between" in rejected[4]
    assert "lon must be a number" in rejected[5]
    assert "outside mainland" in rejected[6] and "outside mainland" in rejected[7]
    assert "hours" in rejected[8]
    assert "https" in rejected[9] and "domains" in rejected[10]
    assert "phone" in rejected[11]
    assert "appears again" in rejected[12]
    assert "external_id is required" in rejected[13]
    assert "too long" in rejected[14]
    assert "outside mainland" in rejected[15]
    lines = {x["row"]: x.get("line") for x in body["rejected"]}
    assert lines[2] == 3  # the header is line 1


def test_atomic_import_stores_all_or_nothing(client, keys):
    r = upload(client, keys["retailer"], "bad_rows.csv", "?atomic=true")
    body = r.get_json()
    assert r.status_code == 422 and body["stored"] is False and body["inserted"] == 0
    assert len(body["rejected"]) == 14
    assert stores_of(client, keys["retailer"]) == {}
    ok = upload(client, keys["retailer"], "stores.geojson", "?atomic=true")
    assert ok.status_code == 200 and ok.get_json()["inserted"] == 5


def test_duplicates_within_20_m_are_reported(client, keys):
    csv = ("external_id,name,brand,category,lon,lat\n"
           "D1,甲,DupBrand,Apparel,121.4800,31.2400\n"
           "D2,乙,DupBrand,Apparel,121.48005,31.24005\n"
           "D3,丙,OtherBrand,Apparel,121.48005,31.24005\n")
    r = client.post("/api/v1/stores/import", data=csv.encode(), headers=bearer(keys["retailer"]),
                    content_type="text/csv").get_json()
    assert r["inserted"] == 2 and r["rejected"][0]["row"] == 2 and "duplicate" in r["rejected"][0]["errors"][0]
    again = csv.replace("D1,", "D9,")  # D9 is new but 0 m from the stored D1
    r = client.post("/api/v1/stores/import?allow_duplicates=true", data=again.encode(),
                    headers=bearer(keys["retailer"]), content_type="text/csv").get_json()
    assert r["inserted"] == 2


def test_unreadable_files_are_a_400(client, keys):
    h = bearer(keys["retailer"])
    for data, ct in [(b"", "text/csv"), (b"\xff\xfe\x00garbage\xff", "text/csv"), (b"name,brand\nx,y\n", "text/csv"),
                     (b'{"type": "Point"}', "application/json"), (b"{broken", "application/json")]:
        r = client.post("/api/v1/stores/import", data=data, headers=h, content_type=ct)
        assert r.status_code == 400, (data, r.get_json())
        assert r.get_json()["error"]["field"] == "file"


def test_an_upload_over_the_limit_is_refused_cleanly(db_url, keys):
    from o2o.web import create_app

    small = create_app({"DATABASE_URL": db_url, "SEED_STORES": 0, "SECRET_KEY": "t", "MAX_UPLOAD_MB": 1})
    r = small.test_client().post("/api/v1/stores/import", data=b"a" * (2 * 1024 * 1024),
                                 headers=bearer(keys["retailer"]), content_type="text/csv")
    assert r.status_code == 413 and r.get_json()["error"]["field"] == "file"


def test_import_needs_a_retailer_key(client, keys):
    assert client.post("/api/v1/stores/import", data=b"x").status_code == 401
    r = client.post("/api/v1/stores/import", data=b"x", headers=bearer(keys["analyst"]))
    assert r.status_code == 403


def test_cli_import_with_progress_and_report(runner, keys):
    result = runner.invoke(args=["import", str(DATA / "bad_rows.csv"), "--retailer", str(keys["retailer_id"])])
    assert result.exit_code == 0, result.output
    assert "rejected row 3 (line 4) [BAD2]: lon is required" in result.output
    assert "2 added, 0 updated, 0 unchanged, 14 rejected" in result.output
    atomic = runner.invoke(args=["import", str(DATA / "bad_rows.csv"), "--retailer", str(keys["retailer_id"]), "--atomic"])
    assert atomic.exit_code == 1 and "nothing stored" in atomic.output


def test_cli_import_gbk_file(runner, keys, client):
    result = runner.invoke(args=["import", str(DATA / "stores_gbk_gcj02.csv"), "--retailer", str(keys["retailer_id"])])
    assert result.exit_code == 0 and "5 added" in result.output
    assert len(stores_of(client, keys["retailer"])) == 5


def test_cli_retailer_and_analyst_keys_print_last_and_alone(runner):
    out = runner.invoke(args=["retailer", "create", "CLI Co", "--domain", "cli.tmall.com"]).output.strip().splitlines()
    assert out[0].startswith("retailer id: ") and out[-1].startswith("o2o_r_") and " " not in out[-1]
    out = runner.invoke(args=["analyst", "create", "Ana Lyst"]).output.strip().splitlines()
    assert out[-1].startswith("o2o_a_") and " " not in out[-1]
    bad = runner.invoke(args=["retailer", "create", "No Domain Co", "--domain", "not a host"])
    assert bad.exit_code != 0


def test_cli_rotate_and_revoke(runner, client, keys):
    out = runner.invoke(args=["retailer", "rotate-key", str(keys["retailer_id"])]).output.strip().splitlines()
    new = out[-1]
    r = client.get("/api/v1/retailer/stores", headers=bearer(new))
    assert r.status_code == 200
    assert client.get("/api/v1/retailer/stores", headers=bearer(keys["retailer"])).status_code == 401
    runner.invoke(args=["retailer", "revoke", str(keys["retailer_id"])])
    assert client.get("/api/v1/retailer/stores", headers=bearer(new)).status_code == 401
