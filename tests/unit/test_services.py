"""The use cases against the in-memory fake repository: no database, no files, milliseconds each.

The fake passes the same contract suite as SQLite and PostGIS (tests/contract), so what these
tests show of the services holds on both backends.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import pandas as pd
import pytest

from o2o.geo.distance import haversine_m
from o2o.geo.index import StoreIndex
from o2o.services import analytics, finder, importer, registry, scans
from o2o.services.accounts import Principal, authenticate, create_retailer
from o2o.services.index_sync import IndexSync
from o2o.services.validation import FieldProblem
from o2o.storage.errors import Conflict
from o2o.storage.memory import MemoryRepository

T0 = 1_762_790_400  # 2025-11-10T16:00:00Z
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"


class Shanghai:
    """Regions where every point is in Huangpu, Shanghai (the real polygons take a second to load)."""

    def locate_one(self, lon, lat):
        return {"province": "上海市", "city": "上海市", "district": "黄浦区", "mainland": True}

    def locate(self, lon, lat):
        n = len(np.atleast_1d(lon))
        return pd.DataFrame({"province": ["上海市"] * n, "city": ["上海市"] * n, "district": ["黄浦区"] * n,
                             "mainland": [True] * n})


@pytest.fixture
def repo():
    return MemoryRepository()


@pytest.fixture
def retailer(repo):
    rid, key = create_retailer(repo, "Test Co", ["test.tmall.com"])
    return authenticate(repo, key)


def _index(repo) -> StoreIndex:
    sync = IndexSync()
    sync.load(repo)
    return sync.index


def _payload(code: str, lon: float = 121.48, lat: float = 31.24, **kw) -> dict:
    return {"external_id": code, "name": f"店{code}", "brand": "TestBrand", "category": "Apparel",
            "lon": lon, "lat": lat, "online_url": "https://test.tmall.com/", **kw}


# ------------------------------------------------------------------ accounts
def test_a_retailer_and_its_key_are_made_together_and_a_taken_name_is_a_conflict(repo, retailer):
    assert retailer == Principal("retailer", retailer.id, "Test Co", ("test.tmall.com",), retailer.key_fingerprint)
    with pytest.raises(Conflict):
        create_retailer(repo, "Test Co", ["other.tmall.com"])
    assert [r["name"] for r in repo.list_retailers()] == ["Test Co"]


# ------------------------------------------------------------------ registry
def test_register_creates_then_the_same_code_updates(repo, retailer):
    store, created = registry.register(repo, Shanghai(), _index(repo), retailer, _payload("A1"))
    assert created and store["district"] == "黄浦区" and store["retailer"] == "Test Co"
    again, created = registry.register(repo, Shanghai(), _index(repo), retailer, _payload("A1", name="新名字"))
    assert not created and again["id"] == store["id"] and again["name"] == "新名字"
    assert repo.count_stores() == 1 and len(repo.store_history(store["id"])) == 1


def test_register_refuses_a_store_of_the_same_brand_within_20_m(repo, retailer):
    registry.register(repo, Shanghai(), _index(repo), retailer, _payload("A1"))
    with pytest.raises(FieldProblem) as info:
        registry.register(repo, Shanghai(), _index(repo), retailer, _payload("A2", lon=121.48005))
    assert info.value.status == 409 and info.value.code == "duplicate_store"
    store, created = registry.register(repo, Shanghai(), _index(repo), retailer,
                                       _payload("A2", lon=121.48005, allow_duplicate=True))
    assert created and repo.count_stores() == 2


class LosesTheRace(MemoryRepository):
    """A repository where another request registers the same new code first: this request's
    insert clashes with it, and the other one's store is there once this transaction is over."""

    other: dict | None = None

    def insert_store(self, record: dict, actor: str | None = None) -> int:
        if self.other is None:
            self.other = dict(record, name="另一请求")
            raise Conflict("stores", ("retailer_id", "external_id"))
        return super().insert_store(record, actor)

    @contextmanager
    def transaction(self):
        try:
            with super().transaction():
                yield self
        finally:
            if self.other and self._db.depth == 0 and not self.find_store_ids(self.other["retailer_id"],
                                                                             [self.other["external_id"]]):
                super().insert_store(self.other)  # the other request commits


