"""Demand: where shoppers looked for a brand, a category or a product, and where they found nothing near.

Read from the searches kept by :mod:`o2o.services.search_log` (no personal data: a time, an H3
cell at resolution 9, the words and filters, the results). A search is *unmet* when its nearest
match was more than 5 km away or there was none (:data:`o2o.storage.demand.UNMET_M`).

* :func:`cells` — searches and unmet searches per H3 cell at resolution 3–9 (one ``GROUP BY`` in
  SQL over the cells' parents), the analysts' map; :func:`collection` its GeoJSON.
* :func:`regions` — the same per province or city (resolution-7 cells placed in the district
  polygons by their centres: a cell of ~5 km² straddles a border now and then, the table is per
  city, not per street).
* :func:`suggestions` — for a retailer's brand, the cities where unmet demand is highest and none
  of its stores is within 5 km, with the population there and its nearest store.
* :func:`store_reach` — around each of a retailer's stores, the searches that found it.
"""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from ..geo import h3agg
from ..geo.distance import EARTH_RADIUS_M, unit_vectors
from ..search.text import fold, has_cjk
from ..storage.demand import UNMET_M
from .windows import Window

REGION_RES = 7
SUGGEST_RADIUS_M = 5000.0      # no own store this near a suggested place
CITY_REACH_M = 15_000.0        # a search counts for the nearest city this near
REACH_M = 5000.0               # a search "found" the nearest own store this near
CELLS_META = pd.DataFrame({"cell": pd.Series([], dtype="uint64"), "searches": pd.Series([], dtype="int64"),
                           "unmet": pd.Series([], dtype="int64")})


def frame(rows) -> pd.DataFrame:
    """``(cell, searches, unmet)`` rows → a frame, most searches first, then by cell (stable order)."""
    if not len(rows):
        return CELLS_META.copy()
    df = pd.DataFrame(rows, columns=["cell", "searches", "unmet"]).astype(
        {"cell": "uint64", "searches": "int64", "unmet": "int64"})
    return df.sort_values(["searches", "cell"], ascending=[False, True], kind="stable").reset_index(drop=True)


def cells(repo, res: int, window: Window = Window(), brands=(), categories=(), product_id=None,
          bbox=None) -> pd.DataFrame:
    """Searches and unmet searches per H3 cell at ``res`` (3–9): ``cell`` (uint64), ``searches``, ``unmet``."""
    if not h3agg.MIN_RES <= int(res) <= h3agg.MAX_RES:
        raise ValueError("res must be between 3 and 9")
    df = frame(repo.demand_cells(int(res), window.since, window.until, list(brands) or None,
                                 list(categories) or None, product_id))
    if bbox is not None and len(df):
        lon, lat = cell_centres(df["cell"].to_numpy())
        w, s, e, n = bbox
        df = df[(lon >= w) & (lon <= e) & (lat >= s) & (lat <= n)].reset_index(drop=True)
    return df


def cell_centres(cell_ids) -> tuple[np.ndarray, np.ndarray]:
    """(lon, lat) arrays of the cells' centres."""
    from h3ronpy import vector
    import shapely

    if len(cell_ids) == 0:
        return np.empty(0), np.empty(0)
    pts = shapely.from_wkb(np.asarray(vector.cells_to_wkb_points(np.asarray(cell_ids, dtype=np.uint64)), dtype=object))
    return shapely.get_x(pts), shapely.get_y(pts)


def rows(df: pd.DataFrame) -> list[dict]:
    """The cells as table rows ``{h3, searches, unmet}`` (CSV)."""
    return [{"h3": h, "searches": n, "unmet": u} for h, n, u in
            zip(h3agg.cell_strings(df["cell"].to_numpy()), df["searches"].tolist(), df["unmet"].tolist())]


def collection(df: pd.DataFrame, **members) -> dict:
    """The cells as a GeoJSON FeatureCollection of hexagons with ``{h3, searches, unmet}``, and the
    totals beside them (``searches``, ``unmet``, ``max``)."""
    props = rows(df)
    polygons = cell_polygons(df["cell"].to_numpy())
    features = [{"type": "Feature", "id": p["h3"], "geometry": g, "properties": p} for p, g in zip(props, polygons)]
    return {"type": "FeatureCollection", "features": features, **members,
            "searches": int(df["searches"].sum()), "unmet": int(df["unmet"].sum()),
            "max": int(df["searches"].max()) if len(df) else 0}


