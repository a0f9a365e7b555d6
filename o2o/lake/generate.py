"""Generated scans written straight to the lake: millions of festival-shaped scans, no database.

The shape is the demo seed's (:mod:`o2o.seed.scans`): the same hour-of-day and day-of-festival
weights, busier stores for more popular brands in bigger cities, ~3 % bots and ~6 % repeats not
counted. Stores are the demo generator's (:func:`o2o.seed.stores.generate`), numbered as a fresh
database numbers them. Everything follows from ``random_seed`` (and the fixed chunk size): the
same arguments write the same rows. Work is one day at a time, in chunks of ``chunk_rows``
scans, so memory does not grow with ``n_scans``.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa

from ..seed import DEFAULT_RANDOM_SEED
from ..seed.catalogue import BRANDS
from ..seed.scans import DAYS, FIRST_DAY, hourly_weights
from . import layout

CHUNK_ROWS = 1_000_000
KINDS = ("phone", "desktop", "bot")
KIND_P = (0.90, 0.07, 0.03)
REPEAT_P = 0.06


def demo_stores(n_stores: int = 30_000, random_seed: int = DEFAULT_RANDOM_SEED) -> pd.DataFrame:
    """The demo stores with the ids and retailer ids a freshly seeded database gives them."""
    from ..seed.stores import generate

    data = generate(n_stores, random_seed)
    stores = data.stores.reset_index(drop=True)
    retailer_ids = {r["name"]: i for i, r in enumerate(data.retailers, start=1)}
    stores["id"] = np.arange(1, len(stores) + 1)
    stores["retailer_id"] = stores["retailer"].map(retailer_ids).astype(np.int64)
    return stores


def _store_weights(stores: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    # As o2o.seed.scans.generate_scans weighs stores: brand popularity × city size, and luck.
    popularity = {b.name: b.weight ** 0.3 for b in BRANDS}
    city_size = stores.groupby("city")["id"].transform("count").to_numpy(dtype=float)
    w = stores["brand"].map(popularity).fillna(1.0).to_numpy() * city_size ** 0.35
    w *= rng.lognormal(0.0, 0.5, len(stores))
    return w / w.sum()


def _cdf(p) -> np.ndarray:
    c = np.cumsum(np.asarray(p, dtype=float))
    return c / c[-1]


def generate_lake(out_dir, n_scans: int, random_seed: int = DEFAULT_RANDOM_SEED, n_stores: int = 30_000,
                  stores: pd.DataFrame | None = None, chunk_rows: int = CHUNK_ROWS,
                  progress: Callable[[int], None] | None = None) -> dict:
    """Write ``n_scans`` generated scans to a lake at ``out_dir`` (replacing it); returns a summary."""
    t0 = time.perf_counter()
    if stores is None:
        stores = demo_stores(n_stores, random_seed)
    stores = stores[stores["status"] == "open"].sort_values("id").reset_index(drop=True)
    if stores.empty:
        raise ValueError("no open stores to scan")
    rng = np.random.default_rng([random_seed, 0x5CA75])
    store_cdf = _cdf(_store_weights(stores, rng))

    def codes(column):
        c, labels = pd.factorize(stores[column].astype(object), use_na_sentinel=True)
        return c.astype(np.int32), [str(x) for x in labels]

    prov_code, provinces = codes("province")
    dict_cols = {name: codes(name) for name in ("retailer", "brand", "category", "city")}
    s_id = stores["id"].to_numpy(np.int64)
    s_rid = stores["retailer_id"].to_numpy(np.int64)
    s_lon = stores["lon"].to_numpy(np.float64)
    s_lat = stores["lat"].to_numpy(np.float64)
    kind_cdf = _cdf(KIND_P)

    hours = hourly_weights().reshape(DAYS, 24)
    day_counts = rng.multinomial(int(n_scans), hours.sum(axis=1) / hours.sum())
    start = int(FIRST_DAY.timestamp())
    next_id = 1
    with layout.Staging(out_dir) as tmp:
        writer = layout.PartitionWriter(Path(tmp))
        try:
            for d in range(DAYS):
                day = layout.beijing_day_of(start + d * 86400)
                hour_cdf = _cdf(hours[d])
                remaining = int(day_counts[d])
                while remaining > 0:
                    m = min(chunk_rows, remaining)
                    remaining -= m
                    pick = np.searchsorted(store_cdf, rng.random(m), side="right").clip(0, len(stores) - 1)
                    hour = np.searchsorted(hour_cdf, rng.random(m), side="right").clip(0, 23)
                    scanned_at = start + d * 86400 + hour * 3600 + rng.integers(0, 3600, m)
                    kind = np.searchsorted(kind_cdf, rng.random(m), side="right").clip(0, 2)
                    counted = (kind != 2) & (rng.random(m) >= REPEAT_P)
                    # ids in time order; rows grouped by province, in time order within it
                    ids = np.empty(m, dtype=np.int64)
                    ids[np.argsort(scanned_at, kind="stable")] = np.arange(next_id, next_id + m)
                    next_id += m
                    prov = prov_code[pick]
                    order = np.lexsort((ids, prov))
                    pick, scanned_at, kind, counted, ids, prov = (
                        a[order] for a in (pick, scanned_at, kind, counted, ids, prov))
                    lon, lat = s_lon[pick], s_lat[pick]
                    arrays = {
                        "scan_id": pa.array(ids),
                        "scanned_at": pa.array(scanned_at.astype(np.int64), type=pa.timestamp("s", tz="UTC")),
                        "store_id": pa.array(s_id[pick]),
                        "retailer_id": pa.array(s_rid[pick]),
                        **{name: layout.dictionary(c[pick], labels) for name, (c, labels) in dict_cols.items()},
                        "lon": pa.array(lon),
                        "lat": pa.array(lat),
                        "client_kind": layout.dictionary(kind, KINDS),
                        "counted": pa.array(counted),
                        "geometry": layout.wkb_points(lon, lat),
                    }
                    table = pa.table([arrays[c] for c in layout.COLUMNS], schema=layout.SCHEMA)
                    bounds = np.flatnonzero(np.diff(prov)) + 1
                    for s, e in zip([0, *bounds.tolist()], [*bounds.tolist(), m]):
                        p = int(prov[s])
                        writer.write(day, None if p < 0 else provinces[p], table.slice(s, e - s))
                    if progress:
                        progress(m)
                writer.finish_day(day)
            summary = writer.close()
        except BaseException:
            writer.abort()
            raise
        summary["max_scan_id"] = next_id - 1
        summary["seconds"] = round(time.perf_counter() - t0, 3)
        layout.write_manifest(tmp, summary, source="generated", random_seed=random_seed, stores=len(stores),
                              written_at=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    return summary
