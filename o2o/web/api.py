"""The JSON API (``/api/v1``): thin views that parse, call a service and render GeoJSON."""

from __future__ import annotations

import json
import re

import numpy as np
import orjson

from flask import Blueprint, current_app, g, jsonify, request

from ..geo import crs as crs_mod
from ..geo.index import Filters
from ..services import finder, importer, qr, registry
from ..services import search as search_service
from ..services.validation import has_lone_surrogate
from . import api_messages, demand, geojson
from .errors import ApiError, not_found
from .limits import limit_writes
from .params import NearbyParams, PlacesParams, SuggestParams, ViewportParams, parse_query
from .params import store_id as _store_id
from ..geo.hours import now_beijing
from . import auth, features
from .state import index, repo, search_index, state

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
    if p.crs == crs_mod.WGS84:
        if not query.text:
            ids, dist, fallback = finder.nearby_ids(index(), query)
            demand.note_nearby(p, lon, lat, ids, dist, fallback)
            return _nearby_fast(ids, dist, fallback, p.radius_km)
        found = finder.search_ids(search_index(), query)
        demand.note_nearby(p, lon, lat, found.ids, found.distance_m, found.fallback, found.matched_all)
        extra = {"place": found.place.feature()} if found.place is not None else None
        return _nearby_fast(found.ids, found.distance_m, found.fallback, p.radius_km, extra)
    result = finder.find_nearby(repo(), index(), query, search=search_index() if query.text else None)
    demand.note_nearby(p, lon, lat, [s["id"] for s in result.stores], np.array([s["distance_m"] for s in result.stores]),
                       None if result.nearest is None else ([result.nearest["id"]], [result.nearest["distance_m"]]))
    body = geojson.collection([geojson.store_feature(s, p.crs) for s in result.stores], p.crs)
    if result.place is not None:
        body["place"] = _place_feature(result.place.feature(), p.crs)
    if result.nearest is not None or (p.radius_km is not None and not result.stores):
        body["nearest"] = None if result.nearest is None else geojson.store_feature(result.nearest, p.crs)
        body["message"] = _no_store_message(p.radius_km, result.nearest is not None)
    return _geojson_response(body)


def _no_store_message(radius_km: float, has_nearest: bool) -> str:
    return f"No store within {radius_km:g} km" + ("; the nearest is included as 'nearest'." if has_nearest else ".")


def _nearby_fast(ids, dist, fallback, radius_km: float | None, extra: dict | None = None):
    """The common case (WGS-84) from pre-serialised Features: see features.py."""
    cache, r = state().features, repo()
    body = nearby_body(lambda wanted: cache.fragments(r, wanted), ids, dist, fallback, radius_km,
                       (geojson.public_base() + "/go/").encode(), features.moment(now_beijing()), extra)
    return current_app.response_class(body, mimetype="application/geo+json")


def nearby_body(fragments, ids, dist, fallback, radius_km: float | None, go_base: bytes, at,
                extra: dict | None = None) -> bytes:
    """A nearby answer's bytes: the Features of ``ids`` (nearest first, at ``dist`` metres) from
    ``fragments(ids) -> {id: Fragment}`` (open stores only), and with a radius that held none,
    the nearest store beyond it (``fallback``) and a message. Shared with the WSGI-level path
    (:mod:`o2o.web.fastpath`), whose ``fragments`` answers from memory alone."""
    wanted = ids.tolist()
    found = features.Nearest(fragments(wanted), wanted, dist.tolist(), go_base, at)
    members = {}
    if radius_km is not None and not found.count:
        nearest = b"null"
        if fallback is not None and len(fallback[0]):
            sid, d = int(fallback[0][0]), float(fallback[1][0])
            got = fragments([sid])
            if sid in got:
                nearest = features.FeatureCache.feature(got[sid], sid, go_base, at, d)
        members = {"nearest": nearest, "message": _no_store_message(radius_km, nearest != b"null")}
    if extra:
        members.update(extra)
    return found.body(members)