POLYGON_CACHE_MAX = 500_000    # hexagons kept per process (~0.7 kB each): cells are few, their shapes fixed
_polygons: dict[tuple[int, int], dict] = {}
_polygons_lock = threading.Lock()


def cell_polygons(cell_ids, precision: int = 5) -> list[dict]:
    """GeoJSON Polygons of cells, coordinates rounded (~1 m at 5 decimals): as
    :func:`o2o.geo.h3agg.cell_polygons`, with the coordinates cut from one array rather than
    mapped geometry by geometry (a country's res-7 cells: tens of thousands). A cell's hexagon
    never changes: each is made once per process and kept (the dicts are shared: not to be
    changed by the caller)."""
    keys = [(int(c), precision) for c in np.asarray(cell_ids, dtype=np.uint64).tolist()]
    with _polygons_lock:
        missing = list(dict.fromkeys(k for k in keys if k not in _polygons))
        if len(_polygons) + len(missing) > POLYGON_CACHE_MAX:
            _polygons.clear()
            missing = list(dict.fromkeys(keys))
        if missing:
            cells_ = np.array([c for c, _ in missing], dtype=np.uint64)
            _polygons.update(zip(missing, _make_polygons(cells_, precision)))
        return [_polygons[k] for k in keys]


def _make_polygons(cell_ids, precision: int) -> list[dict]:
    from h3ronpy import vector
    import shapely

    if len(cell_ids) == 0:
        return []
    geoms = shapely.from_wkb(np.asarray(vector.cells_to_wkb_polygons(np.asarray(cell_ids, dtype=np.uint64)),
                                        dtype=object))
    coords = np.round(shapely.get_coordinates(geoms), precision).tolist()
    ends = np.cumsum(shapely.get_num_coordinates(geoms)).tolist()
    out, start = [], 0
    for end in ends:
        out.append({"type": "Polygon", "coordinates": [coords[start:end]]})
        start = end
    return out


def located_cells(regions_obj, df: pd.DataFrame) -> pd.DataFrame:
    """The frame with the ``province`` and ``city`` of each cell's centre."""
    lon, lat = cell_centres(df["cell"].to_numpy())
    where = regions_obj.locate(lon, lat) if len(df) else pd.DataFrame({"province": [], "city": []})
    out = df.copy()
    out["province"] = where["province"].to_numpy()
    out["city"] = where["city"].to_numpy()
    out["lon"], out["lat"] = lon, lat
    return out


def regions_table(located: pd.DataFrame, level: str) -> pd.DataFrame:
    """Per province (or city): searches, unmet, the share met, and a bbox; most searches first."""
    if level not in ("province", "city"):
        raise ValueError("level must be province or city")
    keys = ["province"] if level == "province" else ["province", "city"]
    cols = keys + ["searches", "unmet", "share_met", "west", "south", "east", "north"]
    located = located.dropna(subset=keys)
    if located.empty:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in cols})
    out = located.groupby(keys).agg(searches=("searches", "sum"), unmet=("unmet", "sum"), west=("lon", "min"),
                                    south=("lat", "min"), east=("lon", "max"), north=("lat", "max")).reset_index()
    out["share_met"] = (1 - out["unmet"] / out["searches"]).round(4)
    out = out.sort_values(["searches"] + keys, ascending=[False] + [True] * len(keys), kind="stable")
    return out[cols].reset_index(drop=True)


def regions(repo, regions_obj, level: str, window: Window = Window(), brands=(), categories=(),
            product_id=None) -> pd.DataFrame:
    """:func:`regions_table` of the searches in the window and filters."""
    return regions_table(located_cells(regions_obj, cells(repo, REGION_RES, window, brands, categories, product_id)),
                         level)


def _nearest_m(from_lon, from_lat, to_lon, to_lat) -> np.ndarray:
    """Great-circle metres from each ``from`` point to the nearest ``to`` point (inf without any)."""
    if len(to_lon) == 0:
        return np.full(len(from_lon), np.inf)
    if len(from_lon) == 0:
        return np.empty(0)
    chord, _ = cKDTree(unit_vectors(to_lon, to_lat)).query(unit_vectors(from_lon, from_lat), k=1)
    return 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(chord / 2, 1))


