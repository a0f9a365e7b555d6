"""Festival hours (``special_hours``) are kept by every backend alike: written, changed, in the history."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.all_backends  # db_url: SQLite, PostGIS, then the in-memory fake

SPECIAL = "2026-11-10 10:00-02:00; 2026-11-12 closed"


def _store(retailer_id, n, **kw):
    return {"retailer_id": retailer_id, "external_id": f"F{n}", "name": f"店{n}", "brand": "Uniqlo",
            "category": "Apparel", "lon": 121.47 + n * 0.001, "lat": 31.23, "address": f"路{n}号",
            "hours": "10:00-22:00", "status": "open", **kw}


def test_special_hours_are_stored_and_handed_out(repo):
    rid = repo.create_retailer("Fest Co", ["fest.tmall.com"])
    sid = repo.insert_store(_store(rid, 1, special_hours=SPECIAL))
    assert repo.get_store(sid)["special_hours"] == SPECIAL
    plain = repo.insert_store(_store(rid, 2))
    assert repo.get_store(plain)["special_hours"] is None


def test_bulk_inserted_rows_with_and_without_special_hours(repo):
    rid = repo.create_retailer("Fest Co", ["fest.tmall.com"])
    repo.insert_stores([_store(rid, 1, special_hours=SPECIAL), _store(rid, 2, special_hours=None)])
    repo.insert_stores([_store(rid, 3)])  # rows that do not carry the column at all
    ids = repo.find_store_ids(rid, ["F1", "F2", "F3"])
    assert [repo.get_store(ids[e])["special_hours"] for e in ("F1", "F2", "F3")] == [SPECIAL, None, None]


def test_changing_special_hours_keeps_the_old_value_in_the_history(repo):
    rid = repo.create_retailer("Fest Co", ["fest.tmall.com"])
    sid = repo.insert_store(_store(rid, 1))
    repo.update_store(sid, {"special_hours": SPECIAL})
    assert repo.get_store(sid)["special_hours"] == SPECIAL
    repo.bulk_upsert(rid, [], [(sid, {"special_hours": None})])
    assert repo.get_store(sid)["special_hours"] is None
    assert [h["before"] for h in repo.store_history(sid)] == [{"special_hours": None}, {"special_hours": SPECIAL}]
