"""The offline basemap: province and city outlines as compact GeoJSON for Leaflet.

Used when ``O2O_TILES=none``: with no tile server reachable, the map still shows where it is.
Outlines are simplified further than ``geodata/`` (a screen needs less than a point-in-polygon
test) and coordinates rounded to about 10 m.
"""

from __future__ import annotations

import functools
import json

import shapely

from .regions import GEODATA_DIR, load_level

# Simplification tolerance in degrees per level (~1 km for provinces, ~400 m for cities).
TOLERANCE_DEG = {"provinces": 0.01, "cities": 0.004}


@functools.lru_cache(maxsize=4)
def outlines_geojson(level: str, directory: str = str(GEODATA_DIR)) -> bytes:
    """One level's outlines as GeoJSON bytes (computed once per process)."""
    if level not in TOLERANCE_DEG:
        raise KeyError(level)
    gdf = load_level(level, directory)
    geoms = shapely.simplify(gdf.geometry.values, TOLERANCE_DEG[level], preserve_topology=True)
    geoms = shapely.set_precision(geoms, 0.0001)
    features = []
    for name, geom in zip(gdf["name"], geoms):
        if geom is None or geom.is_empty:
            continue
        features.append({"type": "Feature", "properties": {"name": name},
                         "geometry": shapely.geometry.mapping(geom)})
    body = {"type": "FeatureCollection", "features": features}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
