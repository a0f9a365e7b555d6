"""The analytics API: counts checked against independent counts, keys, exports."""

import csv
import io
import re
from collections import Counter
from contextlib import nullcontext

import h3
import pytest

from o2o.web import create_app

from .. import conftest
from ..conftest import bearer


@pytest.fixture(scope="module", params=["sqlite", "postgis"])
def analytics_app(request, tmp_path_factory):
    if request.param == "postgis":
        database = conftest.pg_database(request.getfixturevalue("postgis_template"))
    else:
        database = nullcontext(f"sqlite:///{tmp_path_factory.mktemp('analytics') / 'o2o.db'}")
    with database as url:
        app = create_app({"DATABASE_URL": url, "SEED_STORES": 1500, "SEED_SCANS": 30000,
                          "SECRET_KEY": "t", "TILES": "none"})
        from o2o.services import accounts

        repo = app.extensions["o2o"].repo()
        _, akey = accounts.create_analyst(repo, "Ana")
        _, rkey = accounts.create_retailer(repo, "Retail Co", ["retail.tmall.com"])
        app.config["TEST_KEYS"] = {"analyst": akey, "retailer": rkey, "db": url}
        yield app


@pytest.fixture
def ac(analytics_app):
    return analytics_app.test_client()


@pytest.fixture
def akey(analytics_app):
    return analytics_app.config["TEST_KEYS"]["analyst"]


def sql(app, query, params=()):
    """Raw SQL on the app's database; on PostgreSQL, ``counted`` is a boolean and times are timestamptz."""
    url = app.config["TEST_KEYS"]["db"]
    if url.startswith("postgresql"):
        query = re.sub(r"counted\s*=\s*1", "counted", query)
        query = re.sub(r"scanned_at (>=|<) \?", r"scanned_at \1 to_timestamp(?)", query)
    return conftest.sql(url, query, params)


def test_analytics_needs_an_analyst_key(ac, analytics_app):
    for path in ("/api/v1/analytics/heatmap?layer=scans", "/api/v1/analytics/timeseries",
                 "/api/v1/analytics/regions", "/api/v1/analytics/coverage"):
        assert ac.get(path).status_code == 401
        assert ac.get(path, headers=bearer("o2o_a_1_" + "x" * 43)).status_code == 401
        assert ac.get(path, headers=bearer(analytics_app.config["TEST_KEYS"]["retailer"])).status_code == 403


def test_scan_heatmap_counts_match_an_independent_count(ac, akey, analytics_app):
    r = ac.get("/api/v1/analytics/heatmap?layer=scans&res=6", headers=bearer(akey))
    body = r.get_json()
    assert r.status_code == 200 and body["type"] == "FeatureCollection"
    got = {f["properties"]["h3"]: f["properties"]["count"] for f in body["features"]}
    # Independently: every counted scan, put in its cell one by one with the h3 library.
    rows = sql(analytics_app, "SELECT lat, lon FROM scans WHERE counted = 1")
    want = Counter(h3.latlng_to_cell(lat, lon, 6) for lat, lon in rows)
    assert got == dict(want)
    assert body["total"] == len(rows) == sum(got.values())
    f = body["features"][0]
    assert f["geometry"]["type"] == "Polygon" and set(f["properties"]) == {"h3", "count"}


def test_store_heatmap_counts_open_stores(ac, akey, analytics_app):
    body = ac.get("/api/v1/analytics/heatmap?layer=stores&res=5&brand=Uniqlo", headers=bearer(akey)).get_json()
    n = sql(analytics_app, "SELECT count(*) FROM stores WHERE status = 'open' AND brand = 'Uniqlo'")[0][0]
    assert sum(f["properties"]["count"] for f in body["features"]) == body["total"] == n


def test_time_window_is_inclusive_then_exclusive(ac, akey, analytics_app):
    since, until = "2026-11-11T00:00:00+08:00", "2026-11-11T01:00:00+08:00"
    body = ac.get(f"/api/v1/analytics/heatmap?layer=scans&res=4&since={since.replace('+', '%2B')}"
                  f"&until={until.replace('+', '%2B')}", headers=bearer(akey)).get_json()
    lo, hi = 1794326400, 1794326400 + 3600  # 2026-11-11 00:00 and 01:00 Beijing, as UTC epoch seconds
    n = sql(analytics_app, "SELECT count(*) FROM scans WHERE counted = 1 AND scanned_at >= ? AND scanned_at < ?", (lo, hi))[0][0]
    assert body["total"] == n > 0
    utc = ac.get("/api/v1/analytics/heatmap?layer=scans&res=4&since=2026-11-10T16:00:00&until=2026-11-10T17:00:00",
                 headers=bearer(akey)).get_json()
    assert utc["total"] == n  # no zone given = UTC


