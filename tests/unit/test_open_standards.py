"""The pure parts of issue 16's open standards: schema.org hours, the directory's table, sitemap XML,
pages of an OGC collection from the index."""

from __future__ import annotations

from datetime import datetime
from xml.etree import ElementTree

from o2o.geo.index import Filters, StoreIndex
from o2o.services import directory, ogc, structured_data


def test_daily_hours_become_one_spec_for_every_day():
    [spec] = structured_data.opening_hours("09:30-21:30")
    assert spec["dayOfWeek"] == structured_data.DAYS and (spec["opens"], spec["closes"]) == ("09:30", "21:30")


def test_all_day_overnight_and_split_hours():
    assert [(s["opens"], s["closes"]) for s in structured_data.opening_hours("24h")] == [("00:00", "23:59")]
    assert [(s["opens"], s["closes"]) for s in structured_data.opening_hours("22:00-02:00")] == [("22:00", "02:00")]
    assert len(structured_data.opening_hours("10:00-14:00,17:00-22:00")) == 2
    assert structured_data.opening_hours("whenever") == [] and structured_data.opening_hours(None) == []


def test_only_coming_festival_hours_are_listed():
    specs = structured_data.opening_hours("10:00-22:00", "2026-11-01 closed; 2026-11-12 10:00-23:00",
                                          datetime(2026, 11, 11, 12, 0))
    assert [s.get("validFrom") for s in specs] == [None, "2026-11-12"]


def test_an_unknown_category_is_a_plain_store():
    store = {"name": "奶茶", "category": "Bubble tea", "lon": 121.0, "lat": 31.0, "status": "open"}
    data = structured_data.store_jsonld(store, "https://x/stores/1")
    assert data["@type"] == "Store" and "telephone" not in data and "openingHoursSpecification" not in data


def _index() -> StoreIndex:
    idx = StoreIndex()
    idx.load([5, 3, 9, 1], [121.0, 121.1, 116.4, 121.2], [31.0, 31.1, 39.9, 31.2],
             ["A", "B", "A", "A"], ["r"] * 4, ["c"] * 4)
    return idx


def test_store_pages_are_in_id_order_with_counts_and_extent():
    pages, idx = ogc.StorePages(), _index()
    first = pages.page(idx, (1, 1), limit=3)
    assert (first.ids, first.matched, first.has_next, first.has_prev) == ([1, 3, 5], 4, True, False)
    last = pages.page(idx, (1, 1), offset=3, limit=3)
    assert (last.ids, last.has_next, last.has_prev) == ([9], False, True)
    assert pages.page(idx, (1, 1), bbox=(120.5, 30.5, 121.15, 31.5)).ids == [3, 5]
    assert pages.page(idx, (1, 1), filters=Filters.of(["A"])).ids == [1, 5, 9]
    assert pages.extent(idx, (1, 1)) == (116.4, 31.0, 121.2, 39.9)


def test_store_pages_follow_a_new_revision():
    pages, idx = ogc.StorePages(), _index()
    assert pages.page(idx, (1, 1)).matched == 4
    idx.remove(3)
    assert pages.page(idx, (1, 1)).matched == 4      # same revision: the cached order
    assert pages.page(idx, (2, 1)).matched == 3


class _Repo:
    def __init__(self, stores):
        self.stores = stores

    def iter_stores(self):
        return iter(self.stores.values())

    def get_stores(self, ids):
        return [self.stores[i] for i in ids if i in self.stores]


def _store(sid, name, province, city, status="open"):
    return {"id": sid, "name": name, "brand": "A", "province": province, "city": city, "district": "区",
            "address": "路", "status": status}


def test_directory_groups_open_stores_and_applies_changes():
    repo = _Repo({1: _store(1, "甲", "浙江省", "杭州市"), 2: _store(2, "乙", "北京市", "北京市"),
                  3: _store(3, "丙", "浙江省", "宁波市", "closed")})
    d = directory.Directory()
    d.sync(repo)
    assert [p for p, _, _ in d.provinces()] == ["北京市", "浙江省"]   # pinyin order
    assert d.cities("浙江省") == [("杭州市", 1)] and d.cities("火星") is None
    repo.stores[3]["status"] = "open"
    repo.stores.pop(2)
    d.changed([2, 3])
    d.sync(repo)
    assert d.store_ids() == [1, 3] and d.cities("浙江省") == [("杭州市", 1), ("宁波市", 1)]


def test_sitemap_xml_is_escaped_and_in_the_protocol_namespace():
    root = ElementTree.fromstring(directory.urlset(["https://x/a?b=1&c=2"]))
    assert root.tag == f"{{{directory.SITEMAP_NS}}}urlset"
    assert root[0][0].text == "https://x/a?b=1&c=2"
    assert directory.sitemap_parts(0, 10) == 1 and directory.sitemap_parts(21, 10) == 3
