"""Every process's index follows the database: changes made elsewhere show in the next search."""

import pytest

from o2o.storage import open_repository

pytestmark = pytest.mark.both_backends


def test_a_store_added_by_another_process_is_found_next_search(client, db_url):
    before = client.get("/api/v1/stores/nearby?lat=22.54&lon=114.06&k=1").get_json()["features"][0]
    assert before["properties"]["distance_m"] > 1000  # nothing in Shenzhen yet
    other = open_repository(db_url)  # another worker's own connection
    retailer = other.list_retailers()[0]["id"]
    other.insert_stores([{
        "retailer_id": retailer, "external_id": "SZ1", "name": "深圳新店", "brand": "Uniqlo",
        "category": "Apparel", "lon": 114.0600, "lat": 22.5400, "address": "深圳市福田区",
        "hours": "10:00-22:00", "online_url": "https://uniqlo.tmall.com/", "status": "open",
    }])
    other.close()
    after = client.get("/api/v1/stores/nearby?lat=22.54&lon=114.06&k=1").get_json()["features"][0]
    assert after["properties"]["name"] == "深圳新店"


def test_a_wholesale_reset_elsewhere_is_reloaded(app, client, db_url):
    index = app.extensions["o2o"].index_sync.index
    assert len(index) == 8
    other = open_repository(db_url)
    other.delete_all_stores()
    other.close()
    body = client.get("/api/v1/stores/nearby?lat=31.23&lon=121.47").get_json()
    assert body["features"] == []
    assert len(app.extensions["o2o"].index_sync.index) == 0


def test_a_store_renamed_elsewhere_shows_its_new_name_next_search(client, db_url):
    first = client.get("/api/v1/stores/nearby?lat=31.2330&lon=121.4760&k=1").get_json()["features"][0]
    other = open_repository(db_url)
    other.update_store(first["id"], {"name": "改名后的店", "hours": "00:00-24:00"})
    other.close()
    again = client.get("/api/v1/stores/nearby?lat=31.2330&lon=121.4760&k=1").get_json()["features"][0]
    assert again["properties"]["name"] == "改名后的店" and again["properties"]["open_now"] is True


def test_the_fast_nearby_features_equal_the_single_store_features(client):
    body = client.get("/api/v1/stores/nearby?lat=31.23&lon=121.47&k=9").get_json()
    assert len(body["features"]) == 8
    for f in body["features"]:
        single = client.get(f"/api/v1/stores/{f['id']}").get_json()
        props = dict(f["properties"])
        assert props.pop("distance_m") > 0
        assert props == single["properties"]
        assert f["geometry"] == single["geometry"]


# ------------------------------------------------------------------ the text-search index follows too
def _search(client, q, **extra):
    return client.get("/api/v1/stores/nearby", query_string={"lat": 22.54, "lon": 114.06, "q": q, **extra}).get_json()


def test_a_store_added_elsewhere_is_found_by_text_search_next_search(client, db_url):
    assert _search(client, "深圳新天地")["features"] == []
    other = open_repository(db_url)
    retailer = other.list_retailers()[0]["id"]
    other.insert_stores([{
        "retailer_id": retailer, "external_id": "SZ2", "name": "优衣库(深圳新天地店)", "brand": "Uniqlo",
        "category": "Apparel", "lon": 114.0600, "lat": 22.5400, "address": "深圳市福田区深南大道1号新天地",
        "province": "广东省", "city": "深圳市", "district": "福田区",
        "hours": "10:00-22:00", "online_url": "https://uniqlo.tmall.com/", "status": "open",
    }])
    other.close()
    for q in ("深圳新天地", "shenzhen uniqlo", "优衣库 福田", "youyiku shenzhen"):
        names = [f["properties"]["name"] for f in _search(client, q)["features"]]
        assert names and names[0] == "优衣库(深圳新天地店)", (q, names)


def test_a_store_renamed_or_closed_elsewhere_is_searched_as_it_is_now(client, db_url):
    first = _search(client, "uniqlo", k=1)["features"][0]
    other = open_repository(db_url)
    other.update_store(first["id"], {"name": "优衣库(改名后的旗舰店)"})
    other.close()
    assert [f["id"] for f in _search(client, "改名后")["features"]] == [first["id"]]
    assert first["properties"]["name"] == "优衣库(来福士店)"
    assert first["id"] not in [f["id"] for f in _search(client, "来福士", k=50)["features"]]
    other = open_repository(db_url)
    other.update_store(first["id"], {"status": "closed"})
    other.close()
    assert _search(client, "改名后")["features"] == []


def test_a_wholesale_reset_elsewhere_empties_the_text_search(client, db_url):
    assert _search(client, "uniqlo")["features"]
    other = open_repository(db_url)
    other.delete_all_stores()
    other.close()
    assert _search(client, "uniqlo")["features"] == []


def test_the_background_search_build_leaves_the_connections_of_requests_alone(app, db_url, monkeypatch):
    """The builder thread is done with its repository once the index is built; on PostGIS that
    must not close the process's pool, which the request threads are using."""
    import threading

    from o2o.storage import postgis
    from o2o.web import create_app

    closed_by = []
    real = postgis.close_pools
    monkeypatch.setattr(postgis, "close_pools",
                        lambda url=None: (closed_by.append(threading.current_thread().name), real(url))[1])
    other = create_app({"DATABASE_URL": db_url, "SEED_STORES": 0, "SECRET_KEY": "t", "TESTING": True})
    client = other.test_client()
    sync = other.extensions["o2o"].search_sync
    assert _search(client, "uniqlo")["features"]
    sync.thread.join(60)
    assert not sync.thread.is_alive()
    assert "o2o-search-build" not in closed_by
    assert _search(client, "uniqlo")["features"]
