"""Demand (issue 17): the searches shoppers make, kept privately, and what analysts and retailers see of them.

* :func:`note` — called by the search views (``nearby`` with words or filters, ``places``,
  ``products``, a product's ``nearby``): hands the search to the process's
  :class:`~o2o.services.search_log.SearchLog` (a bounded buffer written by a background thread);
  nothing about the shopper (address, browser, cookie) is passed, and the point becomes an H3 cell.
* ``GET /api/v1/analytics/demand`` (analyst) — H3 cells with ``searches`` and ``unmet``;
  ``/api/v1/analytics/demand/regions`` — the same per province or city with the share met.
* ``GET /api/v1/retailer/suggestions?brand=`` (retailer, own brands) — where to open next;
  ``/api/v1/retailer/demand/stores`` — the searches that found each of the retailer's stores.
"""

from __future__ import annotations

import logging

from typing import Literal

import orjson
from flask import Blueprint, Response, current_app, g, jsonify, request
from pydantic import Field, field_validator

from ..services import windows
from ..services.search_log import SearchLog
from . import auth
from .analytics import AnalyticsParams, _csv, _records
from .errors import ApiError
from .params import InViewport, Name, OptionalBbox, _Query, parse_query
from .state import repo, state

bp = Blueprint("demand", __name__)


# ----------------------------------------------------------------------------- recording
def search_log(app=None) -> SearchLog:
    """This app's search log (one per app; its writer thread starts in each process on first use)."""
    app = app or current_app
    log = app.extensions.get("o2o_search_log")
    if log is None:
        from ..storage import open_repository

        settings = app.config["O2O"]
        url, timeout = settings["DATABASE_URL"], settings["DB_BUSY_TIMEOUT_MS"]
        log = app.extensions.setdefault("o2o_search_log", SearchLog(
            lambda: open_repository(url, timeout), retention_days=settings.get("DEMAND_RETENTION_DAYS", 365)))
        app.extensions["o2o"].on_shutdown(log.stop)
    return log


def note(kind: str, lon, lat, words=None, brands=(), categories=(), product_id=None, filters=None,
         results: int = 0, nearest_m=None, app=None) -> None:
    """Keep one search (see the module's description). Never raises into the search. ``app``:
    the app, where this runs outside its context (the WSGI-level nearby path)."""
    try:
        app = app or current_app
        log = app.extensions.get("o2o_search_log") or search_log(app)
        log.note(kind, lon, lat, words or None, brands[0] if len(brands) == 1 else None,
                 categories[0] if len(categories) == 1 else None, product_id,
                 filters or None, results, nearest_m)
    except Exception:  # noqa: BLE001 - losing a search is better than failing one
        logging.getLogger(__name__).exception("demand: a search could not be noted")


def note_nearby(p, lon: float, lat: float, ids, dist, fallback, matched=None, app=None) -> None:
    """``nearby``'s search, when it had words or filters: results and the nearest match (a store
    holding every word; beyond a radius, the nearest outside it)."""
    if not (p.q or p.brand or p.retailer or p.category):
        return
    nearest = None
    if len(ids):
        d = dist if matched is None else dist[matched]
        nearest = float(d.min()) if len(d) else None
    if nearest is None and fallback is not None and len(fallback[1]):
        nearest = float(fallback[1][0])
    filters = {k: v for k, v in (("retailer", list(p.retailer)), ("radius_km", p.radius_km),
                                 ("brand", list(p.brand) if len(p.brand) > 1 else None),
                                 ("category", list(p.category) if len(p.category) > 1 else None)) if v}
    note("nearby", lon, lat, p.q, p.brand, p.category, None, filters, len(ids), nearest, app)


def note_places(words: str, lon, lat, found) -> None:
    """``places``' search: the results and, from a shopper's point, the nearest place's centre."""
    nearest = None
    if lon is not None and found:
        from ..geo.distance import haversine_m

        nearest = min(float(haversine_m(lon, lat, pl.centre[0], pl.centre[1])) for pl in found)
    note("places", lon, lat, words, results=len(found), nearest_m=nearest)


def note_products(words, brands, retailer, results: int) -> None:
    """The product search (no place: it is on no map, but counts for the words)."""
    note("products", None, None, words, brands, (), None, {"retailer": retailer} if retailer else None, results)


def note_product_nearby(product: dict, lon: float, lat: float, radius_km, found) -> None:
    """A product's ``nearby``: the stores that have it, and the nearest."""
    note("product_nearby", lon, lat, None, [product["brand"]], [product["category"]] if product.get("category") else (),
         int(product["id"]), {"radius_km": radius_km} if radius_km else None, len(found),
         float(found[0][1]) if found else None)


# ----------------------------------------------------------------------------- analysts
class DemandParams(InViewport, AnalyticsParams):
    res: int = Field(7, ge=3, le=9, description="H3 resolution (3–9)")
    product: int | None = Field(None, ge=1, le=2**63 - 1, description="Only searches for this product id.")
    bbox: OptionalBbox = None


class DemandRegionParams(DemandParams):
    level: Literal["province", "city"] = Field("province", description="One row per province or per city.")


@bp.get("/api/v1/analytics/demand")
@auth.require("analyst")
def analytics_demand():
    """H3 cells of shoppers' searches: ``{h3, searches, unmet}`` (unmet: the nearest match over 5 km, or none)."""
    from ..services import demand

    p = parse_query(DemandParams, request.args)
    df = demand.cells(repo(), p.res, p.window(), p.brand, p.category, p.product, p.bounds())
    if p.format == "csv":
        return _csv(demand.rows(df), ["h3", "searches", "unmet"], f"demand-res{p.res}")
    # orjson: a country's res-7 hexagons are ~9 MB of JSON, ten times faster than json.dumps
    return Response(orjson.dumps(demand.collection(df, res=p.res)), mimetype="application/geo+json")


