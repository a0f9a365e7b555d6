"""The repository contract: every backend behaves the same, checked on SQLite and on PostGIS.

Each test runs once per backend (``repo`` is parametrised); a PostGIS run is skipped with its
reason when no PostgreSQL with PostGIS is reachable.
"""

from __future__ import annotations

import math
import re
import threading

import numpy as np
import pytest

from o2o.geo.distance import haversine_m
from o2o.geo.index import StoreIndex
from o2o.storage import Conflict, open_repository
from o2o.storage.base import SCAN_FIELDS, STORE_FIELDS, interface_methods

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


pytestmark = pytest.mark.all_backends  # db_url: SQLite, PostGIS, then the in-memory fake


def store(retailer_id, n, **kw):
    row = {"retailer_id": retailer_id, "external_id": f"E{n}", "name": f"店{n}", "brand": "Uniqlo",
           "category": "Apparel", "lon": 121.47 + n * 0.001, "lat": 31.23, "address": f"路{n}号",
           "province": "上海市", "city": "上海市", "district": "黄浦区", "hours": "10:00-22:00",
           "phone": "021-1", "online_url": "https://uniqlo.tmall.com/", "status": "open"}
    row.update(kw)
    return row


def test_implements_the_whole_interface(repo):
    wanted = interface_methods()
    assert [name for name in wanted if not callable(getattr(repo, name, None))] == []


def test_schema_is_created_then_left_alone(db_url):
    repo = open_repository(db_url)
    assert repo.schema_version() == 0
    assert repo.migrate() == repo.latest_version() == repo.schema_version()
    assert repo.migrate() == repo.latest_version()  # twice is harmless
    repo.close()


def test_an_older_schema_is_upgraded_keeping_its_data(db_url):
    repo = open_repository(db_url)
    repo.migrate(target=1)
    assert repo.schema_version() == 1
    rid = repo.create_retailer("Old Co", ["old.tmall.com"])
    repo.insert_stores([store(rid, 1)])
    repo.migrate()
    assert repo.schema_version() == repo.latest_version() > 1
    assert repo.count_stores() == 1
    assert repo.create_analyst("Ana", "h" * 64) > 0  # a table the upgrade added
    assert repo.nearest(121.47, 31.23, 1)[0][0] == repo.find_store_ids(rid, ["E1"])["E1"]
    repo.close()


def test_two_processes_migrating_at_once_both_succeed(db_url):
    errors = []

    def run():
        try:
            r = open_repository(db_url)
            r.migrate()
            r.close()
        except Exception as exc:  # pragma: no cover - the failure being tested for
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_retailers_and_analysts(repo):
    rid = repo.create_retailer("Fast Retailing", ["b.tmall.com", "a.tmall.com", "a.tmall.com"], "k1")
    got = repo.get_retailer(rid)
    assert got["name"] == "Fast Retailing" and got["domains"] == ["a.tmall.com", "b.tmall.com"]
    assert got["key_hash"] == "k1" and ISO.match(got["created_at"]) and got["revoked_at"] is None
    repo.set_retailer_domains(rid, ["c.tmall.com"])
    assert repo.get_retailer(rid)["domains"] == ["c.tmall.com"]
    assert [r["id"] for r in repo.list_retailers()] == [rid]
    assert repo.set_key_hash("retailers", rid, None) is True
    revoked = repo.principal_by_id("retailers", rid)
    assert revoked["key_hash"] is None and ISO.match(revoked["revoked_at"])
    aid = repo.create_analyst("Ana", "k2")
    assert repo.principal_by_id("analysts", aid)["key_hash"] == "k2"
    assert repo.set_key_hash("analysts", aid + 100, "x") is False
    assert repo.get_retailer(rid + 100) is None and repo.principal_by_id("analysts", 2**70) is None
    with pytest.raises(ValueError):
        repo.principal_by_id("stores", 1)


