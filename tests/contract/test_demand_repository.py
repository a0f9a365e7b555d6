"""Searches and the demand read over them are kept by every backend alike (SQLite, PostGIS, the fake)."""

from __future__ import annotations

import numpy as np
import pytest

from o2o.geo import h3agg
from o2o.storage import open_repository
from o2o.storage.demand import SEARCH_FIELDS, parent_cells

pytestmark = pytest.mark.all_backends

T0 = 1_794_326_400  # 2026-11-10T16:00:00Z = 11 Nov 00:00 Beijing


def _cell(lon, lat, res=9) -> int:
    return int(h3agg.cells([lon], [lat], res)[0])


SHANGHAI, NEAR, BEIJING = _cell(121.47, 31.23), _cell(121.4702, 31.2301), _cell(116.40, 39.90)
ROWS = [  # searched_at, h3, kind, words, brand, category, product_id, filters, results, nearest_m
    (T0, SHANGHAI, "nearby", "优衣库", "Uniqlo", None, None, None, 20, 120.5),
    (T0 + 10, NEAR, "nearby", None, "Uniqlo", None, None, '{"radius_km": 3}', 0, 7300.0),
    (T0 + 3600, BEIJING, "nearby", "超市", None, "Supermarket", None, None, 0, None),
    (T0 + 7200, BEIJING, "product_nearby", None, "Uniqlo", "Apparel", 7, None, 3, 5000.0),
    (T0 + 7300, None, "products", "羽绒服", None, None, None, None, 5, None),
]


def test_searches_are_stored_and_read_back_in_order(repo):
    assert repo.insert_searches(ROWS) == 5
    assert repo.count_searches() == 5
    (batch,) = list(repo.search_batches(10))
    assert [r[1:] for r in batch] == ROWS and len(batch[0]) == len(SEARCH_FIELDS)
    assert [r[0] for r in list(repo.search_batches(2, after_id=batch[2][0]))[0]] == [batch[3][0], batch[4][0]]


def test_demand_cells_count_searches_and_unmet_per_parent_cell(repo):
    repo.insert_searches(ROWS)
    got = sorted(repo.demand_cells(7))
    sh7, bj7 = (int(parent_cells(np.array([c], dtype=np.uint64), 7)[0]) for c in (SHANGHAI, BEIJING))
    # Shanghai: both searches in one res-7 cell, one of them unmet (7.3 km); Beijing: one absent
    # match (unmet) and one at exactly 5 km (met). The search without a place is on no cell.
    assert got == sorted([(sh7, 2, 1), (bj7, 2, 1)])
    assert sorted(repo.demand_cells(9, brands=["Uniqlo"])) == sorted([(SHANGHAI, 1, 0), (NEAR, 1, 1), (BEIJING, 1, 0)])
    assert repo.demand_cells(7, categories=["Supermarket"]) == [(bj7, 1, 1)]
    assert repo.demand_cells(7, product_id=7) == [(bj7, 1, 0)]
    assert sorted(repo.demand_cells(7, since=T0 + 5, until=T0 + 7200)) == sorted([(sh7, 1, 1), (bj7, 1, 1)])
    assert repo.demand_cells(3, since=T0 + 99_999) == []
    assert repo.demand_by_hour() == [(T0, 2, 1), (T0 + 3600, 1, 1), (T0 + 7200, 1, 0)]


def test_purge_removes_only_older_searches(repo):
    repo.insert_searches(ROWS)
    assert repo.purge_searches(T0 + 3600) == 2
    assert repo.count_searches() == 3
    assert repo.purge_searches(T0) == 0


def _sql(repo, *args, **kw):
    # the SQL backends keep the GROUP BY path beside the columnar copy; the fake has only one
    return sorted(getattr(repo, "demand_cells_sql", repo.demand_cells)(*args, **kw))


FILTERS = [{}, {"brands": ["Uniqlo"]}, {"brands": ["Uniqlo", "Nope"]}, {"categories": ["Supermarket"]},
           {"product_id": 7}, {"product_id": -1}, {"since": T0 + 5, "until": T0 + 7200}, {"since": T0 + 99_999}]


def test_demand_cells_stay_equal_to_the_sql_through_inserts_and_purges(db_url, repo):
    other = open_repository(db_url)  # another process's repository: its copy must see this one's purge
    try:
        assert repo.demand_cells(7) == [] and other.demand_cells(7) == []
        repo.insert_searches(ROWS)
        for res in (3, 7, 9):
            for kw in FILTERS:
                want = _sql(repo, res, **kw)
                assert sorted(repo.demand_cells(res, **kw)) == want, (res, kw)
                assert sorted(other.demand_cells(res, **kw)) == want, (res, kw)
        repo.insert_searches([(T0 + 9000, SHANGHAI, "nearby", None, "Uniqlo", None, None, None, 1, 10.0)])
        assert sorted(other.demand_cells(9, brands=["Uniqlo"])) == _sql(repo, 9, brands=["Uniqlo"])
        assert repo.purge_searches(T0 + 3600) == 2
        for kw in FILTERS:
            assert sorted(repo.demand_cells(7, **kw)) == _sql(repo, 7, **kw)
            assert sorted(other.demand_cells(7, **kw)) == _sql(repo, 7, **kw)
        repo.purge_searches(T0 + 99_999)
        assert repo.demand_cells(7) == [] and other.demand_cells(7) == []
    finally:
        other.close()
