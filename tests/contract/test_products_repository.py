"""Products and stock are kept by every backend alike (SQLite, PostGIS and the in-memory fake)."""

from __future__ import annotations

import pytest

from o2o.storage import open_repository
from o2o.storage.base import TABLES
from o2o.storage.errors import Conflict

pytestmark = pytest.mark.all_backends


def _product(sku, **kw):
    return {"sku": sku, "title": f"羽绒服 {sku}", "brand": "Uniqlo", "category": "Apparel", "price": 499.0,
            "online_url": f"https://uniqlo.tmall.com/item/{sku}", **kw}


def _stores(repo, rid, n=3):
    repo.insert_stores([{"retailer_id": rid, "external_id": f"S{i}", "name": f"店{i}", "brand": "Uniqlo",
                         "category": "Apparel", "lon": 121.47 + i * 0.01, "lat": 31.23, "address": "",
                         "status": "open"} for i in range(n)])
    ids = repo.find_store_ids(rid, [f"S{i}" for i in range(n)])
    return [ids[f"S{i}"] for i in range(n)]


def test_products_are_upserted_by_sku_per_retailer(repo):
    rid = repo.create_retailer("Fast Retailing", ["uniqlo.tmall.com"])
    other = repo.create_retailer("Gap Inc.", ["gap.tmall.com"])
    assert repo.upsert_products(rid, [_product("A1"), _product("A2", gtin="6901234567892")]) == 2
    repo.upsert_products(other, [_product("A1", brand="GAP")])
    ids = repo.find_product_ids(rid, ["A1", "A2", "nope"])
    assert set(ids) == {"A1", "A2"}
    repo.upsert_products(rid, [_product("A1", title="新羽绒服", price=399.5)])
    one = repo.get_product(ids["A1"])
    assert (one["title"], one["price"], one["retailer_id"], one["sku"]) == ("新羽绒服", 399.5, rid, "A1")
    assert one["created_at"].endswith("Z") and one["updated_at"].endswith("Z")
    assert repo.get_product(ids["A2"])["gtin"] == "6901234567892"
    assert repo.count_products() == 3
    assert [p["sku"] for p in repo.list_products(rid)] == ["A1", "A2"]
    assert repo.get_product(10**9) is None and repo.get_product(-1) is None


def test_stock_lines_are_written_overwritten_and_replaced_per_store(repo):
    rid = repo.create_retailer("Fast Retailing", ["uniqlo.tmall.com"])
    s1, s2, s3 = _stores(repo, rid)
    repo.upsert_products(rid, [_product("A1"), _product("A2")])
    p1, p2 = (repo.find_product_ids(rid, ["A1", "A2"])[k] for k in ("A1", "A2"))
    before = repo.catalogue_rev()
    repo.set_stock([{"store_id": s1, "product_id": p1, "availability": "in_stock", "quantity": 5, "price": 459.0},
                    {"store_id": s2, "product_id": p1, "availability": "limited", "quantity": 1},
                    {"store_id": s3, "product_id": p1, "availability": "out_of_stock"},
                    {"store_id": s1, "product_id": p2, "availability": "in_stock"}])
    assert repo.catalogue_rev() > before
    having = repo.stock_of_product(p1, ("in_stock", "limited"))
    assert [(r["store_id"], r["availability"], r["quantity"], r["price"]) for r in having] == [
        (s1, "in_stock", 5, 459.0), (s2, "limited", 1, None)]
    assert having[0]["updated_at"].endswith("Z")
    assert len(repo.stock_of_product(p1)) == 3
    repo.set_stock([{"store_id": s2, "product_id": p1, "availability": "out_of_stock", "quantity": 0}])
    assert [r["store_id"] for r in repo.stock_of_product(p1, ("in_stock", "limited"))] == [s1]
    repo.set_stock([{"store_id": s1, "product_id": p2, "availability": "limited"}], replace_stores=[s1])
    assert [(r["product_id"], r["availability"]) for r in repo.stock_of_store(s1)] == [(p2, "limited")]
    assert repo.count_stock() == 3


def test_a_failed_stock_write_leaves_nothing_behind(repo):
    rid = repo.create_retailer("Fast Retailing", ["uniqlo.tmall.com"])
    (s1,) = _stores(repo, rid, 1)
    repo.upsert_products(rid, [_product("A1")])
    p1 = repo.find_product_ids(rid, ["A1"])["A1"]
    repo.set_stock([{"store_id": s1, "product_id": p1, "availability": "in_stock"}])
    with pytest.raises(Exception):
        repo.set_stock([{"store_id": s1, "product_id": p1, "availability": "sold"}], replace_stores=[s1])
    assert [r["availability"] for r in repo.stock_of_store(s1)] == ["in_stock"]