def test_stores_read_back_exactly(repo):
    rid = repo.create_retailer("Fast Retailing", ["uniqlo.tmall.com"])
    before = repo.current_rev()
    assert repo.insert_stores([store(rid, 1), store(rid, 2, status="closed", brand="GU"),
                               store(rid, 3, name="Ünïcode ‘quotes’ 100%_off", created_at="2026-10-01T08:00:00Z")]) == 3
    assert repo.current_rev() == before + 1
    ids = repo.find_store_ids(rid, ["E1", "E2", "E3", "nope"])
    assert sorted(ids) == ["E1", "E2", "E3"]
    one = repo.get_store(ids["E1"])
    assert list(one) == list(STORE_FIELDS)
    assert one["retailer"] == "Fast Retailing" and one["lon"] == pytest.approx(121.471, abs=0) \
        and one["status"] == "open" and ISO.match(one["created_at"]) and one["updated_at"] == one["created_at"]
    assert repo.get_store(ids["E3"])["created_at"] == "2026-10-01T08:00:00Z"
    assert [s["external_id"] for s in repo.get_stores([ids["E3"], 999999, ids["E1"]])] == ["E3", "E1"]
    assert repo.get_store(2**63) is None and repo.get_store(999999) is None
    assert [s["external_id"] for s in repo.iter_stores()] == ["E1", "E2", "E3"]
    assert [s["external_id"] for s in repo.stores_of_retailer(rid)] == ["E1", "E2", "E3"]
    assert repo.count_stores() == 3 and repo.count_stores("open") == 2
    assert repo.brand_counts() == [("GU", 0), ("Uniqlo", 2)]
    assert repo.category_counts() == [("Apparel", 2)]
    centre = repo.city_centres()[0]
    assert centre["city"] == "上海市" and centre["stores"] == 2
    assert centre["lon"] == pytest.approx((121.471 + 121.473) / 2)
    raw = repo.stores_by_ids_raw([ids["E1"]])[ids["E1"]]
    assert raw["rev"] == before + 1 and raw["external_id"] == "E1"


def test_updates_keep_history_and_bump_the_revision_only_when_something_changed(repo):
    rid = repo.create_retailer("R", ["r.tmall.com"])
    repo.insert_stores([store(rid, 1)])
    sid = repo.find_store_ids(rid, ["E1"])["E1"]
    rev = repo.current_rev()
    after = repo.update_store(sid, {"name": "新名字", "lat": 31.3, "rev": 999, "id": 5})
    assert after["name"] == "新名字" and after["lat"] == 31.3 and after["id"] == sid
    assert repo.current_rev() == rev + 1
    assert repo.update_store(sid, {"name": "新名字"})["name"] == "新名字"
    assert repo.current_rev() == rev + 1  # nothing changed: no new revision
    history = repo.store_history(sid)
    assert len(history) == 1 and history[0]["before"] == {"name": "店1", "lat": 31.23}
    assert ISO.match(history[0]["changed_at"])
    assert [r[0] for r in repo.index_rows(rev)] == [sid]
    assert repo.update_store(999999, {"name": "x"}) is None


def test_bulk_upsert_is_all_or_nothing(repo):
    rid = repo.create_retailer("R", ["r.tmall.com"])
    repo.insert_stores([store(rid, 1)])
    sid = repo.find_store_ids(rid, ["E1"])["E1"]
    rev = repo.current_rev()
    with pytest.raises(Exception):
        # the second insert repeats an external_id: the whole import must fail
        repo.bulk_upsert(rid, [store(rid, 2), store(rid, 2)], [(sid, {"name": "changed"})])
    assert repo.count_stores() == 1 and repo.get_store(sid)["name"] == "店1"
    assert repo.current_rev() == rev and repo.store_history(sid) == []
    repo.bulk_upsert(rid, [store(rid, 2), store(rid, 3)], [(sid, {"name": "changed"})])
    assert repo.count_stores() == 3 and repo.get_store(sid)["name"] == "changed"
    assert repo.current_rev() == rev + 1
    assert {r[0] for r in repo.index_rows(rev)} == set(repo.find_store_ids(rid, ["E1", "E2", "E3"]).values())


def test_a_transaction_rolls_back_everything_on_error(repo):
    rid = repo.create_retailer("R", ["r.tmall.com"])
    with pytest.raises(RuntimeError):
        with repo.transaction():
            repo.insert_store(store(rid, 1))
            repo.insert_stores([store(rid, 2)])
            raise RuntimeError("boom")
    assert repo.count_stores() == 0
    with repo.transaction():
        repo.insert_store(store(rid, 1))
    assert repo.count_stores() == 1


def test_constraints_hold(repo):
    rid = repo.create_retailer("R", ["r.tmall.com"])
    for bad in (store(rid, 1, lat=91.0), store(rid, 1, status="maybe"), store(rid + 50, 1)):
        with pytest.raises(Exception):
            repo.insert_store(bad)
    with pytest.raises(Exception):
        repo.create_retailer("R", [])  # names are unique
    assert repo.count_stores() == 0


def test_delete_all_marks_a_reset(repo):
    rid = repo.create_retailer("R", ["r.tmall.com"])
    repo.insert_stores([store(rid, 1)])
    repo.delete_all_stores()
    rev, reset = repo.sync_marks()
    assert rev == reset and repo.count_stores() == 0 and repo.list_retailers()