def suggestions(repo, places: pd.DataFrame, brand: str, own_stores: list[dict], window: Window = Window(),
                limit: int = 20) -> list[dict]:
    """Where the retailer should open next for ``brand``, best first.

    Each unmet search for the brand counts for the nearest city (``places``: the GeoNames cities of
    :func:`o2o.services.analytics.urban_places`) within 15 km; a city qualifies when none of
    ``own_stores`` (the retailer's open stores of the brand) is within 5 km of its centre. Ranked by
    unmet searches, then population."""
    df = cells(repo, 9, window, [brand])
    df = df[df["unmet"] > 0]
    if df.empty or places.empty:
        return []
    lon, lat = cell_centres(df["cell"].to_numpy())
    p_lon, p_lat = places["lon"].to_numpy(dtype=float), places["lat"].to_numpy(dtype=float)
    chord, idx = cKDTree(unit_vectors(p_lon, p_lat)).query(unit_vectors(lon, lat), k=1)
    dist = 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(chord / 2, 1))
    near = dist <= CITY_REACH_M
    per_city = pd.DataFrame({"place": idx[near], "unmet": df["unmet"].to_numpy()[near],
                             "searches": df["searches"].to_numpy()[near]}).groupby("place").sum()
    if per_city.empty:
        return []
    chosen = places.iloc[per_city.index.to_numpy()].assign(unmet=per_city["unmet"].to_numpy(),
                                                           searches=per_city["searches"].to_numpy())
    s_lon = np.array([s["lon"] for s in own_stores], dtype=float)
    s_lat = np.array([s["lat"] for s in own_stores], dtype=float)
    chosen = chosen.assign(nearest_own_store_m=_nearest_m(chosen["lon"].to_numpy(), chosen["lat"].to_numpy(),
                                                          s_lon, s_lat))
    chosen = chosen[chosen["nearest_own_store_m"] > SUGGEST_RADIUS_M]
    chosen = chosen.sort_values(["unmet", "population", "geonameid"], ascending=[False, False, True], kind="stable")
    out = []
    for r in chosen.head(limit).itertuples():
        nearest = None if not np.isfinite(r.nearest_own_store_m) else round(float(r.nearest_own_store_m))
        out.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [round(float(r.lon), 5),
                                                                                     round(float(r.lat), 5)]},
                    "properties": {"brand": brand, "city": fold(r.name_zh) if has_cjk(r.name_zh) else r.name_zh, "city_en": r.name, "province": r.province,
                                   "searches": int(r.unmet), "all_searches": int(r.searches),
                                   "population": int(r.population), "nearest_own_store_m": nearest}})
    return out


def store_reach(repo, own_stores: list[dict], window: Window = Window()) -> dict[int, dict]:
    """Per own open store: the searches for its brand that were met, from cells whose nearest own
    store of that brand it is (within 5 km): ``{store_id: {"searches": n}}``."""
    out = {int(s["id"]): {"searches": 0} for s in own_stores}
    by_brand: dict[str, list[dict]] = {}
    for s in own_stores:
        by_brand.setdefault(s["brand"], []).append(s)
    for brand, stores in by_brand.items():
        df = cells(repo, 9, window, [brand])
        met = (df["searches"] - df["unmet"]).to_numpy()
        if not len(df) or not met.any():
            continue
        lon, lat = cell_centres(df["cell"].to_numpy())
        s_lon = np.array([s["lon"] for s in stores], dtype=float)
        s_lat = np.array([s["lat"] for s in stores], dtype=float)
        chord, idx = cKDTree(unit_vectors(s_lon, s_lat)).query(unit_vectors(lon, lat), k=1)
        dist = 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(chord / 2, 1))
        keep = (dist <= REACH_M) & (met > 0)
        counts = np.bincount(idx[keep], weights=met[keep], minlength=len(stores))
        for s, n in zip(stores, counts.tolist()):
            out[int(s["id"])]["searches"] = int(n)
    return out


def seed_searches(repo, n: int, random_seed: int) -> int:
    """The demo festival's searches (:mod:`o2o.seed.searches`) among the stores there are, when
    there are stores and no searches yet (re-seeding keeps the searches); how many were added."""
    if n <= 0 or repo.count_searches() or not repo.count_stores("open"):
        return 0
    from ..seed.searches import generate_searches

    stores = pd.DataFrame(list(repo.iter_stores()))
    return repo.insert_searches(generate_searches(stores, n, random_seed))
