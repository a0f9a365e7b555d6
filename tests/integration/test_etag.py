"""Conditional GETs: every public GET of the API carries an ETag keyed on the data revision, and
answers If-None-Match with 304; a change to the stores is seen at once."""

import pytest

from o2o.storage import open_repository

pytestmark = pytest.mark.both_backends

PUBLIC = [
    "/api/v1/stores/nearby?lat=31.23&lon=121.47",
    "/api/v1/stores/nearby?lat=31.23&lon=121.47&q=uniqlo",
    "/api/v1/stores?bbox=121.40,31.18,121.55,31.28&zoom=13",
    "/api/v1/stores/1",
    "/api/v1/stores/1/qr.svg",
    "/api/v1/brands",
    "/api/v1/places?q=shanghai",
    "/api/v1/suggest?q=uniq",
]


@pytest.mark.parametrize("path", PUBLIC)
def test_every_public_get_has_an_etag_and_answers_304(client, path):
    first = client.get(path)
    assert first.status_code == 200 and first.headers.get("ETag")
    again = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == first.headers["ETag"]
    # Several tags, or a weak one, as caches send them.
    listed = client.get(path, headers={"If-None-Match": f'"other", W/{first.headers["ETag"]}'})
    assert listed.status_code == 304
    stale = client.get(path, headers={"If-None-Match": '"something-else"'})
    assert stale.status_code == 200 and stale.data == first.data


def test_a_change_to_the_stores_is_seen_at_once(client, db_url):
    path = "/api/v1/stores/nearby?lat=31.2330&lon=121.4760&k=1"
    first = client.get(path)
    tag = first.headers["ETag"]
    other = open_repository(db_url)  # another worker's write
    other.update_store(first.get_json()["features"][0]["id"], {"name": "改名后的店"})
    other.close()
    after = client.get(path, headers={"If-None-Match": tag})
    assert after.status_code == 200 and after.headers["ETag"] != tag
    assert after.get_json()["features"][0]["properties"]["name"] == "改名后的店"


def test_tags_differ_by_query_and_errors_have_none(client):
    a = client.get("/api/v1/stores/nearby?lat=31.23&lon=121.47&k=1").headers["ETag"]
    b = client.get("/api/v1/stores/nearby?lat=31.23&lon=121.47&k=2").headers["ETag"]
    assert a != b
    bad = client.get("/api/v1/stores/nearby?lat=91&lon=121.47")
    assert bad.status_code == 400 and "ETag" not in bad.headers
    assert client.get("/api/v1/stores/99999").headers.get("ETag") is None


def test_answers_to_a_key_holder_are_not_tagged(client, keys):
    r = client.get("/api/v1/stores/1", headers={"Authorization": f"Bearer {keys['retailer']}"})
    assert "ETag" not in r.headers