@bp.get("/stores")
def viewport():
    """Stores in a map viewport, clustered where dense, never more than 500 features."""
    p = parse_query(ViewportParams, request.args)
    w, s, e, n = p.bounds()
    if p.crs != crs_mod.WGS84:
        w, s = crs_mod.to_wgs84(w, s, p.crs)
        e, n = crs_mod.to_wgs84(e, n, p.crs)
    if p.crs == crs_mod.WGS84:
        ids, clusters, total = finder.ids_in_view(index(), (w, s, e, n), p.zoom, _filters(p))
        cache = state().features
        go_base = (geojson.public_base() + "/go/").encode()
        at = features.moment(now_beijing())
        wanted = ids.tolist()
        frags = cache.fragments(repo(), wanted)
        parts = [orjson.dumps(geojson.cluster_feature(c)) for c in clusters]
        parts += [cache.feature(frags[sid], sid, go_base, at, None) for sid in wanted if sid in frags]
        body = features.collection(parts, {"total": total, "clustered": bool(clusters)})
        return current_app.response_class(body, mimetype="application/geo+json")
    view = finder.stores_in_view(repo(), index(), (w, s, e, n), p.zoom, _filters(p))
    feats = [geojson.cluster_feature(c, p.crs) for c in view.clusters]
    feats += [geojson.store_feature(st, p.crs) for st in view.stores]
    return _geojson_response(geojson.collection(feats, p.crs, total=view.total, clustered=bool(view.clusters)))


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
    body, mimetype = qr.render(geojson.go_url(store["id"]), kind, scale=_scale_arg())
    response = current_app.response_class(body, mimetype=mimetype)
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response


def _shopper(p) -> tuple[float | None, float | None]:
    if p.lat is None:
        return None, None
    return crs_mod.to_wgs84(p.lon, p.lat, p.crs)


def _out(lon: float, lat: float, crs: str) -> list[float]:
    if crs == crs_mod.WGS84:
        return [lon, lat]
    x, y = crs_mod.from_wgs84(lon, lat, crs)
    return [round(x, 6), round(y, 6)]


def _place_feature(feat: dict, crs: str) -> dict:
    """A place's Feature (WGS-84 from the gazetteer) in the coordinate system asked for."""
    if crs != crs_mod.WGS84:
        w, s, e, n = feat["bbox"]
        feat["bbox"] = [*_out(w, s, crs), *_out(e, n, crs)]
        feat["geometry"]["coordinates"] = _out(*feat["geometry"]["coordinates"], crs)
    return feat


@bp.get("/places")
def places():
    """Provinces, cities, districts, malls and streets matching the words or pinyin, best first."""
    p = parse_query(PlacesParams, request.args)
    lon, lat = _shopper(p)
    found = search_service.find_places(search_index(), p.q, limit=p.limit, lon=lon, lat=lat)
    demand.note_places(p.q, lon, lat, found)
    feats = []
    for place in found:
        feats.append(_place_feature(place.feature(), p.crs))
    return _geojson_response(geojson.collection(feats, p.crs))


@bp.get("/suggest")
def suggest():
    """As-you-type suggestions: brands, categories, places, and stores near the shopper."""
    p = parse_query(SuggestParams, request.args)
    lon, lat = _shopper(p)
    items = search_service.suggest(search_index(), p.q, lon=lon, lat=lat, limit=p.limit)
    if p.crs != crs_mod.WGS84:
        for item in items:
            if item["type"] == "place":
                item["lon"], item["lat"] = _out(item["lon"], item["lat"], p.crs)
                w, s, e, n = item["bbox"]
                item["bbox"] = [*_out(w, s, p.crs), *_out(e, n, p.crs)]
    return jsonify({"suggestions": items})


@bp.get("/brands")
def brands():
    """Every brand with its slug and number of open stores."""
    return jsonify(finder.list_brands(repo()))