def test_scans_count_once_per_client_window_and_never_bots(repo):
    rid = repo.create_retailer("R", ["r.tmall.com"])
    repo.insert_stores([store(rid, 1)])
    s = repo.get_store(repo.find_store_ids(rid, ["E1"])["E1"])
    t = 1_762_790_400  # 2025-11-10T16:00:00Z
    assert repo.record_scan(s, t, "phone", "a", 1800) is True
    assert repo.record_scan(s, t + 1799, "phone", "a", 1800) is False
    assert repo.record_scan(s, t + 1799 + 1801, "phone", "a", 1800) is True
    assert repo.record_scan(s, t + 10, "phone", "b", 1800) is True
    assert repo.record_scan(s, t + 20, "bot", "c", 1800) is False
    assert repo.count_scans() == 5 and repo.count_scans(counted_only=True) == 3
    batches = list(repo.scan_batches(batch_size=2))
    assert [len(b) for b in batches] == [2, 2, 1]
    rows = [dict(zip(SCAN_FIELDS, r)) for b in batches for r in b]
    assert [r["scanned_at"] for r in rows] == [t, t + 1799, t + 3600, t + 10, t + 20]
    assert [r["counted"] for r in rows] == [1, 0, 1, 1, 0] and rows[4]["client_kind"] == "bot"
    assert all(type(r["counted"]) is int and type(r["scanned_at"]) is int for r in rows)
    assert repo.scan_time_range() == (t, t + 3600)
    later = [r for b in repo.scan_batches(batch_size=10, after_id=rows[2]["id"]) for r in b]
    assert [r[0] for r in later] == [rows[3]["id"], rows[4]["id"]]