@bp.get("/api/v1/analytics/demand/regions")
@auth.require("analyst")
def analytics_demand_regions():
    """Searches, unmet searches and the share met per province or city."""
    from ..services import demand

    p = parse_query(DemandRegionParams, request.args)
    df = demand.regions(repo(), state().regions(), p.level, p.window(), p.brand, p.category, p.product)
    rows = _records(df)
    columns = (["province"] if p.level == "province" else ["province", "city"]) + \
        ["searches", "unmet", "share_met", "west", "south", "east", "north"]
    if p.format == "csv":
        return _csv(rows, columns, f"demand-{p.level}")
    if p.format == "geojson":
        return jsonify({"type": "FeatureCollection", "features": [
            {"type": "Feature", "bbox": [r["west"], r["south"], r["east"], r["north"]],
             "geometry": {"type": "Point", "coordinates": [(r["west"] + r["east"]) / 2, (r["south"] + r["north"]) / 2]},
             "properties": {c: r.get(c) for c in columns[:-4]}} for r in rows]})
    return jsonify({"level": p.level, "rows": rows})


# ----------------------------------------------------------------------------- retailers
class ReachParams(_Query):
    since: str | None = Field(None, description="Start, inclusive: ISO 8601 (UTC when no zone is given).")
    until: str | None = Field(None, description="End, exclusive: ISO 8601 (UTC when no zone is given).")

    @field_validator("since", "until")
    @classmethod
    def _iso(cls, value, info):
        return AnalyticsParams._iso.__func__(cls, value, info)

    def window(self) -> windows.Window:
        return AnalyticsParams.window(self)


class SuggestionParams(ReachParams):
    brand: Name = Field(..., description="One of the retailer's own brands.")
    limit: int = Field(20, ge=1, le=100, description="How many places at most.")


def _own_open_stores() -> list[dict]:
    return [s for s in repo().stores_of_retailer(g.principal.id) if s["status"] == "open"]


@bp.get("/api/v1/retailer/suggestions")
@auth.require("retailer")
def retailer_suggestions():
    """Where to open next for one of the retailer's brands: places with unmet demand and none of its
    stores within 5 km, best first, with ``searches``, ``population`` and ``nearest_own_store_m``."""
    from ..services import analytics, demand

    p = parse_query(SuggestionParams, request.args)
    mine = repo().stores_of_retailer(g.principal.id)
    if p.brand not in {s["brand"] for s in mine}:
        if p.brand in {name for name, _ in repo().brand_counts()}:
            raise ApiError(403, "forbidden", f"{p.brand} is not one of your brands", "brand")
        raise ApiError(404, "not_found", f"no brand named {p.brand[:80]!r}", "brand")
    own = [s for s in mine if s["brand"] == p.brand and s["status"] == "open"]
    places = analytics.urban_places(state().regions())
    features = demand.suggestions(repo(), places, p.brand, own, p.window(), p.limit)
    response = jsonify({"type": "FeatureCollection", "features": features, "brand": p.brand})
    response.mimetype = "application/geo+json"
    return response


@bp.get("/api/v1/retailer/demand/stores")
@auth.require("retailer")
def retailer_store_reach():
    """Around each of the retailer's open stores, the searches for its brand that found it (nearest
    own store within 5 km of where the shopper searched)."""
    from ..services import demand

    p = parse_query(ReachParams, request.args)
    stores = _own_open_stores()
    reach = demand.store_reach(repo(), stores, p.window())
    return jsonify({"stores": [{"id": s["id"], "name": s["name"], "brand": s["brand"], "city": s["city"],
                                "lon": s["lon"], "lat": s["lat"], "searches": reach[int(s["id"])]["searches"]}
                               for s in stores]})


# ----------------------------------------------------------------------------- OpenAPI
def openapi_paths(error: dict, auth_errors: dict, bearer: list) -> dict:
    """This module's operations for :mod:`o2o.web.docs` (models from :mod:`.schemas_demand`)."""
    from . import schemas_demand as models
    from .docs import query_parameters

    def op(summary, op_id, params, model, media="application/json", csv=False, extra=None) -> dict:
        content = {media: {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}
        if csv:
            content["text/csv"] = {"schema": {"type": "string"}}
        return {"get": {"summary": summary, "operationId": op_id, "security": bearer,
                        "parameters": query_parameters(params),
                        "responses": {"200": {"description": "OK" + (" (format=csv: a CSV file)" if csv else ""),
                                              "content": content}, "400": error, **(extra or {}), **auth_errors}}}

    return {
        "/api/v1/analytics/demand": op("H3 cells of shoppers' searches: {h3, searches, unmet} (unmet: nearest match "
                                       "over 5 km or none)", "demand", DemandParams, models.Demand,
                                       "application/geo+json", csv=True),
        "/api/v1/analytics/demand/regions": op("Searches, unmet searches and the share met per province or city",
                                               "demandRegions", DemandRegionParams, models.DemandRegions, csv=True),
        "/api/v1/retailer/suggestions": op("Where to open next for one of your brands: places with unmet demand and "
                                           "none of your stores within 5 km, best first", "demandSuggestions",
                                           SuggestionParams, models.DemandSuggestions, "application/geo+json",
                                           extra={"404": error}),
        "/api/v1/retailer/demand/stores": op("Around each of your open stores, the searches that found it",
                                             "storeReach", ReachParams, models.StoresReach),
    }
