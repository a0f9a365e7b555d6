"""The seeded festival's searches (issue 17): deterministic, shaped like the scans, with gaps."""

from __future__ import annotations

import pandas as pd

from o2o.seed.scans import FIRST_DAY
from o2o.services.demand import seed_searches
from o2o.services.seeding import seed
from o2o.storage.memory import MemoryRepository


def test_demo_searches_are_deterministic_surge_at_midnight_and_leave_gaps():
    repo = MemoryRepository()
    repo.migrate()
    seed(repo, 600, 0, 42, products=False)
    assert seed_searches(repo, 3000, 42) == 3000
    assert seed_searches(repo, 3000, 42) == 0          # kept when there are some already
    (rows,) = list(repo.search_batches(10_000))
    again = MemoryRepository()
    again.migrate()
    seed(again, 600, 0, 42, products=False)
    seed_searches(again, 3000, 42)
    assert list(again.search_batches(10_000))[0] == rows
    df = pd.DataFrame(rows, columns=["id", "searched_at", "h3", "kind", "words", "brand", "category", "product_id",
                                     "filters", "results", "nearest_m"])
    local = pd.to_datetime(df["searched_at"], unit="s", utc=True).dt.tz_convert("Asia/Shanghai")
    assert local.dt.day.value_counts().idxmax() == 11
    assert (local.dt.hour[local.dt.day == 11] == 0).sum() > (local.dt.hour[local.dt.day == 11] == 4).sum() * 5
    assert local.min() >= pd.Timestamp(FIRST_DAY)
    unmet = df["nearest_m"].isna() | (df["nearest_m"] > 5000)
    assert 0.05 < unmet.mean() < 0.99                    # gaps (few stores here), and demand that is met
    assert df["h3"].notna().all() and set(df["kind"]) <= {"nearby", "places"}