def test_bulk_replacement_of_many_lines(repo):
    rid = repo.create_retailer("Fast Retailing", ["uniqlo.tmall.com"])
    s1, s2 = _stores(repo, rid, 2)
    repo.upsert_products(rid, [_product(f"P{i}") for i in range(1200)])
    ids = repo.find_product_ids(rid, [f"P{i}" for i in range(1200)])
    lines = [{"store_id": s, "product_id": pid, "availability": "in_stock"} for s in (s1, s2) for pid in ids.values()]
    assert repo.set_stock(lines) == 2400
    assert repo.set_stock(lines[:1200], replace_stores=[s1]) == 1200
    assert repo.count_stock() == 2400


def test_deleting_every_store_deletes_their_stock_and_tables_are_copied(repo):
    rid = repo.create_retailer("Fast Retailing", ["uniqlo.tmall.com"])
    (s1,) = _stores(repo, rid, 1)
    repo.upsert_products(rid, [_product("A1")])
    repo.set_stock([{"store_id": s1, "product_id": repo.find_product_ids(rid, ["A1"])["A1"],
                     "availability": "in_stock"}])
    dumped = [row for batch in repo.dump_table("stock") for row in batch]
    assert len(dumped) == 1 and len(dumped[0]) == len(TABLES["stock"])
    repo.delete_all_stores()
    assert repo.count_stock() == 0 and repo.count_products() == 1


def test_a_sku_twice_in_one_upsert_is_not_a_conflict_on_insert(repo):
    rid = repo.create_retailer("Fast Retailing", ["uniqlo.tmall.com"])
    try:
        repo.upsert_products(rid, [_product("A1"), _product("A1", title="second")])
    except Conflict:  # pragma: no cover - the import service deduplicates first anyway
        pytest.fail("a repeated sku should update, not clash")
    assert repo.get_product(repo.find_product_ids(rid, ["A1"])["A1"])["title"] == "second"


def test_stocked_stores_are_the_open_ones_with_the_product_and_marks_follow_writes(repo):
    rid = repo.create_retailer("Fast Retailing", ["uniqlo.tmall.com"])
    s1, s2, s3 = _stores(repo, rid)
    repo.upsert_products(rid, [_product("A1")])
    p1 = repo.find_product_ids(rid, ["A1"])["A1"]
    _, products_rev = repo.catalogue_marks()
    repo.set_stock([{"store_id": s1, "product_id": p1, "availability": "in_stock", "quantity": 5, "price": 459.0},
                    {"store_id": s2, "product_id": p1, "availability": "limited"},
                    {"store_id": s3, "product_id": p1, "availability": "out_of_stock"}])
    rev, after = repo.catalogue_marks()
    assert after == products_rev and rev == repo.catalogue_rev()
    repo.update_store(s2, {"status": "closed"})
    rows = repo.stocked_stores(p1)
    assert [r[:6] for r in rows] == [(s1, 121.47, 31.23, "in_stock", 5, 459.0)]
    assert rows[0][6].endswith("Z")
    repo.upsert_products(rid, [_product("A2")])
    assert repo.catalogue_marks()[1] > products_rev


def test_a_product_scan_is_a_scan_with_its_product(repo):
    rid = repo.create_retailer("Fast Retailing", ["uniqlo.tmall.com"])
    s1, s2, _ = _stores(repo, rid)
    repo.upsert_products(rid, [_product("A1")])
    p1 = repo.find_product_ids(rid, ["A1"])["A1"]
    assert repo.record_product_scan(repo.get_store(s1), p1, 1_800_000_000, "phone", "c1", 1800) is True
    assert repo.record_product_scan(repo.get_store(s1), p1, 1_800_000_010, "phone", "c1", 1800) is False  # again
    repo.record_scan(repo.get_store(s2), 1_800_000_020, "phone", "c2", 1800)   # a plain scan
    repo.update_store(s2, {"status": "closed"})
    assert repo.record_product_scan(repo.get_store(s2), p1, 1_800_000_030, "phone", "c3", 1800) is None
    assert repo.product_scan_counts() == {p1: 1}
    assert repo.count_scans() == 3
    assert len([r for b in repo.dump_table("product_scans") for r in b]) == 2


def test_bulk_loaded_stock_lines_are_read_like_written_ones(repo):
    rid = repo.create_retailer("Fast Retailing", ["uniqlo.tmall.com"])
    s1, s2, _ = _stores(repo, rid)
    repo.upsert_products(rid, [_product("A1")])
    p1 = repo.find_product_ids(rid, ["A1"])["A1"]
    before = repo.catalogue_rev()
    assert repo.insert_stock([(s1, p1, "in_stock", 3, None, "2026-11-10T08:00:00Z"),
                              (s2, p1, "limited", 1, 450.0, "2026-11-10T09:00:00Z")]) == 2
    assert repo.catalogue_rev() > before
    assert [(r[0], r[3], r[4], r[5], r[6]) for r in repo.stocked_stores(p1)] == [
        (s1, "in_stock", 3, None, "2026-11-10T08:00:00Z"), (s2, "limited", 1, 450.0, "2026-11-10T09:00:00Z")]


