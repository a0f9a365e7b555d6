"""Web Mercator tiles of store points, clustered where dense, as Mapbox Vector Tiles.

A store belongs to exactly one tile at each zoom: the one whose pixel square holds it
(``floor(pixel / 256)``, Web Mercator pixels as in :mod:`o2o.geo.clustering`), so the four
children of a tile share its stores between them, none twice, none lost.

Below :data:`CLUSTER_BELOW_ZOOM` the stores of a tile are grouped on a grid of
:data:`CELL_PX`-pixel squares aligned with the tile (four by four squares per tile): a square
holding one store gives that store, a square holding more gives one cluster point at their mean
position with ``point_count``. The squares never straddle two tiles, so the points of a tile add
up exactly to the stores inside it, at every zoom. From that zoom on every store is its own point.

The tile's coordinates are integers in ``0..EXTENT`` with y down (the MVT convention), each
``floor(v + 0.5)`` of the exact position: the same arithmetic as the PostGIS query in
:mod:`o2o.storage.postgis`, so both give the same tile.

>>> t = tile_groups([121.47, 121.4701, 116.39], [31.23, 31.2301, 39.90], z=4, x=13, y=6)
>>> t.singles.tolist(), t.count.tolist()
([2], [2])
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .clustering import MAX_MERCATOR_LAT, TILE_PX, mercator_px

MAX_ZOOM = 20
EXTENT = 4096                 # MVT units across a tile
CELL_PX = 64                  # cluster squares: a quarter of a tile's 256 pixels each way
CLUSTER_BELOW_ZOOM = 17       # as the viewport API (o2o.services.finder): every store on its own from here
LAYER = "stores"
MEDIA_TYPE = "application/vnd.mapbox-vector-tile"


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """``(west, south, east, north)`` of a tile in degrees (WGS-84 lon/lat)."""
    n = 2 ** z

    def lat(row: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return x / n * 360.0 - 180.0, lat(y + 1), (x + 1) / n * 360.0 - 180.0, lat(y)


def query_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """The tile's bounds widened a little, for a first cut from an index (the exact test is
    :func:`in_tile`); the top and bottom rows reach the poles (Mercator stops at 85.05°)."""
    w, s, e, n = tile_bounds(z, x, y)
    margin = (e - w) * 1e-6
    if y == 0:
        n = 90.0
    if y == 2 ** z - 1:
        s = -90.0
    return max(-180.0, w - margin), max(-90.0, s - margin), min(180.0, e + margin), min(90.0, n + margin)


def pixels(lon, lat, z: int):
    """Global Web Mercator pixels (x right, y down) at zoom ``z``."""
    return mercator_px(lon, np.clip(np.asarray(lat, dtype=float), -MAX_MERCATOR_LAT, MAX_MERCATOR_LAT), z)


def in_tile(px, py, z: int, x: int, y: int) -> np.ndarray:
    """Which pixels fall in tile (x, y): the tile that holds a point is ``floor(pixel / 256)``
    (the last row and column also take the map's far edge)."""
    last = 2 ** z - 1
    tx = np.minimum(np.floor(px / TILE_PX), last)
    ty = np.minimum(np.floor(py / TILE_PX), last)
    return (tx == x) & (ty == y)


def to_tile(v, origin_px: float) -> np.ndarray:
    """Pixels to the tile's integer coordinates (``EXTENT / 256`` units per pixel, rounded)."""
    return np.floor((np.asarray(v, dtype=float) - origin_px) * (EXTENT / TILE_PX) + 0.5).astype(np.int64)


@dataclass
class TileGroups:
    """The stores of one tile as points: ``singles`` are positions into the input arrays."""

    singles: np.ndarray      # positions of stores drawn on their own
    single_xy: np.ndarray    # (n, 2) their tile coordinates
    cluster_xy: np.ndarray   # (m, 2) cluster points' tile coordinates
    count: np.ndarray        # stores per cluster

    @property
    def total(self) -> int:
        return int(len(self.singles) + self.count.sum())


def tile_groups(lon, lat, z: int, x: int, y: int, cell_px: int = CELL_PX,
                cluster_below_zoom: int = CLUSTER_BELOW_ZOOM) -> TileGroups:
    """The points of tile ``z/x/y`` from these stores (any stores: those outside are left out)."""
    px, py = pixels(lon, lat, z)
    inside = np.flatnonzero(in_tile(px, py, z, x, y))
    px, py = px[inside], py[inside]
    ox, oy = x * TILE_PX, y * TILE_PX
    if z >= cluster_below_zoom or len(inside) < 2:
        xy = np.column_stack((to_tile(px, ox), to_tile(py, oy))) if len(inside) else np.empty((0, 2), np.int64)
        return TileGroups(inside, xy, np.empty((0, 2), np.int64), np.empty(0, np.int64))
    # Squares numbered within the tile (the last row and column hold the map's far edge too).
    per_side = TILE_PX // cell_px
    cx = np.clip(np.floor((px - ox) / cell_px), 0, per_side - 1).astype(np.int64)
    cy = np.clip(np.floor((py - oy) / cell_px), 0, per_side - 1).astype(np.int64)
    keys = cy * per_side + cx
    uniq, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    alone = counts[inverse] == 1
    singles = inside[alone]
    single_xy = np.column_stack((to_tile(px[alone], ox), to_tile(py[alone], oy)))
    grouped = counts > 1
    n = counts[grouped]
    sum_x = np.bincount(inverse, weights=px, minlength=len(uniq))[grouped]
    sum_y = np.bincount(inverse, weights=py, minlength=len(uniq))[grouped]
    cluster_xy = np.column_stack((to_tile(sum_x / n, ox), to_tile(sum_y / n, oy)))
    return TileGroups(singles, single_xy, cluster_xy, n.astype(np.int64))


def encode(groups: TileGroups, labels: list[dict]) -> bytes:
    """The tile as MVT bytes: layer ``stores``, a store as a point with its ``labels`` (``id``,
    ``name``, ``brand``, ``category``; the store id as the feature id too), a cluster as a point
    with ``cluster: true`` and ``point_count``. No point, no bytes (an empty tile is empty).
    """
    if not len(groups.singles) and not len(groups.count):
        return b""
    import mapbox_vector_tile
    from shapely import points

    features = [{"geometry": g, "id": int(p["id"]), "properties": p}
                for g, p in zip(points(groups.single_xy), labels)]
    features += [{"geometry": g, "properties": {"cluster": True, "point_count": int(n)}}
                 for g, n in zip(points(groups.cluster_xy), groups.count)]
    return mapbox_vector_tile.encode({"name": LAYER, "features": features},
                                     default_options={"y_coord_down": True, "extents": EXTENT})


def decode(data: bytes) -> list[dict]:
    """The points of an MVT ``stores`` layer as ``{"id", "x", "y", "properties"}`` with tile
    coordinates y down (for tests and comparisons)."""
    if not data:
        return []
    import mapbox_vector_tile

    layer = mapbox_vector_tile.decode(data, default_options={"y_coord_down": True, "geojson": False}).get(LAYER)
    out = []
    for f in (layer or {}).get("features", []):
        x, y = f["geometry"]["coordinates"]
        out.append({"id": f.get("id"), "x": x, "y": y, "properties": dict(f["properties"])})
    return out