def test_timeseries_adds_up_and_peaks_on_the_festival(ac, akey, analytics_app):
    body = ac.get("/api/v1/analytics/timeseries", headers=bearer(akey)).get_json()
    total = sql(analytics_app, "SELECT count(*) FROM scans WHERE counted = 1")[0][0]
    assert body["total"] == total == sum(p["scans"] for p in body["series"])
    peak = max(body["series"], key=lambda p: p["scans"])
    assert peak["hour"].startswith("2026-11-11T00:00:00+08:00")


def test_regions_table(ac, akey, analytics_app):
    rows = ac.get("/api/v1/analytics/regions?level=province", headers=bearer(akey)).get_json()["rows"]
    assert sum(r["stores"] for r in rows) == sql(analytics_app, "SELECT count(*) FROM stores WHERE status='open'")[0][0]
    top = rows[0]
    want = sql(analytics_app, "SELECT brand, count(*) c FROM scans WHERE counted=1 AND province=? GROUP BY brand "
                              "ORDER BY c DESC, brand LIMIT 1", (top["province"],))[0][0]
    assert top["top_brand"] == want
    assert top["scans_per_store"] == pytest.approx(top["scans"] / top["stores"], abs=0.01)
    cities = ac.get("/api/v1/analytics/regions?level=city", headers=bearer(akey)).get_json()["rows"]
    assert len(cities) > len(rows)


def test_coverage(ac, akey):
    body = ac.get("/api/v1/analytics/coverage", headers=bearer(akey)).get_json()
    national = body["provinces"][0]
    assert 0 < national["share_1km"] <= national["share_3km"] <= national["share_5km"] <= 1
    assert body["gaps"] and all(g["nearest_store_m"] > 5000 for g in body["gaps"])
    pops = [g["population"] for g in body["gaps"]]
    assert pops == sorted(pops, reverse=True)


@pytest.mark.parametrize("query, field", [
    ("layer=trees", "layer"), ("layer=scans&res=2", "res"), ("layer=scans&res=10", "res"),
    ("layer=scans&since=yesterday", "since"), ("layer=scans&until=2026-13-01", "until"),
    ("layer=scans&since=2026-11-12&until=2026-11-11", "until"), ("layer=scans&format=xlsx", "format"),
    ("layer=scans&bbox=1,2,3", "bbox"), ("res=5", "layer"),
])
def test_bad_parameters_are_400s_naming_the_field(ac, akey, query, field):
    r = ac.get(f"/api/v1/analytics/heatmap?{query}", headers=bearer(akey))
    assert r.status_code == 400 and r.get_json()["error"]["field"] == field


def test_csv_exports_escape_formulas(ac, akey, analytics_app):
    sql(analytics_app, "UPDATE stores SET brand = '=HYPERLINK(\"http://evil\")' WHERE city = "
        "(SELECT city FROM scans GROUP BY city ORDER BY count(*) DESC, city LIMIT 1)")
    r = ac.get("/api/v1/analytics/regions?level=city&format=csv", headers=bearer(akey))
    assert r.mimetype == "text/csv"
    text = r.get_data(as_text=True).lstrip("\ufeff")
    cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
    assert not any(c.startswith(("=", "+", "-", "@")) for c in cells)
    assert any(c.startswith("'=HYPERLINK") for c in cells)
    for path in ("heatmap?layer=scans&res=4&format=csv", "timeseries?format=csv", "coverage?format=csv",
                 "coverage?format=csv&view=gaps"):
        assert ac.get(f"/api/v1/analytics/{path}", headers=bearer(akey)).mimetype == "text/csv"


def test_viewport_bbox_limits_cells_and_counts(ac, akey):
    whole = ac.get("/api/v1/analytics/heatmap?layer=stores&res=7", headers=bearer(akey)).get_json()
    east = ac.get("/api/v1/analytics/heatmap?layer=stores&res=7&bbox=118,28,123,33", headers=bearer(akey)).get_json()
    assert 0 < east["total"] < whole["total"] and len(east["features"]) < len(whole["features"])


def test_a_window_of_centuries_is_answered_with_the_hours_that_hold_data(ac, akey):
    r = ac.get("/api/v1/analytics/timeseries?since=0001-01-01&until=9999-12-31", headers=bearer(akey))
    body = r.get_json()
    assert r.status_code == 200 and 200 < len(body["series"]) <= 12 * 24
