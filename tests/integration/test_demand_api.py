"""The demand endpoints (issue 17): analysts' H3 cells and regions, retailers' suggestions and reach."""

from __future__ import annotations

import pytest

from o2o.geo import h3agg
from o2o.services import accounts
from o2o.storage import open_repository

from ..conftest import bearer

pytestmark = pytest.mark.both_backends

T0 = 1_794_326_400  # 11 Nov 00:00 Beijing
NANJING = (118.7969, 32.0603)     # a big city with no Uniqlo in the test data
PEOPLE_SQ = (121.4760, 31.2330)   # beside the Uniqlo stores


def _cell(lon, lat):
    return int(h3agg.cells([lon], [lat], 9)[0])


@pytest.fixture
def demand_app(app, db_url, keys):
    repo = open_repository(db_url)
    rows = [(T0 + i, _cell(*NANJING), "nearby", "优衣库", "Uniqlo", None, None, None, 0, 260_000.0) for i in range(5)]
    rows += [(T0 + 3600 + i, _cell(*PEOPLE_SQ), "nearby", "优衣库", "Uniqlo", None, None, None, 3, 80.0)
             for i in range(3)]
    rows += [(T0 + 7200, _cell(*PEOPLE_SQ), "nearby", None, "GAP", None, None, None, 0, None)]
    repo.insert_searches(rows)
    fast = next(r["id"] for r in repo.list_retailers() if r["name"] == "Fast Retailing")
    keys["fast"] = accounts.rotate_key(repo, "r", fast)
    repo.close()
    return app


def test_demand_cells_count_searches_and_unmet(demand_app, client, keys):
    r = client.get("/api/v1/analytics/demand?res=7", headers=bearer(keys["analyst"]))
    assert r.status_code == 200 and r.mimetype == "application/geo+json"
    body = r.get_json()
    assert (body["searches"], body["unmet"], body["res"]) == (9, 6, 7)
    top = body["features"][0]
    assert top["properties"]["searches"] == 5 and top["properties"]["unmet"] == 5
    assert top["geometry"]["type"] == "Polygon" and len(top["properties"]["h3"]) == 15
    only = client.get("/api/v1/analytics/demand?res=9&brand=GAP&since=2026-11-11T01:00:00%2B08:00",
                      headers=bearer(keys["analyst"])).get_json()
    assert [(f["properties"]["searches"], f["properties"]["unmet"]) for f in only["features"]] == [(1, 1)]
    csv = client.get("/api/v1/analytics/demand?res=5&format=csv", headers=bearer(keys["analyst"]))
    assert csv.mimetype == "text/csv" and csv.get_data(as_text=True).splitlines()[0].lstrip("\ufeff") == \
        "h3,searches,unmet"


def test_demand_by_region_has_the_share_met(demand_app, client, keys):
    body = client.get("/api/v1/analytics/demand/regions?level=city", headers=bearer(keys["analyst"])).get_json()
    by_city = {r["city"]: r for r in body["rows"]}
    assert by_city["南京市"]["searches"] == 5 and by_city["南京市"]["share_met"] == 0
    assert by_city["上海市"]["searches"] == 4 and by_city["上海市"]["share_met"] == 0.75


@pytest.mark.parametrize("query, field", [("res=2", "res"), ("res=10", "res"), ("res=x", "res"),
                                          ("since=yesterday", "since"), ("product=0", "product"),
                                          ("bbox=1,2,3", "bbox"), ("format=xml", "format")])
def test_bad_demand_parameters_are_named(demand_app, client, keys, query, field):
    r = client.get(f"/api/v1/analytics/demand?{query}", headers=bearer(keys["analyst"]))
    assert r.status_code == 400 and r.get_json()["error"]["field"] == field


def test_demand_needs_an_analyst(demand_app, client, keys):
    assert client.get("/api/v1/analytics/demand").status_code == 401
    assert client.get("/api/v1/analytics/demand", headers=bearer(keys["retailer"])).status_code == 403


def test_suggestions_name_places_with_unmet_demand_and_no_own_store_near(demand_app, client, keys):
    r = client.get("/api/v1/retailer/suggestions?brand=Uniqlo", headers=bearer(keys["fast"]))
    assert r.status_code == 200, r.get_json()
    features = r.get_json()["features"]
    assert features, "Nanjing has unmet searches and no Uniqlo"
    first = features[0]["properties"]
    assert first["searches"] == 5 and first["population"] > 1_000_000 and "京" in first["city"]
    assert first["nearest_own_store_m"] > 200_000
    # Shanghai's searches were met: not a suggestion
    assert all(f["properties"]["city_en"] != "Shanghai" for f in features)


def test_suggestions_are_for_own_brands_only(demand_app, client, keys):
    assert client.get("/api/v1/retailer/suggestions?brand=GAP", headers=bearer(keys["fast"])).status_code == 403
    assert client.get("/api/v1/retailer/suggestions?brand=Nope", headers=bearer(keys["fast"])).status_code == 404
    r = client.get("/api/v1/retailer/suggestions", headers=bearer(keys["fast"]))
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "brand"
    assert client.get("/api/v1/retailer/suggestions?brand=Uniqlo",
                      headers=bearer(keys["analyst"])).status_code == 403


def test_each_store_shows_the_searches_that_found_it(demand_app, client, keys):
    body = client.get("/api/v1/retailer/demand/stores", headers=bearer(keys["fast"])).get_json()
    counts = {s["name"]: s["searches"] for s in body["stores"]}
    assert counts["优衣库(来福士店)"] == 3 and counts["优衣库(西单店)"] == 0
