"""Retailers register, change and close their stores; nobody touches another's."""

import pytest

from o2o.geo import crs
from o2o.geo.distance import haversine_m

from ..conftest import bearer

pytestmark = pytest.mark.both_backends

STORE = {"external_id": "T-1", "name": "测试门店", "brand": "TestBrand", "category": "Apparel",
         "lat": 31.2400, "lon": 121.4800, "address": "上海市黄浦区南京东路1号", "hours": "10:00-22:00",
         "phone": "021-12345678", "online_url": "https://test.tmall.com/shop?id=1"}


def post(client, key, body, **kw):
    return client.post("/api/v1/stores", json=body, headers=bearer(key), **kw)


def test_register_store_returns_201_location_and_feature(client, keys):
    r = post(client, keys["retailer"], STORE)
    assert r.status_code == 201
    f = r.get_json()
    assert r.headers["Location"] == f"/api/v1/stores/{f['id']}"
    p = f["properties"]
    assert p["retailer_id"] == keys["retailer_id"] and p["retailer"] == "Test Co"
    assert (p["province"], p["city"], p["district"]) == ("上海市", "上海市", "黄浦区")
    assert p["status"] == "open" and p["created_at"].endswith("Z")


def test_registered_store_is_found_by_the_next_search(client, keys):
    sid = post(client, keys["retailer"], STORE).get_json()["id"]
    r = client.get("/api/v1/stores/nearby?lat=31.24&lon=121.48&k=1")
    assert r.get_json()["features"][0]["id"] == sid


def test_no_key_wrong_key_and_analyst_key(client, keys):
    assert client.post("/api/v1/stores", json=STORE).status_code == 401
    r = post(client, "o2o_r_1_" + "x" * 43, STORE)
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "unauthorized"
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert post(client, "garbage", STORE).status_code == 401
    assert post(client, keys["analyst"], STORE).status_code == 403


def test_another_retailers_store_is_forbidden(client, keys):
    sid = post(client, keys["retailer"], STORE).get_json()["id"]
    r = client.patch(f"/api/v1/stores/{sid}", json={"name": "hijack"}, headers=bearer(keys["other"]))
    assert r.status_code == 403
    assert client.delete(f"/api/v1/stores/{sid}", headers=bearer(keys["other"])).status_code == 403
    assert client.get(f"/api/v1/stores/{sid}").get_json()["properties"]["name"] == "测试门店"


def test_unknown_store_is_404_for_writes(client, keys):
    assert client.patch("/api/v1/stores/99999", json={"name": "x"}, headers=bearer(keys["retailer"])).status_code == 404
    assert client.delete("/api/v1/stores/99999", headers=bearer(keys["retailer"])).status_code == 404


def test_moving_a_store_re_derives_its_region(client, keys):
    sid = post(client, keys["retailer"], STORE).get_json()["id"]
    r = client.patch(f"/api/v1/stores/{sid}", json={"lat": 39.9087, "lon": 116.3975, "crs": "gcj02"},
                     headers=bearer(keys["retailer"]))
    p = r.get_json()["properties"]
    assert r.status_code == 200 and p["city"] == "北京市" and p["district"] == "东城区"
    assert p["updated_at"] >= p["created_at"]
    near = client.get("/api/v1/stores/nearby?lat=31.24&lon=121.48&brand=TestBrand&radius_km=50").get_json()
    assert all(f["id"] != sid for f in near["features"])


def test_close_keeps_the_record_and_history(client, keys, app):
    sid = post(client, keys["retailer"], STORE).get_json()["id"]
    assert client.delete(f"/api/v1/stores/{sid}", headers=bearer(keys["retailer"])).status_code == 204
    store = client.get(f"/api/v1/stores/{sid}").get_json()
    assert store["properties"]["status"] == "closed"
    near = client.get("/api/v1/stores/nearby?lat=31.24&lon=121.48&brand=TestBrand").get_json()
    assert near["features"] == []
    history = client.get(f"/api/v1/stores/{sid}/history", headers=bearer(keys["retailer"])).get_json()
    assert history["history"][-1]["before"] == {"status": "open"}


def test_re_sending_external_id_updates_the_same_store(client, keys):
    first = post(client, keys["retailer"], STORE).get_json()
    r = post(client, keys["retailer"], STORE | {"name": "新名字"})
    assert r.status_code == 200 and r.get_json()["id"] == first["id"]
    assert r.get_json()["properties"]["name"] == "新名字"


def test_coordinates_in_gcj02_and_bd09_are_stored_as_wgs84(client, keys):
    g_lon, g_lat = crs.wgs84_to_gcj02(121.4800, 31.2400)
    p = post(client, keys["retailer"], STORE | {"lon": g_lon, "lat": g_lat, "crs": "gcj02"}).get_json()["properties"]
    assert haversine_m(p["lon"], p["lat"], 121.48, 31.24) < 0.05
    b_lon, b_lat = crs.wgs84_to_bd09(121.4900, 31.2300)
    p = post(client, keys["retailer"], STORE | {"external_id": "T-2", "lon": b_lon, "lat": b_lat, "crs": "bd09"}).get_json()["properties"]
    assert haversine_m(p["lon"], p["lat"], 121.49, 31.23) < 0.05


