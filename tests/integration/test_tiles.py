"""``GET /tiles/stores/{z}/{x}/{y}.mvt`` over HTTP: the points add up to the open stores of the
tile (counted from the index), the children to their parent; labels, filters, ETag and 304,
compression, errors naming the field."""

from __future__ import annotations

import numpy as np
import pytest

from o2o.geo import tiles
from o2o.storage import open_repository
from o2o.web import compression

IDENTITY = {"Accept-Encoding": "identity"}


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    px, py = tiles.pixels([lon], [lat], z)
    return int(px[0] // 256), int(py[0] // 256)


def get_tile(client, z, x, y, query=""):
    r = client.get(f"/tiles/stores/{z}/{x}/{y}.mvt{query}", headers=IDENTITY)
    assert r.status_code == 200, r.data[:300]
    assert r.mimetype == "application/vnd.mapbox-vector-tile"
    return tiles.decode(r.data)


def points_in(features) -> int:
    return sum(f["properties"].get("point_count", 1) for f in features)


def stores_in_bounds(app, z, x, y, brand=None) -> int:
    with app.app_context():
        ids, _, _ = app.extensions["o2o"].index_sync.index.in_bbox(*tiles.tile_bounds(z, x, y),
                                                                   brands=[brand] if brand else None)
    return len(ids)


@pytest.fixture(scope="module")
def client(seeded_app):
    return seeded_app.test_client()


@pytest.fixture(scope="module")
def here(client):
    """Where the tiles are looked at: the store nearest People's Square (Shanghai)."""
    nearest = client.get("/api/v1/stores/nearby?lat=31.2304&lon=121.4737&k=1").get_json()["features"][0]
    return tuple(nearest["geometry"]["coordinates"])


@pytest.mark.parametrize("z", [0, 4, 7, 10, 13, 16])
def test_a_tiles_points_add_up_to_the_open_stores_inside_it(seeded_app, client, here, z):
    x, y = tile_of(*here, z)
    for dx, dy in ((0, 0), (-1, 0), (0, 1)):
        if not (0 <= x + dx < 2 ** z and 0 <= y + dy < 2 ** z):
            continue
        features = get_tile(client, z, x + dx, y + dy)
        assert points_in(features) == stores_in_bounds(seeded_app, z, x + dx, y + dy)
    assert points_in(get_tile(client, z, x, y)) > 0


@pytest.mark.parametrize("z", [2, 5, 8, 11, 14])
def test_the_four_children_add_up_to_their_parent(client, here, z):
    x, y = tile_of(*here, z)
    parent = points_in(get_tile(client, z, x, y))
    children = sum(points_in(get_tile(client, z + 1, 2 * x + dx, 2 * y + dy)) for dx in (0, 1) for dy in (0, 1))
    assert parent > 0 and children == parent


def test_a_store_is_a_point_with_its_id_name_brand_and_category(seeded_app, client, here):
    features = get_tile(client, 14, *tile_of(*here, 14))
    stores = [f for f in features if "cluster" not in f["properties"]]
    assert stores
    repo = open_repository(seeded_app.config["O2O"]["DATABASE_URL"])
    try:
        for f in stores:
            store = repo.get_store(f["id"])
            assert f["properties"] == {k: store[k] for k in ("id", "name", "brand", "category")}
            assert store["status"] == "open"
    finally:
        repo.close()
    clusters = [f for f in features if "cluster" in f["properties"]]
    assert all(f["properties"]["point_count"] >= 2 for f in clusters)


def test_the_brand_filter_keeps_that_brands_stores(seeded_app, client, here):
    brand = client.get("/api/v1/brands").get_json()[0]["name"]
    for z in (3, 9):
        x, y = tile_of(*here, z)
        features = get_tile(client, z, x, y, f"?brand={brand}")
        assert points_in(features) == stores_in_bounds(seeded_app, z, x, y, brand) > 0
        assert {f["properties"]["brand"] for f in features if "brand" in f["properties"]} <= {brand}


def test_a_tile_has_an_etag_a_cache_policy_and_answers_304(client, here):
    path = "/tiles/stores/6/{}/{}.mvt".format(*tile_of(*here, 6))
    first = client.get(path, headers=IDENTITY)
    assert first.headers["ETag"] and first.headers["Cache-Control"] == "no-cache"
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    again = client.get(path, headers={"If-None-Match": first.headers["ETag"], **IDENTITY})
    assert again.status_code == 304 and again.data == b""
    other = client.get("/tiles/stores/6/0/0.mvt", headers=IDENTITY)
    assert other.headers["ETag"] != first.headers["ETag"]


def test_a_tile_without_stores_is_an_empty_200_with_an_etag(client):
    r = client.get("/tiles/stores/5/0/0.mvt", headers=IDENTITY)  # the Pacific off Alaska
    assert r.status_code == 200 and r.data == b"" and r.headers["ETag"]


def test_tiles_are_compressed_like_the_apis_data(client, here, monkeypatch):
    monkeypatch.setattr(compression, "MIN_BYTES", 0)
    path = "/tiles/stores/12/{}/{}.mvt".format(*tile_of(*here, 12))
    plain = client.get(path, headers=IDENTITY)
    packed = client.get(path, headers={"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip" and len(packed.data) < len(plain.data)
    assert packed.headers["ETag"] == plain.headers["ETag"][:-1] + ':gzip"'


@pytest.mark.parametrize("path, field", [
    ("/tiles/stores/21/0/0.mvt", "z"), ("/tiles/stores/-1/0/0.mvt", "z"), ("/tiles/stores/a/0/0.mvt", "z"),
    ("/tiles/stores/3/8/0.mvt", "x"), ("/tiles/stores/3/0/8.mvt", "y"), ("/tiles/stores/3/0/1e1.mvt", "y"),
    ("/tiles/stores/3/1.5/0.mvt", "x"), ("/tiles/stores/3/0/0.mvt?brand=" + "x" * 201, "brand"),
])
def test_a_tile_outside_the_map_is_a_400_naming_the_field(client, path, field):
    r = client.get(path)
    assert r.status_code == 400
    assert r.get_json()["error"]["field"] == field


def test_a_renamed_or_closed_store_is_seen_in_the_next_tile(app):
    client = app.test_client()
    z, (x, y) = 17, tile_of(121.4760, 31.2330, 17)  # 优衣库(来福士店), alone at this zoom
    [store] = [f for f in get_tile(client, z, x, y) if f["properties"]["name"] == "优衣库(来福士店)"]
    other = open_repository(app.config["O2O"]["DATABASE_URL"])  # another worker's writes
    other.update_store(store["id"], {"name": "改名后的店"})
    names = {f["properties"]["name"] for f in get_tile(client, z, x, y)}
    assert "改名后的店" in names and "优衣库(来福士店)" not in names
    other.update_store(store["id"], {"status": "closed"})
    other.close()
    assert store["id"] not in {f["id"] for f in get_tile(client, z, x, y)}
