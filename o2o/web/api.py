"""The JSON API (``/api/v1``): thin views that parse, call a service and render GeoJSON."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from ..geo import crs as crs_mod
from ..geo.index import Filters
from ..services import finder, qr
from . import geojson
from .errors import ApiError, not_found
from .params import NearbyParams, ViewportParams, parse_query
from .state import index, repo

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _filters(params) -> Filters:
    return Filters.of(params.brand or None, params.retailer or None, params.category or None)


def _geojson_response(body: dict, status: int = 200, **headers):
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/geo+json"
    response.headers.update(headers)
    return response


@bp.get("/stores/nearby")
def nearby():
    """GeoJSON FeatureCollection of the nearest open stores, nearest first."""
    p = parse_query(NearbyParams, request.args)
    lon, lat = crs_mod.to_wgs84(p.lon, p.lat, p.crs)
    query = finder.NearbyQuery(
        lon=lon, lat=lat, k=p.k,
        radius_m=None if p.radius_km is None else p.radius_km * 1000.0,
        filters=_filters(p),
        text=p.q or None,
    )
    result = finder.find_nearby(repo(), index(), query)
    body = geojson.collection([geojson.store_feature(s, p.crs) for s in result.stores], p.crs)
    if result.nearest is not None or (p.radius_km is not None and not result.stores):
        body["nearest"] = None if result.nearest is None else geojson.store_feature(result.nearest, p.crs)
        body["message"] = (f"No store within {p.radius_km:g} km"
                           + ("; the nearest is included as 'nearest'." if result.nearest else "."))
    return _geojson_response(body)


@bp.get("/stores")
def viewport():
    """Stores in a map viewport, clustered where dense, never more than 500 features."""
    p = parse_query(ViewportParams, request.args)
    w, s, e, n = p.bounds()
    if p.crs != crs_mod.WGS84:
        w, s = crs_mod.to_wgs84(w, s, p.crs)
        e, n = crs_mod.to_wgs84(e, n, p.crs)
    view = finder.stores_in_view(repo(), index(), (w, s, e, n), p.zoom, _filters(p))
    features = [geojson.cluster_feature(c, p.crs) for c in view.clusters]
    features += [geojson.store_feature(st, p.crs) for st in view.stores]
    return _geojson_response(geojson.collection(features, p.crs, total=view.total,
                                                 clustered=bool(view.clusters)))


@bp.get("/stores/<store_id>")
def store(store_id: str):
    """One store as a GeoJSON Feature."""
    store = repo().get_store(_store_id(store_id))
    if store is None:
        raise not_found(f"no store with id {store_id}")
    crs = _crs_arg()
    return _geojson_response(geojson.store_feature(store, crs))


@bp.get("/stores/<store_id>/qr.<any(svg, png):kind>")
def store_qr(store_id: str, kind: str):
    """QR code of the store's ``/go/{id}`` link, as SVG or PNG."""
    store = repo().get_store(_store_id(store_id))
    if store is None:
        raise not_found(f"no store with id {store_id}")
    body, mimetype = qr.render(geojson.go_url(store["id"]), kind, scale=request.args.get("scale", type=int))
    response = current_app.response_class(body, mimetype=mimetype)
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response


@bp.get("/brands")
def brands():
    """Every brand with its slug and number of open stores."""
    return jsonify(finder.list_brands(repo()))


def _store_id(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 18:
        raise ApiError(404, "not_found", f"no store with id {raw!r}", "id")
    return int(raw)


def _crs_arg() -> str:
    try:
        return crs_mod.normalise_crs(request.args.get("crs"))
    except ValueError as exc:
        raise ApiError(400, "invalid_parameter", str(exc), "crs") from None