def test_a_near_duplicate_is_refused_unless_deliberate(client, keys):
    post(client, keys["retailer"], STORE)
    twin = STORE | {"external_id": "T-9", "lat": 31.24005, "lon": 121.48005}  # ~7 m away
    r = post(client, keys["retailer"], twin)
    assert r.status_code == 409
    err = r.get_json()["error"]
    assert err["code"] == "duplicate_store" and err["field"] == "lat" and "duplicate" in err["message"]
    assert post(client, keys["retailer"], twin | {"allow_duplicate": True}).status_code == 201
    other_brand = twin | {"external_id": "T-10", "brand": "Another"}
    assert post(client, keys["retailer"], other_brand).status_code == 201


@pytest.mark.parametrize("change, field", [
    ({"name": None}, "name"), ({"name": ""}, "name"), ({"brand": "   "}, "brand"),
    ({"lat": 91}, "lat"), ({"lon": -181}, "lon"), ({"lat": "north"}, "lat"), ({"lat": True}, "lat"),
    ({"lat": float("nan")}, "lat"), ({"hours": "all day long"}, "hours"), ({"hours": "25:00-26:00"}, "hours"),
    ({"online_url": "http://test.tmall.com/"}, "online_url"), ({"online_url": "https://evil.com/"}, "online_url"),
    ({"online_url": "https://test.tmall.com.evil.com/"}, "online_url"),
    ({"online_url": "https://user@test.tmall.com/"}, "online_url"), ({"online_url": "javascript:alert(1)"}, "online_url"),
    ({"name": "x" * 121}, "name"), ({"address": "y" * 301}, "address"), ({"phone": "call me"}, "phone"),
    ({"crs": "utm"}, "crs"), ({"status": "maybe"}, "status"), ({"colour": "red"}, "colour"),
    ({"name": "bad\x00name"}, "name"),
])
def test_bad_fields_are_a_400_naming_the_field(client, keys, change, field):
    body = {k: v for k, v in (STORE | change).items() if v is not None}
    r = post(client, keys["retailer"], body)
    assert r.status_code == 400, r.get_json()
    assert r.get_json()["error"]["field"] == field


@pytest.mark.parametrize("lon, lat, where", [(123.5, 30.0, "outside mainland"), (2.35, 48.85, "outside mainland"),
                                             (114.1694, 22.3193, "Hong Kong")])
def test_locations_outside_mainland_china_say_so(client, keys, lon, lat, where):
    r = post(client, keys["retailer"], STORE | {"lon": lon, "lat": lat})
    assert r.status_code == 422
    err = r.get_json()["error"]
    assert where in err["message"] and err["field"] == "lat"


def test_missing_required_fields_are_all_reported(client, keys):
    r = post(client, keys["retailer"], {"name": "only a name"})
    err = r.get_json()["error"]
    assert r.status_code == 400
    assert {e["field"] for e in err["errors"]} == {"brand", "category", "lat", "lon"}


def test_bad_bodies_are_4xx_and_store_nothing(client, keys):
    h = bearer(keys["retailer"])
    assert client.post("/api/v1/stores", data="{not json", headers=h, content_type="application/json").status_code == 400
    assert client.post("/api/v1/stores", data="[1,2]", headers=h, content_type="application/json").status_code == 400
    assert client.post("/api/v1/stores", data="a=b", headers=h, content_type="text/plain").status_code == 415
    deep = "[" * 30_000 + "]" * 30_000  # deeper than the parser goes, yet within the 64 KB a store may take
    assert client.post("/api/v1/stores", data=deep, headers=h, content_type="application/json").status_code == 400
    assert client.get("/healthz").get_json()["stores"] == 9


def test_online_url_defaults_to_the_retailers_domain(client, keys):
    body = {k: v for k, v in STORE.items() if k != "online_url"}
    p = post(client, keys["retailer"], body).get_json()["properties"]
    assert p["online_url"].startswith("https://") and "test" in p["online_url"]


def test_sub_domains_of_a_retailer_domain_are_allowed(client, keys):
    r = post(client, keys["retailer"], STORE | {"online_url": "https://m.shop.test.com/item/1?a=b"})
    assert r.status_code == 201


def test_patch_moving_needs_both_coordinates(client, keys):
    sid = post(client, keys["retailer"], STORE).get_json()["id"]
    r = client.patch(f"/api/v1/stores/{sid}", json={"lat": 31.25}, headers=bearer(keys["retailer"]))
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "lon"


def test_rotated_key_stops_working(client, keys, db_url):
    from o2o.services import accounts
    from o2o.storage import open_repository

    repo = open_repository(db_url)
    new = accounts.rotate_key(repo, "r", keys["retailer_id"])
    repo.close()
    assert post(client, keys["retailer"], STORE).status_code == 401
    assert post(client, new, STORE).status_code == 201


def test_keys_are_stored_only_as_hashes(keys, db_url):
    from ..conftest import sql

    dump = "\n".join(str(row) for table in ("retailers", "analysts")
                     for row in sql(db_url, f"SELECT * FROM {table}"))
    assert str(keys["retailer_id"]) in dump  # the rows are there
    assert keys["retailer"] not in dump and keys["analyst"] not in dump
    # the secret after "o2o_r_<id>_" (it may itself contain "_")
    secret = keys["retailer"].split("_", 3)[3]
    assert len(secret) >= 20 and secret not in dump
