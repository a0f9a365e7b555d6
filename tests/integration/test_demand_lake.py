"""The searches' lake (issue 17) answers what the database answers: same cells, searches, unmet."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest

from o2o.lake import demand as lake
from o2o.services import demand
from o2o.services.seeding import seed
from o2o.services.windows import Window, parse_time
from o2o.storage.memory import MemoryRepository


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    repo = MemoryRepository()
    repo.migrate()
    seed(repo, 500, 0, 7, products=False)
    demand.seed_searches(repo, 4000, 7)
    repo.insert_searches([(1_794_330_000, None, "products", "羽绒服", None, None, None, None, 3, None)])
    out = tmp_path_factory.mktemp("lake") / "searches"
    summary = lake.export_searches(repo, out, batch_size=1500)
    return repo, out, summary


def _same(a: pd.DataFrame, b: pd.DataFrame):
    key = ["cell", "searches", "unmet"]
    pd.testing.assert_frame_equal(a[key].sort_values("cell").reset_index(drop=True),
                                  b[key].sort_values("cell").reset_index(drop=True), check_dtype=False)


@pytest.mark.parametrize("res, since, until, brands", [
    (7, None, None, ()),
    (5, "2026-11-10T23:00:00+08:00", "2026-11-11T03:00:00+08:00", ()),
    (9, None, None, ("Uniqlo", "Midea")),
])
def test_the_lake_and_the_database_agree(exported, res, since, until, brands):
    repo, out, _ = exported
    s = None if since is None else parse_time(since)
    u = None if until is None else parse_time(until)
    want = demand.cells(repo, res, Window(s, u), brands)
    assert len(want)
    _same(lake.demand_cells_local(out, res, s, u, brands), want)
    _same(lake.demand_cells_dask(out, res, s, u, brands), want)


def test_the_lake_keeps_no_words_and_no_points(exported):
    _, out, summary = exported
    assert summary["rows"] == 4001
    files = sorted(out.glob("day=*/*.parquet"))
    table = pq.read_table(files[0])
    assert "words" not in table.column_names and "filters" not in table.column_names
    assert table.schema.metadata[b"geo"]
