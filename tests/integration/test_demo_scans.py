"""The demo scans have the festival's shape and are deterministic."""

from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from o2o.seed.scans import generate_scans
from o2o.seed.stores import generate

BEIJING = timezone(timedelta(hours=8))


@pytest.fixture(scope="module")
def scans():
    stores = generate(3000, 1111).stores.reset_index(drop=True)
    stores["id"] = np.arange(1, len(stores) + 1)
    stores["retailer_id"] = 1
    cols = ["store_id", "retailer_id", "brand", "category", "lon", "lat", "province", "city", "scanned_at",
            "client_kind", "client_hash", "counted"]
    rows = generate_scans(stores, 200_000, 1111)
    return pd.DataFrame(rows, columns=cols), stores


def test_same_seed_same_scans(scans):
    _, stores = scans
    a = generate_scans(stores, 5000, 3)
    assert a == generate_scans(stores, 5000, 3)
    assert a != generate_scans(stores, 5000, 4)


def test_scans_run_from_1_to_12_november_beijing_time(scans):
    df, _ = scans
    first = datetime.fromtimestamp(df["scanned_at"].min(), BEIJING)
    last = datetime.fromtimestamp(df["scanned_at"].max(), BEIJING)
    assert first >= datetime(2026, 11, 1, tzinfo=BEIJING) and last < datetime(2026, 11, 13, tzinfo=BEIJING)


def test_festival_shape(scans):
    df, _ = scans
    local = pd.to_datetime(df["scanned_at"], unit="s", utc=True).dt.tz_convert("Asia/Shanghai")
    per_day = local.dt.day.value_counts().sort_index()
    assert per_day.idxmax() == 11
    assert list(per_day.loc[1:10]) == sorted(per_day.loc[1:10])  # a build-up
    on_11th = local[local.dt.day == 11].dt.hour.value_counts()
    assert on_11th.idxmax() == 0  # the surge just after midnight
    assert on_11th.loc[20] > 3 * on_11th.loc[4]  # an evening peak, a quiet small hours
    on_5th = local[local.dt.day == 5].dt.hour.value_counts()
    assert on_5th.loc[19:22].sum() > on_5th.loc[7:10].sum()


def test_bots_and_repeats_are_not_counted(scans):
    df, _ = scans
    assert not df.loc[df["client_kind"] == "bot", "counted"].any()
    share = 1 - df["counted"].mean()
    assert 0.05 < share < 0.15


def test_busier_brands_and_cities_get_more_scans(scans):
    df, stores = scans
    per_store = df.groupby("store_id").size().reindex(stores["id"], fill_value=0)
    city_size = stores.groupby("city")["id"].transform("count").to_numpy()
    big = per_store.to_numpy()[city_size >= np.quantile(city_size, 0.9)].mean()
    small = per_store.to_numpy()[city_size <= np.quantile(city_size, 0.1)].mean()
    assert big > small


def test_seeding_stores_scans(seeded_app):
    repo = seeded_app.extensions["o2o"].repo()
    assert repo.count_scans() == 0  # the module fixture asks for none