# ----------------------------------------------------------------------------- retailers' writes
MAX_JSON_BODY_BYTES = 64 * 1024  # one store is at most ~1.5 KB of fields; files go to /import


def _json_body() -> dict:
    if request.mimetype not in ("application/json", "application/geo+json"):
        raise ApiError(415, "unsupported_media_type", "send the store as JSON (Content-Type: application/json)",
                       "body")
    if (request.content_length or 0) > MAX_JSON_BODY_BYTES:
        raise _body_too_large()
    raw = request.stream.read(MAX_JSON_BODY_BYTES + 1)  # also bounds a body sent without a length
    if len(raw) > MAX_JSON_BODY_BYTES:
        raise _body_too_large()
    try:
        body = json.loads(raw or b"null")
    except (ValueError, RecursionError):
        raise ApiError(400, "invalid_json", "the body is not valid JSON", "body") from None
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "the body must be a JSON object of store fields", "body")
    if has_lone_surrogate(raw, body):
        raise ApiError(400, "invalid_json", "the body holds text that is not valid Unicode (a lone \\ud800-\\udfff "
                       "escape)", "body")
    if body.get("type") == "Feature":  # a GeoJSON Feature is welcome too
        body = _feature_fields(body)
    return body


def _body_too_large() -> ApiError:
    return ApiError(413, "payload_too_large",
                    f"the body is too large (at most {MAX_JSON_BODY_BYTES // 1024} KB for one store; "
                    "send files to /api/v1/stores/import)", "body")


def _feature_fields(feature: dict) -> dict:
    """A GeoJSON Feature's properties, with a Point's coordinates as lon and lat."""
    props = feature.get("properties")
    if props is None:
        props = {}
    if not isinstance(props, dict):
        raise ApiError(400, "invalid_parameter", "a Feature's properties must be an object of store fields",
                       "properties")
    geometry = feature.get("geometry")
    if geometry is not None:
        coords = geometry.get("coordinates") if isinstance(geometry, dict) else None
        if not isinstance(geometry, dict) or geometry.get("type") != "Point" or not isinstance(coords, list) \
                or len(coords) not in (2, 3):
            raise ApiError(400, "invalid_parameter", "a Feature's geometry must be a Point with [lon, lat]",
                           "geometry")
        props = dict(props)
        props.setdefault("lon", coords[0])
        props.setdefault("lat", coords[1])
    return props


def _flag(name: str) -> bool:
    raw = request.args.get(name, "false").strip().lower()
    if raw not in ("true", "false", "1", "0", "yes", "no"):
        raise ApiError(400, "invalid_parameter", f"{name} must be true or false", name)
    return raw in ("true", "1", "yes")


@bp.post("/stores")
@auth.require("retailer")
@limit_writes
def create_store():
    """Register a store (or update the retailer's store with the same external_id)."""
    store, created = registry.register(repo(), state().regions(), index(), g.principal, _json_body())
    body = geojson.store_feature(store)
    if created:
        return _geojson_response(body, 201, Location=f"/api/v1/stores/{store['id']}")
    return _geojson_response(body, 200)


@bp.patch("/stores/<store_id>")
@auth.require("retailer")
@limit_writes
def patch_store(store_id: str):
    """Change fields of one of the retailer's stores; moving it re-derives its region."""
    store = registry.update(repo(), state().regions(), index(), g.principal, _store_id(store_id), _json_body())
    return _geojson_response(geojson.store_feature(store))


@bp.delete("/stores/<store_id>")
@auth.require("retailer")
@limit_writes
def delete_store(store_id: str):
    """Close a store (status closed; its record and history stay)."""
    registry.close(repo(), g.principal, _store_id(store_id))
    return "", 204