def test_products_by_ids_in_the_order_asked(repo):
    rid = repo.create_retailer("Fast Retailing", ["uniqlo.tmall.com"])
    repo.upsert_products(rid, [_product("A1"), _product("A2")])
    ids = repo.find_product_ids(rid, ["A1", "A2"])
    assert [p["sku"] for p in repo.get_products([ids["A2"], 10**9, ids["A1"], -3])] == ["A2", "A1"]


def test_a_products_stock_mark_moves_with_its_own_stock_lines_only(repo):
    rid = repo.create_retailer("Fast Retailing", ["uniqlo.tmall.com"])
    s1, s2, _ = _stores(repo, rid)
    repo.upsert_products(rid, [_product("A1"), _product("A2"), _product("A3")])
    ids = repo.find_product_ids(rid, ["A1", "A2", "A3"])
    p1, p2, p3 = ids["A1"], ids["A2"], ids["A3"]
    assert repo.stock_marks(p1)[0] == 0 and repo.stock_marks(p1)[1:] == repo.sync_marks()
    repo.set_stock([{"store_id": s1, "product_id": p1, "availability": "in_stock"},
                    {"store_id": s2, "product_id": p2, "availability": "in_stock"}])
    m1, m2, m3 = (repo.stock_marks(p)[0] for p in (p1, p2, p3))
    assert m1 > 0 and m2 > 0 and m3 == 0
    repo.set_stock([{"store_id": s1, "product_id": p1, "availability": "out_of_stock"}])    # a sell-out
    assert repo.stock_marks(p1)[0] > m1 and repo.stock_marks(p2)[0] == m2
    m1 = repo.stock_marks(p1)[0]
    repo.set_stock([], replace_stores=[s2])                          # p2's line goes with its store's stock
    assert repo.stock_marks(p2)[0] > m2 and repo.stock_marks(p1)[0] == m1
    repo.insert_stock([(s2, p3, "limited", 1, None, "2026-11-10T08:00:00Z")])
    assert repo.stock_marks(p3)[0] > 0 and repo.stock_marks(p1)[0] == m1
    rev = repo.stock_marks(p1)[1]
    repo.update_store(s1, {"status": "closed"})                      # a store's change: the stores' revision
    assert repo.stock_marks(p1)[1] > rev


def test_a_sell_out_written_by_another_worker_drops_out_of_the_next_answer(repo, db_url):
    from o2o.services.stocked import StockCache

    rid = repo.create_retailer("Fast Retailing", ["uniqlo.tmall.com"])
    s1, s2, s3 = _stores(repo, rid)
    repo.upsert_products(rid, [_product("A1"), _product("A2")])
    p1, p2 = (repo.find_product_ids(rid, ["A1", "A2"])[k] for k in ("A1", "A2"))
    repo.set_stock([{"store_id": s, "product_id": p, "availability": "in_stock"} for s in (s1, s2, s3) for p in (p1, p2)])
    cache = StockCache()                               # this worker's
    assert [sid for sid, _, _ in cache.nearest(repo, p1, 121.47, 31.23, k=3)] == [s1, s2, s3]
    cache.get(repo, p2)
    other = open_repository(db_url)                    # another worker's connection
    try:
        other.set_stock([{"store_id": s1, "product_id": p1, "availability": "out_of_stock"}])
    finally:
        other.close()
    reads = cache.reads
    assert [sid for sid, _, _ in cache.nearest(repo, p1, 121.47, 31.23, k=3)] == [s2, s3]
    cache.get(repo, p2)
    assert cache.reads == reads + 1                    # only the product written was read again


def test_a_large_stock_write_overwrites_like_a_small_one_all_or_nothing(repo):
    rid = repo.create_retailer("Fast Retailing", ["uniqlo.tmall.com"])
    stores = _stores(repo, rid)
    repo.upsert_products(rid, [_product(f"P{i}") for i in range(400)])
    products = sorted(repo.find_product_ids(rid, [f"P{i}" for i in range(400)]).values())
    lines = [{"store_id": s, "product_id": p, "availability": "in_stock", "quantity": 3} for s in stores for p in products]
    assert repo.set_stock(lines) == 1200                                 # more than 1,000: PostGIS COPYs them
    mark = repo.stock_marks(products[0])[0]
    lines[0] = {**lines[0], "availability": "limited", "quantity": 1, "price": 9.5}
    assert repo.set_stock(lines) == 1200
    assert repo.count_stock() == 1200 and repo.stock_marks(products[0])[0] > mark
    first = repo.stock_of_store(stores[0])[0]
    assert (first["product_id"], first["availability"], first["quantity"], first["price"]) == (
        products[0], "limited", 1, 9.5)
    changed = [{**line, "availability": "out_of_stock"} for line in lines]
    with pytest.raises(Exception):                                       # an unknown store: nothing is written
        repo.set_stock([*changed, {"store_id": 10**9, "product_id": products[0], "availability": "in_stock"}])
    assert repo.stock_of_store(stores[0])[0]["availability"] == "limited"
