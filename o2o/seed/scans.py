"""Demo QR scans with the shape of the festival, deterministic like the stores.

Beijing time: a build-up over 1–10 November, a surge just after midnight on the 11th, an evening
peak every day, a tail on the 12th. Busier stores are those of more popular brands in bigger
cities. About 3 % of scans are bots and about 6 % repeats of the same shopper within 30 minutes:
both are recorded but not counted, as the live ``/go`` endpoint does.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd

from .catalogue import BRANDS

BEIJING = timezone(timedelta(hours=8))
FIRST_DAY = datetime(2026, 11, 1, tzinfo=BEIJING)
DAYS = 12  # 1–12 November

# Relative scans per hour of a Beijing day: quiet nights, lunch, an evening peak.
HOUR_PROFILE = np.array([0.35, 0.15, 0.08, 0.05, 0.04, 0.05, 0.12, 0.3, 0.5, 0.7, 0.9, 1.0,
                         1.1, 1.0, 0.9, 0.9, 1.0, 1.1, 1.4, 1.8, 2.0, 2.0, 1.6, 0.9])


def hourly_weights() -> np.ndarray:
    """Weight of each hour from 1 Nov 00:00 to 12 Nov 23:00 Beijing time (288 hours)."""
    day_factor = np.array([1.25 ** d for d in range(10)] + [40.0, 4.0])  # 1–10 Nov, the 11th, the 12th
    w = np.outer(day_factor, HOUR_PROFILE)
    w[10, 0] *= 9.0    # the midnight surge as the festival opens
    w[10, 1] *= 3.0
    w[9, 23] *= 2.5    # the countdown on the evening of the 10th
    return w.ravel()


def generate_scans(stores: pd.DataFrame, n: int, random_seed: int) -> list[tuple]:
    """``n`` scans of open ``stores`` (a frame with the store columns and ids), as tuples in
    :attr:`SqliteRepository.SCAN_COLUMNS` order."""
    stores = stores[stores["status"] == "open"].sort_values("id").reset_index(drop=True)
    if n <= 0 or stores.empty:
        return []
    rng = np.random.default_rng(random_seed + 7919)
    popularity = {b.name: b.weight ** 0.3 for b in BRANDS}
    city_size = stores.groupby("city")["id"].transform("count").to_numpy(dtype=float)
    w = stores["brand"].map(popularity).fillna(1.0).to_numpy() * city_size ** 0.35
    w *= rng.lognormal(0.0, 0.5, len(stores))  # some stores simply do better
    pick = rng.choice(len(stores), size=n, p=w / w.sum())
    hours = hourly_weights()
    hour = rng.choice(len(hours), size=n, p=hours / hours.sum())
    start_utc = int(FIRST_DAY.timestamp())
    scanned_at = start_utc + hour * 3600 + rng.integers(0, 3600, n)
    kind = rng.choice(np.array(["phone", "desktop", "bot"]), size=n, p=[0.90, 0.07, 0.03])
    repeat = rng.random(n) < 0.06
    counted = ((kind != "bot") & ~repeat).astype(int)
    raw = rng.integers(0, 2**63 - 1, size=(n, 2), dtype=np.int64)
    hashes = [f"{a:016x}{b:016x}" for a, b in raw.tolist()]
    s = stores.iloc[pick]
    order = np.argsort(scanned_at, kind="stable")
    cols = [s["id"].to_numpy(), s["retailer_id"].to_numpy(), s["brand"].to_numpy(), s["category"].to_numpy(),
            s["lon"].to_numpy(), s["lat"].to_numpy(), s["province"].to_numpy(), s["city"].to_numpy(),
            scanned_at, kind, np.array(hashes, dtype=object), counted]
    cols = [c[order] for c in cols]
    return list(zip(*(c.tolist() for c in cols)))


# About a third of the demo scans are of a product's shelf label (``/go/{store}?product=``).
PRODUCT_SCAN_SHARE = 0.35
# A store's first lines (its brand's catalogue order: down jackets before T-shirts) are scanned more.
PRODUCT_SKEW = 1.6


def generate_product_scans(scans: list[tuple[int, int]], stock_lines: list[tuple], random_seed: int,
                           share: float = PRODUCT_SCAN_SHARE) -> list[tuple[int, int]]:
    """``(scan_id, product_id)`` for about ``share`` of ``scans`` (``(scan_id, store_id)``, in id order):
    each a product the scanned store has in stock or limited (``stock_lines`` as the seed makes them:
    ``(store_id, product_id, availability, …)``). The same scans, stock and seed give the same pairs."""
    lines = np.array([(s, p) for s, p, availability, *_ in stock_lines if availability != "out_of_stock"],
                     dtype=np.int64).reshape(-1, 2)
    if not len(scans) or not len(lines):
        return []
    lines = lines[np.lexsort((lines[:, 1], lines[:, 0]))]          # by store, then product
    stores, first, count = np.unique(lines[:, 0], return_index=True, return_counts=True)
    scan_ids = np.fromiter((i for i, _ in scans), dtype=np.int64, count=len(scans))
    scan_stores = np.fromiter((s for _, s in scans), dtype=np.int64, count=len(scans))
    at = np.searchsorted(stores, scan_stores)
    has = (at < len(stores)) & (stores[np.minimum(at, len(stores) - 1)] == scan_stores)
    rng = np.random.default_rng([random_seed, 17])
    pick = has & (rng.random(len(scans)) < share)
    at = at[pick]
    offset = np.minimum((rng.random(len(at)) ** PRODUCT_SKEW * count[at]).astype(np.int64), count[at] - 1)
    return list(zip(scan_ids[pick].tolist(), lines[first[at] + offset, 1].tolist()))
