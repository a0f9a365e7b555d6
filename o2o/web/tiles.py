"""``GET /tiles/stores/{z}/{x}/{y}.mvt``: the open stores as Mapbox Vector Tiles.

Layer ``stores``: a store is a point with ``id``, ``name``, ``brand`` and ``category``; below zoom
17, stores sharing a 64-pixel square of the tile become one point with ``cluster: true`` and
``point_count`` (see :mod:`o2o.geo.tiles`: the points of a tile add up to the open stores inside
it). ``brand``, ``retailer`` and ``category`` filter as in the API.

A tile with no store is ``200`` with an empty body (a valid tile of no layer: MapLibre, Leaflet
plug-ins, QGIS and GDAL read it as empty), so it carries an ``ETag`` and is cached like any
other. Every tile carries an ``ETag`` made from the data revision and the tile's URL
(:mod:`o2o.web.caching`), so a repeat is a ``304``; ``Cache-Control: no-cache`` (ask again each
time: a change to any store is seen at once). Compressed like the API's data
(:mod:`o2o.web.compression`). Made from the in-memory index, never a query per tile (the
PostGIS backend can make the same tile with ``ST_AsMVT``: ``bench/bench_tiles.py`` compares them).
"""

from __future__ import annotations

import re

from flask import Blueprint, Flask, current_app, request

from ..geo import tiles as tile_math
from ..geo.index import Filters
from ..services import tiles
from .errors import ApiError
from .params import TileParams, parse_query
from .state import index, repo

bp = Blueprint("tiles", __name__)
_WHOLE = re.compile(r"[0-9]{1,7}")


def tile_address(z: str, x: str, y: str) -> tuple[int, int, int]:
    """``(z, x, y)`` from the URL; a 400 naming the field that is not a tile of the map."""
    if not _WHOLE.fullmatch(z) or int(z) > tile_math.MAX_ZOOM:
        raise ApiError(400, "invalid_parameter", f"z must be a whole number from 0 to {tile_math.MAX_ZOOM}", "z")
    zoom = int(z)
    last = 2 ** zoom - 1
    for name, value in (("x", x), ("y", y)):
        if not _WHOLE.fullmatch(value) or int(value) > last:
            raise ApiError(400, "invalid_parameter", f"{name} must be a whole number from 0 to {last} at zoom {zoom}",
                           name)
    return zoom, int(x), int(y)


def labels(app: Flask | None = None) -> tiles.StoreLabels:
    return (app or current_app).extensions["o2o_tile_labels"]


@bp.get("/tiles/stores/<z>/<x>/<y>.mvt")
def store_tile(z: str, x: str, y: str):
    """One tile of the open stores, clustered where dense."""
    zoom, col, row = tile_address(z, x, y)
    p = parse_query(TileParams, request.args)
    filters = Filters.of(p.brand or None, p.retailer or None, p.category or None)
    body = tiles.store_tile(index(), labels(), repo(), zoom, col, row, filters)
    response = current_app.response_class(body, mimetype=tile_math.MEDIA_TYPE)
    response.headers["Access-Control-Allow-Origin"] = "*"  # public data, for web maps elsewhere
    return response


def openapi_paths(error: dict) -> dict:
    """The tiles' part of the OpenAPI document (``error``: the document's error response)."""
    from .docs import query_parameters

    def coordinate(name: str, description: str, maximum: int | None = None) -> dict:
        schema = {"type": "integer", "minimum": 0}
        if maximum is not None:
            schema["maximum"] = maximum
        return {"name": name, "in": "path", "required": True, "description": description, "schema": schema}

    return {"/tiles/stores/{z}/{x}/{y}.mvt": {"get": {
        "summary": "Open stores as a Mapbox Vector Tile (layer `stores`), clustered where dense",
        "operationId": "storeTile",
        "description": "A store is a point with `id`, `name`, `brand`, `category`; below zoom 17 the stores "
                       "sharing a 64-pixel square of the tile are one point with `cluster: true` and "
                       "`point_count`. The points of a tile add up to the open stores inside it. A tile "
                       "with no store is empty (no bytes). `ETag` on the data revision; a repeat is a 304.",
        "parameters": [coordinate("z", "Zoom level", tile_math.MAX_ZOOM),
                       coordinate("x", "Tile column, 0 to 2^z - 1"),
                       coordinate("y", "Tile row from the top, 0 to 2^z - 1"),
                       *query_parameters(TileParams)],
        "responses": {"200": {"description": "The tile (empty when no store is inside it)",
                              "content": {tile_math.MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}}},
                      "400": error}}}}


def init(app: Flask) -> None:
    """Register the tiles and keep their store labels in step with the index."""
    store_labels = app.extensions["o2o_tile_labels"] = tiles.StoreLabels()
    app.extensions["o2o"].index_sync.listeners.append(store_labels.changed)
    app.register_blueprint(bp)
