"""Vector tiles' maths (o2o.geo.tiles): every store in exactly one tile per zoom, clusters that
add up, the MVT encoding round trip."""

from __future__ import annotations

import numpy as np
import pytest

from o2o.geo import tiles

RNG = np.random.default_rng(11)
# Dense towns (the way stores crowd into malls) and a scatter over China, plus the map's edges.
LON = np.r_[RNG.normal(121.47, 0.05, 400), RNG.normal(116.40, 0.2, 200), RNG.uniform(75, 134, 400),
            -180.0, 180.0, 0.0]
LAT = np.r_[RNG.normal(31.23, 0.05, 400), RNG.normal(39.90, 0.2, 200), RNG.uniform(18, 53, 400),
            0.0, 0.0, 89.9]


def occupied_tiles(z: int) -> set[tuple[int, int]]:
    px, py = tiles.pixels(LON, LAT, z)
    last = 2 ** z - 1
    return set(zip(np.minimum(px // 256, last).astype(int).tolist(), np.minimum(py // 256, last).astype(int).tolist()))


@pytest.mark.parametrize("z", [0, 2, 5, 9, 13, 17])
def test_each_store_is_in_exactly_one_tile_and_the_points_add_up(z):
    total = 0
    for x, y in occupied_tiles(z):
        groups = tiles.tile_groups(LON, LAT, z, x, y)
        total += groups.total
        assert ((groups.single_xy >= 0) & (groups.single_xy <= tiles.EXTENT)).all()
        assert ((groups.cluster_xy >= 0) & (groups.cluster_xy <= tiles.EXTENT)).all()
        assert (groups.count >= 2).all()
    assert total == len(LON)


@pytest.mark.parametrize("z", [3, 8, 12, 16])
def test_the_four_children_of_a_tile_hold_its_stores(z):
    for x, y in sorted(occupied_tiles(z))[::7]:  # a sample: every tile would take seconds
        parent = tiles.tile_groups(LON, LAT, z, x, y).total
        children = sum(tiles.tile_groups(LON, LAT, z + 1, 2 * x + dx, 2 * y + dy).total
                       for dx in (0, 1) for dy in (0, 1))
        assert children == parent


def test_stores_are_clustered_below_zoom_17_and_alone_from_it():
    x, y = 109796, 53563  # a zoom-17 tile in central Shanghai
    lon = np.full(5, tiles.tile_bounds(17, x, y)[0] + 1e-4)
    lat = np.full(5, tiles.tile_bounds(17, x, y)[3] - 1e-4)
    assert tiles.tile_groups(lon, lat, 17, x, y).count.tolist() == []
    assert len(tiles.tile_groups(lon, lat, 17, x, y).singles) == 5
    assert tiles.tile_groups(lon, lat, 16, x // 2, y // 2).count.tolist() == [5]


def test_a_tile_holds_at_most_sixteen_clusters_and_its_lone_stores():
    z, (x, y) = 6, max(occupied_tiles(6), key=lambda t: tiles.tile_groups(LON, LAT, 6, *t).total)
    groups = tiles.tile_groups(LON, LAT, z, x, y)
    assert len(groups.singles) + len(groups.count) <= 16


def test_tile_bounds_hold_the_tiles_stores():
    w, s, e, n = tiles.tile_bounds(10, 857, 418)
    assert w < 121.47 < e and s < 31.23 < n
    px, py = tiles.pixels([121.47], [31.23], 10)
    assert tiles.in_tile(px, py, 10, 857, 418).all()


def test_encode_and_decode_round_trip():
    groups = tiles.tile_groups([121.47, 121.4701, 116.39], [31.23, 31.2301, 39.90], z=4, x=13, y=6)
    label = {"id": 9, "name": "优衣库(西单店)", "brand": "Uniqlo", "category": "Apparel"}
    features = tiles.decode(tiles.encode(groups, [label]))
    store, cluster = sorted(features, key=lambda f: "cluster" in f["properties"])
    assert store["id"] == 9 and store["properties"] == label
    assert (store["x"], store["y"]) == tuple(groups.single_xy[0])
    assert cluster["properties"] == {"cluster": True, "point_count": 2}
    assert (cluster["x"], cluster["y"]) == tuple(groups.cluster_xy[0])


def test_a_tile_without_stores_is_empty():
    assert tiles.encode(tiles.tile_groups([], [], 3, 1, 1), []) == b""
    assert tiles.decode(b"") == []