@bp.post("/stores/import")
@auth.require("retailer")
@limit_writes
def import_stores():
    """CSV or GeoJSON in the body or as multipart ``file``; rows upserted by external_id."""
    atomic = _flag("atomic")
    allow_duplicates = _flag("allow_duplicates")
    dry_run = _flag("dry_run")
    filename, mimetype = None, request.mimetype
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise ApiError(400, "invalid_parameter", "send the file as the multipart field 'file'", "file")
        filename, mimetype = upload.filename, upload.mimetype
        data = upload.read()
    else:
        data = request.get_data(cache=False)
    default_crs = request.args.get("crs")
    if default_crs:
        try:
            crs_mod.normalise_crs(default_crs)
        except ValueError as exc:
            raise ApiError(400, "invalid_parameter", str(exc), "crs") from None
    # How the file's columns are understood, chosen by hand: {header: field or null}, as a query
    # parameter or a multipart field (the retailer console's preview sends it).
    multipart = request.mimetype == "multipart/form-data"
    columns = importer.column_mapping(request.form["columns"] if multipart and "columns" in request.form
                                      else request.args.get("columns"))
    parsed = importer.parse(data, filename, mimetype, columns)
    report = importer.import_rows(repo(), state().regions(), index(), g.principal, parsed.rows, atomic=atomic,
                                  default_crs=default_crs, allow_duplicates=allow_duplicates, dry_run=dry_run)
    report.format, report.encoding = parsed.format, parsed.encoding
    report.columns, report.unknown_columns = parsed.columns, parsed.unknown_columns
    report.preview = parsed.preview
    response = jsonify(api_messages.localise_report(report.to_dict()))  # Chinese if asked for
    response.vary.add("Accept-Language")
    return response, (200 if report.stored or report.dry_run else 422)


@bp.get("/retailer/stores")
@auth.require("retailer")
def my_stores():
    """Every store of the signed-in retailer, open and closed."""
    crs = _crs_arg()
    stores = repo().stores_of_retailer(g.principal.id)
    return _geojson_response(geojson.collection([geojson.store_feature(s, crs) for s in stores], crs,
                                                retailer={"id": g.principal.id, "name": g.principal.name,
                                                          "domains": list(g.principal.domains)}))


@bp.get("/retailer/posters.pdf")
@auth.require("retailer")
def my_posters():
    """One PDF with a QR poster for each of the retailer's open stores (``?size=a5|a4``)."""
    from ..services.posters import posters_pdf

    size = request.args.get("size", "a5").lower()
    if size not in ("a4", "a5"):
        raise ApiError(400, "invalid_parameter", "size must be a4 or a5", "size")
    stores = [s for s in repo().stores_of_retailer(g.principal.id) if s["status"] == "open"]
    pdf = posters_pdf([(s, geojson.go_url(s["id"])) for s in stores], size)
    return current_app.response_class(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="o2o-posters-{g.principal.id}-{size}.pdf"'})


@bp.get("/stores/<store_id>/history")
@auth.require("retailer")
def store_history(store_id: str):
    """Who changed one of the retailer's stores, when and how (values before and after), oldest first."""
    sid = _store_id(store_id)
    return jsonify({"id": sid, "history": registry.history(repo(), g.principal, sid)})


QR_SCALES = (1, 40)


def _scale_arg() -> int | None:
    """``?scale=`` of a QR code: pixels (PNG) or units (SVG) per module, 1–40."""
    raw = request.args.get("scale")
    if raw is None or raw.strip() == "":
        return None
    lo, hi = QR_SCALES
    if not re.fullmatch(r"[0-9]{1,3}", raw.strip()) or not lo <= int(raw) <= hi:
        raise ApiError(400, "invalid_parameter", f"scale must be a whole number between {lo} and {hi}", "scale")
    return int(raw)


def _crs_arg() -> str:
    try:
        return crs_mod.normalise_crs(request.args.get("crs"))
    except ValueError as exc:
        raise ApiError(400, "invalid_parameter", str(exc), "crs") from None
