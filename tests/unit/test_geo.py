"""Distances, coordinate systems, hours and clustering: pure functions, no I/O."""

import math
from datetime import datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from o2o.geo import crs
from o2o.geo.clustering import cluster_points
from o2o.geo.distance import EARTH_RADIUS_M, chord_to_m, haversine_m, m_to_chord, unit_vectors
from o2o.geo.hours import HoursError, is_open_at, normalise_hours

lons = st.floats(-180, 180, allow_nan=False)
lats = st.floats(-89.9, 89.9, allow_nan=False)
china_lons = st.floats(73.5, 134.8, allow_nan=False)
china_lats = st.floats(18.2, 53.5, allow_nan=False)


def test_haversine_uses_the_contract_sphere():
    # A quarter of a meridian on a sphere of radius 6,371,008.8 m.
    assert haversine_m(0, 0, 0, 90) == pytest.approx(math.pi / 2 * EARTH_RADIUS_M, rel=1e-12)


def test_beijing_to_shanghai_is_about_1067_km():
    assert haversine_m(116.3975, 39.9087, 121.4737, 31.2304) == pytest.approx(1_067_900, rel=2e-3)


@given(lons, lats, lons, lats)
def test_chord_distance_equals_haversine(lon1, lat1, lon2, lat2):
    a, b = unit_vectors([lon1], [lat1])[0], unit_vectors([lon2], [lat2])[0]
    chord = float(np.linalg.norm(a - b))
    assert chord_to_m(chord) == pytest.approx(haversine_m(lon1, lat1, lon2, lat2), abs=1e-3, rel=1e-9)


@given(st.floats(0, 20_000_000))
def test_metres_to_chord_round_trips(d):
    assert chord_to_m(m_to_chord(d)) == pytest.approx(d, abs=1e-4, rel=1e-9)


# Published test vectors: wandergis/coordtransform's examples (also hutool's CoordinateUtilTest)
# and geotool's CLI tests. The forward formulas must match them to the last digits.
@pytest.mark.parametrize("wgs, gcj, tol_deg", [
    ((116.404, 39.915), (116.41024449916938, 39.91640428150164), 1e-9),
    # geotool's implementation differs from the reference one in the 8th decimal (~1 cm).
    ((121.0917077, 30.6107779), (121.09626935575027, 30.608604331756705), 2e-7),
])
def test_wgs84_to_gcj02_matches_published_vectors(wgs, gcj, tol_deg):
    assert crs.wgs84_to_gcj02(*wgs) == pytest.approx(gcj, abs=tol_deg)


@pytest.mark.parametrize("gcj, bd", [
    ((116.404, 39.915), (116.41036949371029, 39.92133699351021)),
    ((121.09626935575027, 30.608604331756705), (121.10271732371203, 30.61484572185035)),
])
def test_gcj02_to_bd09_matches_published_vectors(gcj, bd):
    assert crs.gcj02_to_bd09(*gcj) == pytest.approx(bd, abs=1e-9)


def test_inverses_beat_the_published_one_step_formulas():
    # coordtransform's one-step gcj02towgs84(116.404, 39.915) and bd09togcj02(116.404, 39.915):
    one_step_wgs = (116.39775550083061, 39.91359571849836)
    one_step_gcj = (116.39762729119315, 39.90865673957631)
    ours_wgs = crs.gcj02_to_wgs84(116.404, 39.915)
    ours_gcj = crs.bd09_to_gcj02(116.404, 39.915)
    # Same answer to within a few metres...
    assert haversine_m(*ours_wgs, *one_step_wgs) < 5
    assert haversine_m(*ours_gcj, *one_step_gcj) < 5
    # ...but ours goes back to the input exactly, and the one-step answers do not.
    assert haversine_m(*crs.wgs84_to_gcj02(*ours_wgs), 116.404, 39.915) < 0.001
    assert haversine_m(*crs.gcj02_to_bd09(*ours_gcj), 116.404, 39.915) < 0.001
    assert haversine_m(*crs.wgs84_to_gcj02(*one_step_wgs), 116.404, 39.915) > 0.01


def test_gcj02_is_identity_outside_china():
    assert crs.wgs84_to_gcj02(2.35, 48.85) == (2.35, 48.85)


