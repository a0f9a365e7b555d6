"""PostGIS's ``ST_AsMVT`` makes the same tiles as the app makes from its index: the same stores
with the same labels, the same clusters with the same counts, at the same places (to the unit,
where summing in another order may round a cluster's centre the other way)."""

from __future__ import annotations

import pytest

from o2o.geo import tiles
from o2o.storage.postgis_tiles import store_tile_mvt
from o2o.web import create_app
from o2o.web.tiles import labels

from ..conftest import pg_database

SHANGHAI = (121.4737, 31.2304)


@pytest.fixture(scope="module")
def pg_app(postgis_template):
    with pg_database(postgis_template) as url:
        app = create_app({"DATABASE_URL": url, "SEED_STORES": 2000, "SEED_SCANS": 0, "SEED_PRODUCTS": "false",
                          "SECRET_KEY": "test", "TESTING": True, "TILES": "none"})
        yield app


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    px, py = tiles.pixels([lon], [lat], z)
    return int(px[0] // 256), int(py[0] // 256)


def both(app, z, x, y, **filters):
    from o2o.geo.index import Filters
    from o2o.services.tiles import store_tile

    state = app.extensions["o2o"]
    with app.app_context():
        repo = state.repo()
        index = state.index_sync.refresh(repo)
        ours = store_tile(index, labels(app), repo, z, x, y,
                          Filters.of(filters.get("brands"), filters.get("retailers"), filters.get("categories")))
        theirs = store_tile_mvt(repo, z, x, y, **filters)
    return tiles.decode(ours), tiles.decode(theirs)


def key(f):
    p = f["properties"]
    return (p.get("cluster", False), p.get("id", 0), f["y"] // 64, f["x"] // 64)


def assert_same(ours, theirs):
    assert len(ours) == len(theirs)
    for a, b in zip(sorted(ours, key=key), sorted(theirs, key=key)):
        assert a["properties"] == b["properties"]
        if "cluster" not in a["properties"]:
            assert a["id"] == b["id"] == a["properties"]["id"]
        assert abs(a["x"] - b["x"]) <= 1 and abs(a["y"] - b["y"]) <= 1


@pytest.mark.parametrize("z", [0, 3, 5, 8, 11, 14, 17])
def test_st_asmvt_makes_the_same_tile_as_the_index(pg_app, z):
    x, y = tile_of(*SHANGHAI, z)
    for dx, dy in ((0, 0), (1, 0), (0, -1)):
        if 0 <= x + dx < 2 ** z and 0 <= y + dy < 2 ** z:
            ours, theirs = both(pg_app, z, x + dx, y + dy)
            assert_same(ours, theirs)


def test_st_asmvt_filters_by_brand_and_retailer_alike(pg_app):
    with pg_app.app_context():  # not through a request: that would start the search index's build
        brand = max(pg_app.extensions["o2o"].repo().brand_counts(), key=lambda b: b[1])[0]
    for z in (4, 9):
        ours, theirs = both(pg_app, z, *tile_of(*SHANGHAI, z), brands=[brand])
        assert ours and {f["properties"].get("brand", brand) for f in ours} == {brand}
        assert_same(ours, theirs)


def test_an_empty_tile_is_empty_on_both(pg_app):
    assert both(pg_app, 6, 0, 0) == ([], [])