def test_a_registration_that_loses_a_race_for_its_code_becomes_an_update():
    """What PostgreSQL does when two requests register one new code at once: the second insert
    clashes with the first; the unit of work runs again and finds the other's store."""
    repo = LosesTheRace()
    rid, key = create_retailer(repo, "Test Co", ["test.tmall.com"])
    store, created = registry.register(repo, Shanghai(), _index(repo), authenticate(repo, key), _payload("R1"))
    assert not created and store["external_id"] == "R1" and store["name"] == "店R1"
    assert repo.count_stores() == 1 and [h["before"] for h in repo.store_history(store["id"])] == [{"name": "另一请求"}]


def test_update_and_close_belong_to_the_owner_alone(repo, retailer):
    store, _ = registry.register(repo, Shanghai(), _index(repo), retailer, _payload("A1"))
    other = authenticate(repo, create_retailer(repo, "Other Co", ["other.tmall.com"])[1])
    with pytest.raises(registry.Forbidden):
        registry.update(repo, Shanghai(), _index(repo), other, store["id"], {"name": "x"})
    with pytest.raises(registry.NotFound):
        registry.close(repo, retailer, 999)
    moved = registry.update(repo, Shanghai(), _index(repo), retailer, store["id"], {"lat": 31.25, "lon": 121.49})
    assert (moved["lon"], moved["lat"]) == (121.49, 31.25)
    assert registry.close(repo, retailer, store["id"])["status"] == "closed"


# ------------------------------------------------------------------ importer
def _rows(*records: dict) -> list[importer.Row]:
    return [importer.Row(n, n + 1, {k: str(v) for k, v in r.items()}) for n, r in enumerate(records, start=1)]


def test_import_adds_updates_and_leaves_unchanged_rows_in_one_unit(repo, retailer):
    first = importer.import_rows(repo, Shanghai(), _index(repo), retailer,
                                 _rows(_payload("I1"), _payload("I2", lon=121.49)))
    assert (first.inserted, first.updated, first.unchanged) == (2, 0, 0)
    rev = repo.current_rev()
    second = importer.import_rows(repo, Shanghai(), _index(repo), retailer,
                                  _rows(_payload("I1", name="改名"), _payload("I2", lon=121.49), _payload("I3", lon=121.5)))
    assert (second.inserted, second.updated, second.unchanged) == (1, 1, 1)
    assert repo.current_rev() == rev + 1  # one import, one revision


def test_an_atomic_import_with_a_bad_row_stores_nothing(repo, retailer):
    report = importer.import_rows(repo, Shanghai(), _index(repo), retailer,
                                  _rows(_payload("I1"), _payload("I2", lat="north")), atomic=True)
    assert not report.stored and [r["row"] for r in report.rejected] == [2]
    assert repo.count_stores() == 0


# ------------------------------------------------------------------ finder
def test_nearby_stores_keep_their_own_distances_when_one_is_gone_from_the_database(repo, retailer):
    for code, lon in (("N1", 121.470), ("N2", 121.475), ("N3", 121.480)):
        registry.register(repo, Shanghai(), _index(repo), retailer, _payload(code, lon=lon, lat=31.23))
    index = _index(repo)
    ids = repo.find_store_ids(retailer.id, ["N1", "N2", "N3"])
    del repo._db.tables["stores"][ids["N1"]]  # the index still has it; get_stores leaves it out
    found = finder.find_nearby(repo, index, finder.NearbyQuery(lon=121.470, lat=31.23, k=3))
    assert [s["external_id"] for s in found.stores] == ["N2", "N3"]
    assert [s["distance_m"] for s in found.stores] == pytest.approx(
        [haversine_m(121.470, 31.23, lon, 31.23) for lon in (121.475, 121.480)], abs=0.05)


