"""The spatial index answers exactly what a brute-force great-circle scan answers."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from o2o.geo.distance import haversine_m
from o2o.geo.index import StoreIndex

BRANDS = ["Uniqlo", "GAP", "Haier", "Gome"]
CATS = ["Apparel", "Electronics"]


def make_world(seed, n):
    rng = np.random.default_rng(seed)
    # Clustered like real stores: a few city centres with dense malls, some spread.
    centres = rng.uniform([100, 22], [122, 42], size=(8, 2))
    which = rng.integers(0, 8, n)
    lon = centres[which, 0] + rng.normal(0, 0.05, n)
    lat = centres[which, 1] + rng.normal(0, 0.05, n)
    ids = rng.permutation(np.arange(1, n + 1) * 7)
    brands = rng.choice(BRANDS, n)
    retailers = np.array([b + " Co" for b in brands])
    cats = rng.choice(CATS, n)
    return ids, lon, lat, brands, retailers, cats, centres


def brute(q_lon, q_lat, ids, lon, lat, mask, k, radius_m=None):
    d = haversine_m(q_lon, q_lat, lon, lat)
    keep = mask.copy()
    if radius_m is not None:
        keep &= d <= radius_m
    order = np.lexsort((ids[keep], d[keep]))[:k]
    return ids[keep][order], d[keep][order]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 3000), k=st.integers(1, 50),
       radius_km=st.one_of(st.none(), st.floats(0.05, 60)),
       brand=st.one_of(st.none(), st.sampled_from(BRANDS)),
       category=st.one_of(st.none(), st.sampled_from(CATS)),
       n_closed=st.integers(0, 200), n_moved=st.integers(0, 50))
def test_index_matches_brute_force(seed, n, k, radius_km, brand, category, n_closed, n_moved):
    ids, lon, lat, brands, retailers, cats, centres = make_world(seed, n)
    idx = StoreIndex(min_rebuild=10_000)  # keep changes in the delta: that path must be exact too
    idx.load(ids, lon, lat, brands, retailers, cats)
    rng = np.random.default_rng(seed + 1)
    alive = np.ones(n, dtype=bool)
    for j in rng.choice(n, size=min(n_closed, n), replace=False):
        idx.remove(int(ids[j]))
        alive[j] = False
    for j in rng.choice(n, size=min(n_moved, n), replace=False):
        lon[j] += rng.normal(0, 0.02)
        lat[j] += rng.normal(0, 0.02)
        idx.upsert(int(ids[j]), lon[j], lat[j], brands[j], retailers[j], cats[j])
        alive[j] = True
    c = centres[rng.integers(0, len(centres))]
    q_lon, q_lat = c[0] + rng.normal(0, 0.1), c[1] + rng.normal(0, 0.1)
    mask = alive.copy()
    if brand:
        mask &= brands == brand
    if category:
        mask &= cats == category
    radius_m = None if radius_km is None else radius_km * 1000
    got_ids, got_d = idx.nearest(q_lon, q_lat, k=k, radius_m=radius_m,
                                 brands=[brand] if brand else None,
                                 categories=[category] if category else None)
    want_ids, want_d = brute(q_lon, q_lat, ids, lon, lat, mask, k, radius_m)
    np.testing.assert_allclose(got_d, want_d, atol=1e-6, rtol=1e-9)
    assert got_ids.tolist() == want_ids.tolist()


def test_compaction_keeps_answers():
    ids, lon, lat, brands, retailers, cats, centres = make_world(7, 2000)
    idx = StoreIndex(min_rebuild=50, rebuild_fraction=0.0)
    idx.load(ids, lon, lat, brands, retailers, cats)
    for j in range(0, 300):
        idx.upsert(int(ids[j]), lon[j] + 0.01, lat[j], brands[j], retailers[j], cats[j])
        lon[j] += 0.01
    assert len(idx._delta) < 300  # compacted along the way
    q = centres[0]
    got, _ = idx.nearest(q[0], q[1], k=25)
    want, _ = brute(q[0], q[1], ids, lon, lat, np.ones(2000, bool), 25)
    assert got.tolist() == want.tolist()
    assert len(idx) == 2000


def test_closed_store_leaves_the_index_and_comes_back_when_reopened():
    idx = StoreIndex()
    idx.load([1, 2], [121.0, 121.1], [31.0, 31.0], ["A", "A"], ["R", "R"], ["C", "C"])
    idx.remove(1)
    assert idx.nearest(121.0, 31.0, k=1)[0].tolist() == [2]
    idx.upsert(1, 121.0, 31.0, "A", "R", "C")
    assert idx.nearest(121.0, 31.0, k=1)[0].tolist() == [1]
    assert 1 in idx and len(idx) == 2


def test_unknown_filter_value_finds_nothing():
    idx = StoreIndex()
    idx.load([1], [121.0], [31.0], ["A"], ["R"], ["C"])
    assert len(idx.nearest(121.0, 31.0, brands=["Nope"])[0]) == 0


def test_several_brands_are_ored():
    idx = StoreIndex()
    idx.load([1, 2, 3], [121.0, 121.01, 121.02], [31.0] * 3, ["A", "B", "C"], ["R"] * 3, ["X"] * 3)
    assert idx.nearest(121.0, 31.0, k=5, brands=["C", "A"])[0].tolist() == [1, 3]


def test_bbox_query_returns_only_open_stores_inside():
    ids, lon, lat, brands, retailers, cats, _ = make_world(11, 3000)
    idx = StoreIndex()
    idx.load(ids, lon, lat, brands, retailers, cats)
    idx.remove(int(ids[0]))
    box = (lon[0] - 0.5, lat[0] - 0.5, lon[0] + 0.5, lat[0] + 0.5)
    got_ids, _, _ = idx.in_bbox(*box, brands=["GAP"])
    inside = (lon >= box[0]) & (lon <= box[2]) & (lat >= box[1]) & (lat <= box[3]) & (brands == "GAP")
    inside[0] = False
    assert sorted(got_ids.tolist()) == sorted(ids[inside].tolist())


def test_empty_index_answers_empty():
    idx = StoreIndex()
    ids, d = idx.nearest(121.0, 31.0, k=5, radius_m=1000)
    assert len(ids) == 0 and len(d) == 0


@pytest.mark.parametrize("k", [1, 2, 20])
def test_k_larger_than_the_index(k):
    idx = StoreIndex()
    idx.load([5], [121.0], [31.0], ["A"], ["R"], ["C"])
    assert idx.nearest(0.0, 0.0, k=k)[0].tolist() == [5]
