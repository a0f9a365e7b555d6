"""H3 aggregation: points (optionally weighted) to counts per hexagon, vectorised end to end.

Cells come from h3ronpy (the H3 C library over whole arrays), counts from one pandas groupby:
no Python loop runs per point, so a million scans aggregate in well under a second.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from h3ronpy import vector

MIN_RES, MAX_RES = 3, 9


def cells(lon, lat, res: int) -> np.ndarray:
    """H3 cell ids (uint64) of WGS-84 points at resolution ``res``."""
    lat = np.ascontiguousarray(lat, dtype=np.float64)
    lon = np.ascontiguousarray(lon, dtype=np.float64)
    if len(lat) == 0:
        return np.empty(0, dtype=np.uint64)
    return np.asarray(vector.coordinates_to_cells(lat, lon, int(res)))


def aggregate(lon, lat, res: int, weights=None) -> pd.DataFrame:
    """Counts per H3 cell: a frame with ``cell`` (uint64) and ``count``, largest first.

    ``weights`` gives each point a count (e.g. scans already summed per store); the counts of
    the cells always add up to the sum of the weights.

    >>> df = aggregate([121.47, 121.4701, 116.40], [31.23, 31.2301, 39.90], 7)
    >>> df["count"].tolist()
    [2, 1]
    """
    c = cells(lon, lat, res)
    w = np.ones(len(c), dtype=np.int64) if weights is None else np.asarray(weights, dtype=np.int64)
    if len(c) == 0:
        return pd.DataFrame({"cell": np.empty(0, dtype=np.uint64), "count": np.empty(0, dtype=np.int64)})
    out = pd.DataFrame({"cell": c, "count": w}).groupby("cell", sort=False)["count"].sum().reset_index()
    return out.sort_values(["count", "cell"], ascending=[False, True], kind="stable").reset_index(drop=True)


def cell_strings(cell_ids: np.ndarray) -> list[str]:
    """H3 ids as the usual 15-character hexadecimal strings."""
    return [format(int(c), "x") for c in cell_ids]


def cell_polygons(cell_ids: np.ndarray, precision: int = 5) -> list[dict]:
    """GeoJSON Polygon geometries of cells (coordinates rounded to ~1 m at 5 decimals)."""
    if len(cell_ids) == 0:
        return []
    wkb = np.asarray(vector.cells_to_wkb_polygons(np.asarray(cell_ids, dtype=np.uint64)), dtype=object)
    geoms = shapely.from_wkb(wkb)
    geoms = shapely.set_precision(geoms, 10 ** -precision)
    return [shapely.geometry.mapping(g) for g in geoms]


def resolution_for_zoom(zoom: float) -> int:
    """The H3 resolution that gives hexagons a few dozen pixels wide at a Web Mercator zoom."""
    return int(min(MAX_RES, max(MIN_RES, round(zoom * 0.55 + 0.6))))


def heatmap_rows(cells: pd.DataFrame) -> list[dict]:
    """``[{"h3": "87309…", "count": n}, …]``: the cells of :func:`aggregate` as table rows (CSV)."""
    return [{"h3": i, "count": c} for i, c in zip(cell_strings(cells["cell"].to_numpy()), cells["count"].tolist())]


def heatmap_collection(cells: pd.DataFrame, total: int, **members) -> dict:
    """The cells of :func:`aggregate` as a GeoJSON FeatureCollection of hexagons, each Feature's
    properties ``{h3, count}``; ``total``, ``max`` and ``members`` (e.g. layer, res) beside them.
    The one builder of the heatmap answer (the analytics API and ``flask scans heatmap``).

    >>> body = heatmap_collection(aggregate([121.47, 121.4701], [31.23, 31.2301], 7), 2, res=7)
    >>> body["type"], body["total"], body["max"], body["res"], body["features"][0]["properties"]["count"]
    ('FeatureCollection', 2, 2, 7, 2)
    """
    rows = heatmap_rows(cells)
    polygons = cell_polygons(cells["cell"].to_numpy())
    features = [{"type": "Feature", "id": row["h3"], "geometry": polygon, "properties": row}
                for row, polygon in zip(rows, polygons)]
    return {"type": "FeatureCollection", "features": features, **members, "total": int(total),
            "max": max((row["count"] for row in rows), default=0)}