def test_a_brand_page_lists_its_stores_nearest_first_with_their_distances(repo, retailer):
    for code, lon in (("B1", 121.50), ("B2", 121.47), ("B3", 121.48)):
        registry.register(repo, Shanghai(), _index(repo), retailer, _payload(code, lon=lon, lat=31.23))
    view = finder.brand_stores(repo, _index(repo), "testbrand", origin=(121.46, 31.23))
    assert view.brand["name"] == "TestBrand" and view.origin == (121.46, 31.23)
    assert [s["external_id"] for s in view.stores] == ["B2", "B3", "B1"]
    assert view.stores[0]["distance_m"] == pytest.approx(haversine_m(121.46, 31.23, 121.47, 31.23), abs=0.05)
    assert finder.brand_stores(repo, _index(repo), "nobody") is None
    centred = finder.brand_stores(repo, _index(repo), "testbrand")  # no position: the brand's biggest city
    assert centred.origin == pytest.approx((121.4833, 31.23), abs=1e-3)


# ------------------------------------------------------------------ scans
def test_a_scan_is_recorded_once_per_client_window_and_sends_the_shopper_on(repo, retailer):
    store, _ = registry.register(repo, Shanghai(), _index(repo), retailer, _payload("S1"))
    target = scans.record(repo, store["id"], PHONE, "1.2.3.4", "secret", T0)
    assert target.startswith("https://test.tmall.com/?o2o_store=")
    scans.record(repo, store["id"], PHONE, "1.2.3.4", "secret", T0 + 60)  # a repeat: not counted
    scans.record(repo, store["id"], "curl/8.0", "1.2.3.4", "secret", T0 + 61)  # a bot: not counted
    assert repo.count_scans() == 3 and repo.count_scans(counted_only=True) == 1


def test_no_scan_is_recorded_for_a_closed_a_missing_or_an_unsafe_store(repo, retailer):
    store, _ = registry.register(repo, Shanghai(), _index(repo), retailer, _payload("S1"))
    unsafe, _ = registry.register(repo, Shanghai(), _index(repo), retailer, _payload("S2", lon=121.5))
    repo.update_store(unsafe["id"], {"online_url": "https://evil.example.com/"})
    registry.close(repo, retailer, store["id"])
    with pytest.raises(scans.StoreClosed):
        scans.record(repo, store["id"], PHONE, "1.2.3.4", "secret", T0)
    with pytest.raises(registry.NotFound):
        scans.record(repo, 999, PHONE, "1.2.3.4", "secret", T0)
    with pytest.raises(scans.UnsafeRedirect):
        scans.record(repo, unsafe["id"], PHONE, "1.2.3.4", "secret", T0)
    assert repo.count_scans() == 0


# ------------------------------------------------------------------ analytics
def test_analytics_count_what_was_recorded(repo, retailer):
    a, _ = registry.register(repo, Shanghai(), _index(repo), retailer, _payload("A1"))
    b, _ = registry.register(repo, Shanghai(), _index(repo), retailer, _payload("A2", lon=121.5))
    for i in range(3):
        scans.record(repo, a["id"], PHONE, f"10.0.0.{i}", "s", T0 + i * 3600)
    scans.record(repo, b["id"], PHONE, "10.0.1.1", "s", T0 + 7200)
    cells, total = analytics.heatmap(repo, "scans", 7)
    assert total == 4 and int(cells["count"].sum()) == 4
    series = analytics.timeseries(repo)
    assert series["scans"].tolist() == [1, 1, 2] and series["hour"].tolist() == [T0, T0 + 3600, T0 + 7200]
    per_city = analytics.regions(repo, "city")
    assert per_city[["city", "stores", "scans", "top_brand"]].values.tolist() == [["上海市", 2, 4, "TestBrand"]]