@settings(max_examples=300)
@given(china_lons, china_lats)
def test_gcj02_round_trip_is_within_a_centimetre(lon, lat):
    g = crs.wgs84_to_gcj02(lon, lat)
    back = crs.gcj02_to_wgs84(*g)
    assert haversine_m(lon, lat, *back) < 0.01


@settings(max_examples=300)
@given(china_lons, china_lats)
def test_bd09_round_trip_is_within_a_centimetre(lon, lat):
    b = crs.wgs84_to_bd09(lon, lat)
    back = crs.bd09_to_wgs84(*b)
    assert haversine_m(lon, lat, *back) < 0.01


def test_one_step_inverse_would_be_off_by_metres_but_ours_is_not():
    lon, lat = 116.3975, 39.9087
    g_lon, g_lat = crs.wgs84_to_gcj02(lon, lat)
    f_lon, f_lat = crs.wgs84_to_gcj02(g_lon, g_lat)
    one_step = (2 * g_lon - f_lon, 2 * g_lat - f_lat)
    assert haversine_m(lon, lat, *one_step) > 0.05
    assert haversine_m(lon, lat, *crs.gcj02_to_wgs84(g_lon, g_lat)) < 0.001


def test_vectorised_conversion_matches_scalar():
    lon = np.array([116.39, 121.47, 113.26])
    lat = np.array([39.90, 31.23, 23.13])
    v_lon, v_lat = crs.wgs84_to_gcj02(lon, lat)
    for i in range(3):
        assert (v_lon[i], v_lat[i]) == pytest.approx(crs.wgs84_to_gcj02(lon[i], lat[i]))


@pytest.mark.parametrize("name, expected", [("GCJ-02", "gcj02"), ("amap", "gcj02"), ("BD09", "bd09"),
                                            ("百度", "bd09"), ("WGS84", "wgs84"), ("", "wgs84")])
def test_crs_names_are_normalised(name, expected):
    assert crs.normalise_crs(name) == expected


def test_unknown_crs_is_rejected():
    with pytest.raises(ValueError):
        crs.normalise_crs("utm50")


@pytest.mark.parametrize("text, canon", [
    ("10:00-22:00", "10:00-22:00"),
    ("９：３０～２１：３０", "09:30-21:30"),
    ("10:00至22:00", "10:00-22:00"),
    ("10:00-14:00, 17:00-22:00", "10:00-14:00,17:00-22:00"),
    ("24小时", "00:00-24:00"),
    ("22:00-02:00", "22:00-02:00"),
])
def test_hours_are_normalised(text, canon):
    assert normalise_hours(text) == canon


@pytest.mark.parametrize("bad", ["", "open late", "25:00-26:00", "10:00-10:00", "10:61-12:00"])
def test_bad_hours_are_rejected(bad):
    with pytest.raises(HoursError):
        normalise_hours(bad)


def test_open_now_handles_overnight_ranges():
    assert is_open_at("22:00-02:00", datetime(2026, 11, 11, 23, 0)) is True
    assert is_open_at("22:00-02:00", datetime(2026, 11, 11, 1, 59)) is True
    assert is_open_at("22:00-02:00", datetime(2026, 11, 11, 2, 0)) is False
    assert is_open_at("10:00-22:00", datetime(2026, 11, 11, 9, 59)) is False
    assert is_open_at(None, datetime(2026, 11, 11, 12, 0)) is None


def test_clusters_never_exceed_the_feature_limit():
    rng = np.random.default_rng(3)
    lon, lat = rng.uniform(100, 120, 20_000), rng.uniform(20, 40, 20_000)
    for zoom in (3, 5, 8, 12, 18):
        c = cluster_points(lon, lat, zoom, max_features=500)
        assert len(c.singles) + len(c.count) <= 500
        assert len(c.singles) + int(c.count.sum()) == 20_000


def test_clusters_keep_every_point_once_and_bound_them():
    rng = np.random.default_rng(4)
    lon, lat = rng.uniform(121.4, 121.5, 300), rng.uniform(31.2, 31.3, 300)
    c = cluster_points(lon, lat, 12)
    assert len(c.singles) + int(c.count.sum()) == 300
    assert np.all(c.bbox[:, 0] <= c.lon) and np.all(c.lon <= c.bbox[:, 2])


def test_high_zoom_shows_stores_individually():
    c = cluster_points([121.0, 121.00001], [31.0, 31.0], zoom=18)
    assert c.singles.tolist() == [0, 1] and len(c.count) == 0
