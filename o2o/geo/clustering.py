"""Grid clustering of points for a map viewport, in Web Mercator pixels at the map's zoom.

Points that fall in the same square of ``cell_px`` screen pixels become one cluster, placed at
their mean position; a square holding one point stays a single point. When even that gives
more groups than the caller can draw, the squares double in size until it fits, so a viewport
never carries more than ``max_features`` features.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TILE_PX = 256
MAX_MERCATOR_LAT = 85.05112878


def mercator_px(lon, lat, zoom: float):
    """Global pixel coordinates (x right, y down) of lon/lat at a Web Mercator zoom level."""
    scale = TILE_PX * 2.0 ** zoom
    lat_r = np.radians(np.clip(np.asarray(lat, dtype=float), -MAX_MERCATOR_LAT, MAX_MERCATOR_LAT))
    x = (np.asarray(lon, dtype=float) + 180.0) / 360.0 * scale
    y = (1.0 - np.log(np.tan(lat_r) + 1.0 / np.cos(lat_r)) / np.pi) / 2.0 * scale
    return x, y


@dataclass
class Clusters:
    """Result of :func:`cluster_points`: singles are positions into the input arrays."""

    singles: np.ndarray          # positions of points drawn on their own
    lon: np.ndarray              # cluster centres
    lat: np.ndarray
    count: np.ndarray            # points per cluster
    bbox: np.ndarray             # (n, 4) min_lon, min_lat, max_lon, max_lat per cluster


def cluster_points(lon, lat, zoom: float, cell_px: float = 60.0, max_features: int = 500,
                   cluster_below_zoom: float = 17.0) -> Clusters:
    """Group points into screen-space grid clusters; see the module docstring.

    At ``zoom >= cluster_below_zoom`` points are not clustered unless there are more than
    ``max_features`` of them.

    >>> c = cluster_points([116.0, 116.0001, 120.0], [39.0, 39.0001, 30.0], zoom=5)
    >>> c.singles.tolist(), c.count.tolist()
    ([2], [2])
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    n = len(lon)
    empty = Clusters(np.empty(0, dtype=np.int64), np.empty(0), np.empty(0),
                     np.empty(0, dtype=np.int64), np.empty((0, 4)))
    if n == 0:
        return empty
    if zoom >= cluster_below_zoom and n <= max_features:
        empty.singles = np.arange(n)
        return empty
    x, y = mercator_px(lon, lat, zoom)
    cell = float(cell_px)
    while True:
        keys = np.floor(x / cell).astype(np.int64) * (1 << 31) + np.floor(y / cell).astype(np.int64)
        uniq, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
        if len(uniq) <= max_features:
            break
        cell *= 2.0
    single_groups = counts == 1
    singles = np.flatnonzero(single_groups[inverse])
    multi = np.flatnonzero(~single_groups)
    if len(multi) == 0:
        empty.singles = singles
        return empty
    # Sort points by group so each cluster is a contiguous run: then reduceat gives min/max.
    in_multi = ~single_groups[inverse]
    pts = np.flatnonzero(in_multi)
    order = pts[np.argsort(inverse[pts], kind="stable")]
    groups_sorted = inverse[order]
    starts = np.flatnonzero(np.r_[True, groups_sorted[1:] != groups_sorted[:-1]])
    lon_s, lat_s = lon[order], lat[order]
    cnt = np.diff(np.r_[starts, len(order)])
    c_lon = np.add.reduceat(lon_s, starts) / cnt
    c_lat = np.add.reduceat(lat_s, starts) / cnt
    bbox = np.column_stack((np.minimum.reduceat(lon_s, starts), np.minimum.reduceat(lat_s, starts),
                            np.maximum.reduceat(lon_s, starts), np.maximum.reduceat(lat_s, starts)))
    return Clusters(singles, c_lon, c_lat, cnt, bbox)
