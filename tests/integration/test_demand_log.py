"""Every shopper search is kept privately (issue 17): time, H3 cell, words, filters, results and the
nearest match; never the address, browser, cookies or the point searched from. Both backends."""

from __future__ import annotations

import pytest

from o2o.geo import h3agg
from o2o.storage.base import TABLES
from o2o.web.demand import search_log

from ..conftest import bearer, sql

pytestmark = pytest.mark.both_backends

UA = "Mozilla/5.0 (DistinctiveBrowser-7f3a9c; Test) Gecko/1999"
IP = "203.0.113.77"
LAT, LON = "31.2345678", "121.4712345"   # digits no cell or distance would repeat
HEADERS = {"User-Agent": UA, "X-Forwarded-For": IP, "Cookie": "tracker=cookie-5e1f0d"}


def _search(client, url):
    response = client.get(url, headers=HEADERS, environ_base={"REMOTE_ADDR": IP})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


@pytest.fixture
def searched(app, client, db_url):
    _search(client, f"/api/v1/stores/nearby?lat={LAT}&lon={LON}&q=优衣库")
    _search(client, f"/api/v1/stores/nearby?lat={LAT}&lon={LON}&brand=Intime&radius_km=3")
    _search(client, f"/api/v1/stores/nearby?lat={LAT}&lon={LON}&category=Electronics")
    _search(client, f"/api/v1/stores/nearby?lat={LAT}&lon={LON}")          # nothing asked: not a search
    _search(client, f"/api/v1/places?q=上海&lat={LAT}&lon={LON}")
    _search(client, "/api/v1/products?q=羽绒服")
    assert search_log(app).flush()
    return sql(db_url, "SELECT * FROM searches ORDER BY id", dicts=True)


def test_searches_are_kept_with_what_was_asked_and_how_it_went(searched):
    assert [r["kind"] for r in searched] == ["nearby", "nearby", "nearby", "places", "products"]
    uniqlo, intime, electronics, places, products = searched
    cell = int(h3agg.cells([float(LON)], [float(LAT)], 9)[0])
    assert {r["h3"] for r in searched[:4]} == {cell} and products["h3"] is None
    # words naming a brand count for it; the nearest Uniqlo is ~0.5 km away: met
    assert (uniqlo["words"], uniqlo["brand"], uniqlo["results"]) == ("优衣库", "Uniqlo", 3)
    assert 0 < uniqlo["nearest_m"] < 1000
    # Intime is only in Hangzhou: nothing within 3 km, the nearest ~165 km away (unmet)
    assert (intime["brand"], intime["results"], intime["filters"]) == ("Intime", 0, '{"radius_km": 3.0}')
    assert intime["nearest_m"] > 150_000
    assert electronics["category"] == "Electronics" and electronics["results"] == 1
    assert places["words"] == "上海" and places["results"] >= 1
    assert products["words"] == "羽绒服" and products["nearest_m"] is None


def test_no_personal_data_is_stored(searched):
    assert set(TABLES["searches"]) == set(searched[0]) == {
        "id", "searched_at", "h3", "kind", "words", "brand", "category", "product_id", "filters", "results",
        "nearest_m"}
    text = repr(searched)
    for secret in (UA, "DistinctiveBrowser", IP, "203.0.113", "cookie-5e1f0d", LAT, LON, "31.234", "121.471",
                   "2345678", "4712345"):
        assert secret not in text


def test_a_store_view_or_plain_nearby_is_not_a_search(app, client, db_url):
    _search(client, f"/api/v1/stores/nearby?lat={LAT}&lon={LON}&k=3")
    _search(client, "/api/v1/stores/1")
    assert search_log(app).flush()
    assert sql(db_url, "SELECT count(*) FROM searches") == [(0,)]


def test_retention_zero_keeps_nothing(db_url, tmp_path):
    from o2o.cli import register_commands
    from o2o.web import create_app

    app = create_app({"DATABASE_URL": db_url, "SEED_STORES": 0, "SECRET_KEY": "t", "TESTING": True,
                      "TILES": "none", "DEMAND_RETENTION_DAYS": 0})
    app.test_client().get(f"/api/v1/stores/nearby?lat={LAT}&lon={LON}&q=优衣库")
    assert search_log(app).flush()
    assert sql(db_url, "SELECT count(*) FROM searches") == [(0,)]
    register_commands(app)
    out = app.test_cli_runner().invoke(args=["demand", "purge"])
    assert out.exit_code != 0 and "--days" in out.output


def test_old_searches_are_purged_by_the_command(app, runner, db_url):
    from o2o.storage import open_repository

    repo = open_repository(db_url)
    repo.insert_searches([(1_000_000_000, None, "products", "旧", None, None, None, None, 0, None),
                          (2_000_000_000, None, "products", "新", None, None, None, None, 0, None)])
    repo.close()
    out = runner.invoke(args=["demand", "purge", "--days", "30"])
    assert out.exit_code == 0 and "deleted 1 searches" in out.output
    assert sql(db_url, "SELECT words FROM searches") == [("新",)]
