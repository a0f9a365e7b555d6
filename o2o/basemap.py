"""The offline basemap: province and city outlines as compact GeoJSON for Leaflet.

Used when ``O2O_TILES=none``: with no tile server reachable, the map still shows where it is.
Outlines are simplified further than ``geodata/`` (a screen needs less than a point-in-polygon
test) and coordinates rounded to about 10 m.
"""

from __future__ import annotations

import functools
import gzip
import json

import shapely

from .regions import GEODATA_DIR, load_level

# Simplification tolerance and coordinate grid in degrees per level, chosen for a phone's bytes:
# provinces (drawn as outlines from zoom 3 to 6, where a pixel is 2-20 km; closer, the land's
# fill under the cities) at ~5 km and a 2 km grid: 18 KB with brotli for all of China, which every
# first visit downloads (47 KB at ~2 km / 500 m, 89 KB at ~1 km / 100 m; bench/bench_wire.py);
# cities (zoom 7-9) at ~1 km and a 200 m grid, sent for the view only; districts (zoom 10 and
# closer) at ~150 m and a 10 m grid, for the view.
TOLERANCE_DEG = {"provinces": 0.05, "cities": 0.01, "districts": 0.0015}
PRECISION_DEG = {"provinces": 0.02, "cities": 0.002, "districts": 0.0001}
LEVELS_WHOLE = ("provinces", "cities")   # may be asked for whole (the map asks cities by view)
MAX_BBOX_DEG = {"cities": 20.0, "districts": 4.0}  # widest view a level is sent for


@functools.lru_cache(maxsize=4)
def _simplified(level: str, directory: str):
    gdf = load_level(level, directory)
    geoms = shapely.simplify(gdf.geometry.values, TOLERANCE_DEG[level], preserve_topology=True)
    geoms = shapely.set_precision(geoms, PRECISION_DEG[level])
    labels = shapely.point_on_surface(geoms)
    tree = shapely.STRtree(geoms)
    return list(gdf["name"]), geoms, labels, tree


def _collection(names, geoms, labels, positions) -> bytes:
    features = []
    for i in positions:
        geom = geoms[i]
        if geom is None or geom.is_empty:
            continue
        features.append({"type": "Feature",
                         "properties": {"name": names[i], "label": [round(labels[i].x, 4), round(labels[i].y, 4)]},
                         "geometry": shapely.geometry.mapping(geom)})
    body = {"type": "FeatureCollection", "features": features}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@functools.lru_cache(maxsize=4)
def outlines_gzip(level: str, directory: str = str(GEODATA_DIR)) -> bytes:
    """The same bytes gzip-compressed once per process (outlines compress about 4:1)."""
    return gzip.compress(outlines_geojson(level, directory), compresslevel=9, mtime=0)


@functools.lru_cache(maxsize=4)
def outlines_geojson(level: str, directory: str = str(GEODATA_DIR)) -> bytes:
    """A whole level's outlines (provinces or cities) as GeoJSON bytes, computed once."""
    if level not in LEVELS_WHOLE:
        raise KeyError(level)
    names, geoms, labels, _ = _simplified(level, directory)
    return _collection(names, geoms, labels, range(len(names)))


def outlines_in_bbox(level: str, bbox: tuple[float, float, float, float],
                     directory: str = str(GEODATA_DIR)) -> bytes:
    """Outlines of one level that meet a lon/lat box (for districts, too many to send whole)."""
    if level not in TOLERANCE_DEG:
        raise KeyError(level)
    names, geoms, labels, tree = _simplified(level, directory)
    hits = sorted(tree.query(shapely.box(*bbox), predicate="intersects").tolist())
    return _collection(names, geoms, labels, hits)