def test_scan_aggregations_agree_with_a_count_by_hand(repo):
    rid = repo.create_retailer("R", ["r.tmall.com"])
    other = repo.create_retailer("Other", ["o.tmall.com"])
    repo.insert_stores([store(rid, 1), store(rid, 2, brand="GU", category="Shoes"), store(other, 3, brand="GAP")])
    ids = repo.find_store_ids(rid, ["E1", "E2"]) | repo.find_store_ids(other, ["E3"])
    stores = {k: repo.get_store(v) for k, v in ids.items()}
    rng = np.random.default_rng(7)
    t0 = 1_762_790_400
    rows = []
    for _ in range(600):
        s = stores[rng.choice(["E1", "E2", "E3"])]
        t = t0 + int(rng.integers(0, 86400 * 2))
        rows.append((s["id"], s["retailer_id"], s["brand"], s["category"], s["lon"], s["lat"], s["province"],
                     s["city"], t, "phone", f"h{rng.integers(1e9)}", int(rng.random() < 0.8)))
    assert repo.insert_scans(rows) == 600
    lo, hi = t0 + 3600 * 5, t0 + 3600 * 30

    def by_hand(brands=None, retailers=None):
        keep = [r for r in rows if r[11] and lo <= r[8] < hi
                and (brands is None or r[2] in brands)
                and (retailers is None or r[1] in retailers)]
        per_store, per_hour = {}, {}
        for r in keep:
            per_store[r[0]] = per_store.get(r[0], 0) + 1
            per_hour[r[8] // 3600 * 3600] = per_hour.get(r[8] // 3600 * 3600, 0) + 1
        return per_store, per_hour

    for brands, retailers, names in ((None, None, None), (["GU", "GAP"], None, None),
                                     (None, [other], ["Other"])):
        want_store, want_hour = by_hand(brands, retailers)
        got = repo.scans_by_place(lo, hi, brands, names)
        assert {r[0]: r[6] for r in got} == want_store
        assert all(r[3] == "上海市" for r in got)
        assert dict(repo.scans_by_hour(lo, hi, brands, names)) == want_hour
        assert [h for h, _ in repo.scans_by_hour(lo, hi, brands, names)] == sorted(want_hour)
    assert sum(n for _, n in repo.scans_by_hour()) == sum(r[11] for r in rows)


def test_open_stores_table_filters(repo):
    rid = repo.create_retailer("R", ["r.tmall.com"])
    repo.insert_stores([store(rid, 1, created_at="2026-11-01T00:00:00Z"),
                        store(rid, 2, created_at="2026-11-11T00:00:00Z", category="Shoes"),
                        store(rid, 3, status="closed")])
    assert len(repo.open_stores_table()) == 2
    assert [r[5] for r in repo.open_stores_table(categories=["Shoes"])] == ["Shoes"]
    got = repo.open_stores_table(since="2026-11-05T00:00:00Z", until="2026-11-12T00:00:00Z")
    assert [r[5] for r in got] == ["Shoes"] and got[0][4] == "R"


@pytest.fixture
def many(repo):
    """1,500 open (and some closed) stores across China, with several brands and retailers."""
    rng = np.random.default_rng(11)
    retailers = [repo.create_retailer(f"R{i}", [f"r{i}.tmall.com"]) for i in range(3)]
    rows = []
    for n in range(1500):
        rows.append(store(int(rng.choice(retailers)), n, lon=float(rng.uniform(100, 122)),
                          lat=float(rng.uniform(21, 42)), brand=str(rng.choice(["A", "B", "C", "D"])),
                          category=str(rng.choice(["X", "Y"])),
                          status="closed" if rng.random() < 0.1 else "open"))
    # exact ties: four stores at one point; the nearest come in id order
    rows += [store(retailers[0], 2000 + i, lon=113.01, lat=30.0, brand="A") for i in range(4)]
    repo.insert_stores(rows)
    return repo


def test_nearest_matches_the_in_memory_index(many):
    repo = many
    index = StoreIndex()
    cols = list(zip(*[r for r in repo.index_rows(0) if r[6] == "open"]))
    index.load(*cols[:6])
    rng = np.random.default_rng(5)
    queries = [(113.0, 30.0, 3, None, {})]
    for _ in range(40):
        flt = rng.choice([{}, {"brands": ["A"]}, {"brands": ["B", "C"], "categories": ["X"]},
                          {"retailers": ["R1"]}])
        radius = rng.choice([None, 5_000.0, 80_000.0, 300_000.0])
        queries.append((float(rng.uniform(98, 124)), float(rng.uniform(20, 43)), int(rng.integers(1, 40)),
                        radius, flt))
    for lon, lat, k, radius, flt in queries:
        got = repo.nearest(lon, lat, k, radius, **flt)
        ids, dist = index.nearest(lon, lat, k, radius, **flt)
        assert [g[0] for g in got] == [int(i) for i in ids], (lon, lat, k, radius, flt)
        assert np.allclose([g[1] for g in got], dist, rtol=1e-7, atol=1e-3)
        if radius is not None:
            assert all(g[1] <= radius for g in got)
        stores = repo.get_stores([g[0] for g in got])
        assert np.allclose([haversine_m(lon, lat, s["lon"], s["lat"]) for s in stores],
                           [g[1] for g in got], rtol=1e-7)


def test_nearest_handles_the_antimeridian_and_the_poles(repo):
    rid = repo.create_retailer("R", ["r.tmall.com"])
    repo.insert_stores([store(rid, 1, lon=179.99, lat=0.0), store(rid, 2, lon=-179.99, lat=0.0),
                        store(rid, 3, lon=10.0, lat=89.99), store(rid, 4, lon=-170.0, lat=89.99)])
    got = repo.nearest(-179.999, 0.0, 2)
    assert sorted(repo.get_store(i)["external_id"] for i, _ in got) == ["E1", "E2"]
    assert got[0][1] == pytest.approx(haversine_m(-179.999, 0, -179.99, 0), rel=1e-7)
    near_pole = repo.nearest(100.0, 89.995, 2, radius_m=5_000)
    assert sorted(repo.get_store(i)["external_id"] for i, _ in near_pole) == ["E3", "E4"]
    everything = repo.nearest(0.0, -60.0, 10)
    assert len(everything) == 4 and everything[-1][1] < math.pi * 6_371_008.8


def test_ended_sessions_are_remembered_until_they_expire(repo):
    import time

    now = int(time.time())
    assert repo.session_ended("abc") is False
    repo.end_session("abc", now + 3600)
    repo.end_session("abc", now + 3600)  # twice is harmless
    repo.end_session("old", now - 10)
    assert repo.session_ended("abc") is True
    repo.end_session("later", now + 60)  # each call forgets the expired ones
    assert repo.session_ended("old") is False and repo.session_ended("later") is True


def test_a_unique_key_clash_is_a_conflict_naming_the_key_and_changes_nothing(repo):
    rid = repo.create_retailer("R", ["r.tmall.com"])
    with pytest.raises(Conflict) as clash:
        repo.create_retailer("R", ["other.tmall.com"])
    assert (clash.value.table, clash.value.columns) == ("retailers", ("name",))
    repo.insert_store(store(rid, 1))
    rev = repo.current_rev()
    with pytest.raises(Conflict) as clash:
        repo.insert_store(store(rid, 1, name="again"))
    assert (clash.value.table, clash.value.columns) == ("stores", ("retailer_id", "external_id"))
    other = repo.insert_store(store(rid, 2))
    with pytest.raises(Conflict):
        repo.update_store(other, {"external_id": "E1"})
    assert repo.count_stores() == 2 and repo.current_rev() == rev + 1 and repo.get_store(other)["external_id"] == "E2"
    assert [r["name"] for r in repo.list_retailers()] == ["R"]


def test_a_closed_or_missing_store_gets_no_scan(repo):
    rid = repo.create_retailer("R", ["r.tmall.com"])
    sid = repo.insert_store(store(rid, 1, status="closed"))
    assert repo.record_scan(repo.get_store(sid), 1_762_790_400, "phone", "a", 1800) is None
    assert repo.record_scan({"id": 999}, 1_762_790_400, "phone", "a", 1800) is None
    assert repo.count_scans() == 0
