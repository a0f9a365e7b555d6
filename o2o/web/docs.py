"""``/api/openapi.json``: the OpenAPI 3 description, with parameters taken from the same pydantic
models that validate requests, so what is documented is what is enforced."""

from __future__ import annotations

from flask import Blueprint, jsonify
from pydantic import BaseModel

from .. import __version__
from .params import NearbyParams, PlacesParams, SuggestParams, ViewportParams

_BEARER = [{"bearer": []}]
_ERROR = {"$ref": "#/components/responses/Error"}
_RATE_LIMITED = {"$ref": "#/components/responses/RateLimited"}
# With a key: a missing or wrong one (401; 429 after many wrong ones from one address), or one of
# the wrong kind or owner (403).
_AUTH_ERRORS = {"401": _ERROR, "403": _ERROR, "429": _RATE_LIMITED}
# Writes: too large a body (413), too many writes a minute for one retailer (429, with Retry-After).
_WRITE_ERRORS = {"413": _ERROR, "429": _RATE_LIMITED}
_STORE_BODY = {"required": True, "content": {
    "application/json": {"schema": {"$ref": "#/components/schemas/StoreBody"}},
    "application/geo+json": {"schema": {"$ref": "#/components/schemas/StoreFeatureInput"}}}}
_IMPORT_REPORT = {"application/json": {"schema": {"$ref": "#/components/schemas/ImportReport"}}}
_CRS_PARAM = {"name": "crs", "in": "query", "required": False, "schema": {"type": "string", "enum": ["wgs84", "gcj02", "bd09"]},
              "description": "Coordinate system of the coordinates in the answer."}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _analytics_paths() -> dict:
    from .analytics import AnalyticsParams, HeatmapParams, RegionParams

    def op(summary, op_id, model, body: dict, extra=None):
        params = query_parameters(model) + (extra or [])
        content = {media: {"schema": schema} for media, schema in body.items()}
        content["text/csv"] = {"schema": {"type": "string"}}
        return {"get": {"summary": summary, "operationId": op_id, "security": _BEARER, "parameters": params,
                        "responses": {"200": {"description": "OK (format=csv: a CSV file, formulas escaped)",
                                              "content": content},
                                      "400": _ERROR, **_AUTH_ERRORS}}}

    view = [{"name": "view", "in": "query", "required": False,
             "schema": {"type": "string", "enum": ["provinces", "gaps"]},
             "description": "With format=csv: the per-province table or the list of gaps."}]
    return {
        "/api/v1/analytics/heatmap": op("H3 hexagons of open stores or counted scans: {h3, count}", "heatmap",
                                        HeatmapParams, {"application/geo+json": _ref("Heatmap")}),
        "/api/v1/analytics/timeseries": op("Counted scans per hour (Beijing time labels)", "timeseries",
                                           AnalyticsParams, {"application/json": _ref("Timeseries")}),
        "/api/v1/analytics/regions": op("Stores, scans, scans per store and busiest brand per province or city",
                                        "regions", RegionParams,
                                        {"application/json": {"anyOf": [_ref("Regions"), _ref("RegionFeatures")]}}),
        "/api/v1/analytics/coverage": op("Share of urban population within 1, 3, 5 km of an open store; largest gaps",
                                         "coverage", AnalyticsParams,
                                         {"application/json": {"anyOf": [_ref("Coverage"), _ref("GapFeatures")]}},
                                         extra=view),
    }


def _retailer_paths() -> dict:
    id_param = [_path_id("Store id")]
    return {
        "/api/v1/stores/import": {"post": {
            "summary": "Import stores from CSV (UTF-8, BOM, GBK; Chinese or English headers) or GeoJSON; upsert by external_id",
            "operationId": "importStores", "security": _BEARER,
            "parameters": [
                {"name": "atomic", "in": "query", "schema": {"type": "boolean", "default": False},
                 "description": "Store every row or none"},
                {"name": "allow_duplicates", "in": "query", "schema": {"type": "boolean", "default": False}},
                {"name": "crs", "in": "query", "schema": {"type": "string", "enum": ["wgs84", "gcj02", "bd09"]},
                 "description": "Coordinate system of rows without a crs column"}],
            "requestBody": {"required": True, "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/geo+json": {"schema": _ref("ImportGeoJSON")},
                "application/json": {"schema": _ref("ImportGeoJSON")},
                "multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}}}},
            "responses": {"200": {"description": "Report: inserted, updated, unchanged, rejected rows", "content": _IMPORT_REPORT},
                          "422": {"description": "Atomic import with rejected rows: nothing stored", "content": _IMPORT_REPORT},
                          "400": _ERROR, **_WRITE_ERRORS, **_AUTH_ERRORS}}},
        "/api/v1/retailer/stores": {"get": {
            "summary": "Every store of the signed-in retailer, open and closed", "operationId": "myStores",
            "security": _BEARER, "parameters": [_CRS_PARAM],
            "responses": {"200": {"description": "FeatureCollection", "content": {
                "application/geo+json": {"schema": _ref("FeatureCollection")}}}, "400": _ERROR, **_AUTH_ERRORS}}},
        "/api/v1/retailer/posters.pdf": {"get": {
            "summary": "One PDF with a QR poster per open store", "operationId": "myPosters", "security": _BEARER,
            "parameters": [{"name": "size", "in": "query", "schema": {"type": "string", "enum": ["a5", "a4"], "default": "a5"}}],
            "responses": {"200": {"description": "PDF", "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}},
                          "400": _ERROR, **_AUTH_ERRORS}}},
        "/api/v1/stores/{id}/history": {"get": {
            "summary": "Earlier values of one of the retailer's stores", "operationId": "storeHistory",
            "security": _BEARER, "parameters": id_param,
            "responses": {"200": {"description": "History", "content": {"application/json": {"schema": _ref("History")}}},
                          "404": _ERROR, **_AUTH_ERRORS}}},
        "/go/{id}": {"get": {
            "summary": "Record a scan, then 302 to the store's online shop with o2o_store={id}",
            "operationId": "go", "parameters": id_param,
            "responses": {"302": {"description": "Redirect to the store's online_url (on the retailer's domains)",
                                  "headers": {"Location": {"schema": {"type": "string"}}}},
                          "404": _ERROR, "409": _ERROR, "410": _ERROR, "429": _RATE_LIMITED}}},
    }


bp = Blueprint("docs", __name__)


def query_parameters(model: type[BaseModel]) -> list[dict]:
    """OpenAPI ``in: query`` parameters from a pydantic model's JSON Schema."""
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    out = []
    for name, prop in schema["properties"].items():
        prop = dict(prop)
        description = prop.pop("description", None)
        prop.pop("title", None)
        if "anyOf" in prop:  # Optional[x]: OpenAPI 3.0 has no null type, the parameter is just optional
            options = [o for o in prop.pop("anyOf") if o.get("type") != "null"]
            prop.update(options[0] if len(options) == 1 else {"anyOf": options})
        if prop.get("type") == "array":
            prop["items"].pop("title", None)
        examples = prop.pop("examples", None)  # a 3.1 keyword: OpenAPI 3.0 has one "example"
        if "default" in prop and prop["default"] is None:
            prop.pop("default")  # an absent parameter, not a null one
        param = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if examples:
            param["example"] = examples[0]
        if prop.get("type") == "array":
            param.update({"style": "form", "explode": True})
        if description:
            param["description"] = description
        out.append(param)
    return out


def _store_input_schema() -> dict:
    """The writable store fields, from the pydantic model that validates them (3.0-style nullables)."""
    from ..services.validation import READ_ONLY, StoreFields

    schema = StoreFields.model_json_schema()
    props = {}
    for name, prop in schema["properties"].items():
        prop = dict(prop)
        prop.pop("title", None)
        if "anyOf" in prop:
            options = [o for o in prop.pop("anyOf") if o.get("type") != "null"]
            prop.update(options[0])
            prop["nullable"] = True
        props[name] = prop
    props["crs"]["enum"] = ["wgs84", "gcj02", "bd09"]
    props["status"]["enum"] = ["open", "closed"]
    props["lng"] = {**props["lon"], "description": "Another name for lon"}
    for name in sorted(READ_ONLY):  # sent back as received (a Feature's properties): ignored
        props[name] = {"readOnly": True, "description": "Ignored: set by the server"}
    return {"type": "object", "properties": props, "additionalProperties": False,
            "description": "name, brand, category, lat and lon are required to register a store"}


def _path_id(description: str) -> dict:
    return {"name": "id", "in": "path", "required": True, "description": description,
            "schema": {"type": "integer", "minimum": 1}}


def _schemas() -> dict:
    """Components: what every answer looks like, so a client (and schemathesis) can check it."""
    text, number, integer, boolean = ({"type": t} for t in ("string", "number", "integer", "boolean"))
    nullable_text = {"type": "string", "nullable": True}
    nullable_number = {"type": "number", "nullable": True}
    point = _ref("Point")

    def obj(required: list[str], **props) -> dict:
        return {"type": "object", "required": required, "properties": props}

    def collection(feature: dict, **members) -> dict:
        return obj(["type", "features"], type={"type": "string", "enum": ["FeatureCollection"]},
                   features={"type": "array", "items": feature}, **members)

    store_fields = dict(
        id=integer, retailer_id=integer, external_id=text, name=text, brand=text, retailer=text, category=text,
        lat=number, lon=number, address=text, province=nullable_text, city=nullable_text,
        district=nullable_text, hours=nullable_text, phone=nullable_text, online_url=nullable_text,
        status={"type": "string", "enum": ["open", "closed"]},
        created_at={"type": "string", "format": "date-time"}, updated_at={"type": "string", "format": "date-time"})
    bbox = {"type": "array", "items": number, "minItems": 4, "maxItems": 4}
    region_row = obj(["province", "stores", "scans", "scans_per_store", "top_brand"],
                     province=text, city=text, stores=integer, scans=integer, scans_per_store=number,
                     top_brand=nullable_text, west=nullable_number, south=nullable_number,
                     east=nullable_number, north=nullable_number)
    gap = obj(["name_zh", "name", "province", "population", "nearest_store_m"], name_zh=text, name=text,
              province=nullable_text, population=integer, lon=number, lat=number, nearest_store_m=nullable_number)
    return {
        "StoreInput": _store_input_schema(),
        "StoreFeatureInput": {
            **obj(["type"], type={"type": "string", "enum": ["Feature"]},
                  geometry={"allOf": [point], "nullable": True}, properties=_ref("StoreInput")),
            "description": "A store as a GeoJSON Feature: its Point gives lon and lat"},
        "StoreBody": {"oneOf": [_ref("StoreInput"), _ref("StoreFeatureInput")]},
        "ImportGeoJSON": {
            **collection({"type": "object", "properties": {
                "type": {"type": "string", "enum": ["Feature"]}, "geometry": {"allOf": [point], "nullable": True},
                "properties": {"type": "object", "description": "Store fields, named as in CSV headers"}}}),
            "description": "A FeatureCollection (or one Feature) of Points; rows are upserted by external_id"},
        "ImportReport": obj(
            ["inserted", "updated", "unchanged", "rejected", "rows", "atomic", "stored", "message"],
            inserted=integer, updated=integer, unchanged=integer,
            rejected={"type": "array", "items": obj(
                ["row", "errors"], row=integer, line=integer, external_id=nullable_text,
                errors={"type": "array", "items": text})},
            rows=integer, atomic=boolean, stored=boolean, encoding=nullable_text,
            format={"type": "string", "enum": ["csv", "geojson"], "nullable": True}, message=text),
        "Error": obj(["error"], error=obj(
            ["code", "message"], code=text, message=text,
            field={"type": "string", "description": "The parameter or body field at fault"},
            errors={"type": "array", "description": "Every problem, when there are several",
                    "items": obj(["field", "message"], field=text, message=text)},
            duplicate_of={"type": "integer", "description": "The open store a new one would duplicate"})),
        "Brand": obj(["name", "slug", "stores"], name=text, slug=text, stores=integer),
        "Point": obj(["type", "coordinates"], type={"type": "string", "enum": ["Point"]},
                     coordinates={"type": "array", "items": number, "minItems": 2, "maxItems": 3}),
        "Store": obj([*store_fields, "go_url", "brand_slug", "open_now", "nav", "url"], **store_fields,
                     distance_m=number, go_url=text, brand_slug=text,
                     category_zh={**nullable_text, "description": "The category's Chinese name (as stored if it has none)"},
                     brand_zh={**nullable_text, "description": "The brand's Chinese name, where the catalogue knows it"},
                     open_now={"type": "boolean", "nullable": True},
                     nav=obj(["amap", "amap_marker", "geo"], amap=text, amap_marker=text, geo=text),
                     url=text),
        "StoreFeature": obj(["type", "id", "geometry", "properties"], type={"type": "string", "enum": ["Feature"]},
                            id=integer, geometry=point, properties=_ref("Store")),
        "ClusterFeature": obj(["type", "geometry", "properties"], type={"type": "string", "enum": ["Feature"]},
                              geometry=point, bbox=bbox, properties=obj(
                                  ["cluster", "point_count"], cluster={"type": "boolean", "enum": [True]},
                                  point_count=integer)),
        "FeatureCollection": collection(
            {"anyOf": [_ref("StoreFeature"), _ref("ClusterFeature")]},
            nearest={"allOf": [_ref("StoreFeature")], "nullable": True,
                     "description": "With radius_km and no store inside it: the nearest one (or null)"},
            message=text, total=integer, clustered=boolean, crs_name=text,
            place={"type": "object", "description": "With q naming a place (杭州, 徐汇): that place, as in /api/v1/places"},
            retailer=obj(["id", "name", "domains"], id=integer, name=text,
                         domains={"type": "array", "items": text})),
        "History": obj(["id", "history"], id=integer, history={"type": "array", "items": obj(
            ["rev", "changed_at", "before"], rev=integer, changed_at={"type": "string", "format": "date-time"},
            before={"type": "object", "description": "The fields as they were before this change"})}),
        "Heatmap": collection(
            obj(["type", "id", "geometry", "properties"], type={"type": "string", "enum": ["Feature"]}, id=text,
                geometry=obj(["type", "coordinates"], type={"type": "string", "enum": ["Polygon"]},
                             coordinates={"type": "array", "items": {"type": "array", "items": {
                                 "type": "array", "items": number, "minItems": 2, "maxItems": 2}}}),
                properties=obj(["h3", "count"], h3=text, count=integer)),
            layer={"type": "string", "enum": ["stores", "scans"]}, res=integer, total=integer, max=integer),
        "Timeseries": obj(["bucket", "timezone", "series", "total"], bucket=text, timezone=text, total=integer,
                          series={"type": "array", "items": obj(["hour", "hour_utc", "scans"], hour=text,
                                                                hour_utc=text, scans=integer)}),
        "Regions": obj(["level", "rows"], level={"type": "string", "enum": ["province", "city"]},
                       rows={"type": "array", "items": region_row}),
        "RegionFeatures": collection(obj(["type", "geometry", "properties"], type={"type": "string", "enum": ["Feature"]},
                                         bbox={**bbox, "items": nullable_number},
                                         geometry={"allOf": [point], "nullable": True},
                                         properties={"type": "object"})),
        "Coverage": obj(["radii_km", "provinces", "gaps"], radii_km={"type": "array", "items": number},
                        provinces={"type": "array", "items": obj(
                            ["province", "urban_population", "cities"], province=text, urban_population=integer,
                            cities=integer, share_1km=number, share_3km=number, share_5km=number)},
                        gaps={"type": "array", "items": gap}),
        "Places": collection(obj(
            ["type", "bbox", "geometry", "properties"], type={"type": "string", "enum": ["Feature"]},
            bbox=bbox, geometry=point,
            properties=obj(["name", "level", "province", "city"], name=text,
                           level={"type": "string", "enum": ["province", "city", "district", "mall", "street"]},
                           province=nullable_text, city=nullable_text, short_name=nullable_text,
                           pinyin=nullable_text))),
        "Suggestions": obj(["suggestions"], suggestions={"type": "array", "maxItems": 10, "items": obj(
            ["type", "text"], type={"type": "string", "enum": ["brand", "place", "category", "store", "product"]},
            text=text, value={**text, "description": "brand or category: the value to filter on"},
            name=text, name_zh=nullable_text, stores=integer, level=text, province=nullable_text,
            city=nullable_text, bbox=bbox, lon=number, lat=number,
            id={**integer, "description": "store: its id"}, address=text, distance_m=number)}),
        "GapFeatures": collection(obj(["type", "geometry", "properties"], type={"type": "string", "enum": ["Feature"]},
                                      geometry=point, properties={"type": "object"})),
    }


def spec() -> dict:
    geojson = {"application/geo+json": {"schema": _ref("FeatureCollection")}}
    feature = {"application/geo+json": {"schema": _ref("StoreFeature")}}
    qr_params = [_path_id("Store id"), {
        "name": "scale", "in": "query", "required": False, "description": "Pixels (PNG) or units (SVG) per module",
        "schema": {"type": "integer", "minimum": 1, "maximum": 40}}]
    return {
        "openapi": "3.0.3",
        "info": {"title": "o2o store finder API", "version": __version__,
                 "description": "Find the festival's participating stores; coordinates are WGS-84 "
                                "unless `crs` asks for gcj02 or bd09. Distances are great-circle "
                                "metres on a sphere of radius 6,371,008.8 m. Every error is "
                                "`{\"error\": {\"code\", \"message\", \"field\"}}` with a 4xx status."},
        "paths": {
            "/api/v1/stores/nearby": {"get": {
                "summary": "Nearest open stores, nearest first",
                "operationId": "nearbyStores",
                "parameters": query_parameters(NearbyParams),
                "responses": {"200": {"description": "Stores, nearest first. With `radius_km` and "
                                                     "none inside it, a top-level `nearest` Feature.",
                                      "content": geojson},
                              "400": _ERROR}}},
            "/api/v1/stores": {
                "get": {
                    "summary": "Stores in a map viewport, clustered where dense (at most 500 features)",
                    "operationId": "viewportStores",
                    "parameters": query_parameters(ViewportParams),
                    "responses": {"200": {"description": "Clusters (`cluster: true`, `point_count`) and stores.",
                                          "content": geojson},
                                  "400": _ERROR}},
                "post": {
                    "summary": "Register a store (or update the retailer's store with the same external_id)",
                    "operationId": "createStore", "security": _BEARER, "requestBody": _STORE_BODY,
                    "responses": {"201": {"description": "Created", "content": feature,
                                          "headers": {"Location": {"schema": {"type": "string"}}}},
                                  "200": {"description": "Updated (known external_id)", "content": feature},
                                  "400": _ERROR, "409": _ERROR, "415": _ERROR, "422": _ERROR, **_WRITE_ERRORS,
                                  **_AUTH_ERRORS}}},
            "/api/v1/stores/{id}": {
                "get": {
                    "summary": "One store", "operationId": "getStore",
                    "parameters": [_path_id("Store id"), _CRS_PARAM],
                    "responses": {"200": {"description": "The store", "content": feature}, "400": _ERROR,
                                  "404": _ERROR}},
                "patch": {
                    "summary": "Change fields of one of the retailer's stores (a move re-derives its region)",
                    "operationId": "patchStore", "security": _BEARER, "parameters": [_path_id("Store id")],
                    "requestBody": _STORE_BODY,
                    "responses": {"200": {"description": "The store", "content": feature}, "400": _ERROR,
                                  "404": _ERROR, "409": _ERROR, "415": _ERROR, "422": _ERROR, **_WRITE_ERRORS,
                                  **_AUTH_ERRORS}},
                "delete": {
                    "summary": "Close one of the retailer's stores (status closed; history kept)",
                    "operationId": "closeStore", "security": _BEARER, "parameters": [_path_id("Store id")],
                    "responses": {"204": {"description": "Closed"}, "404": _ERROR,
                                  "429": _WRITE_ERRORS["429"], **_AUTH_ERRORS}}},
            "/api/v1/stores/{id}/qr.svg": {"get": {
                "summary": "QR code of the store's /go link (SVG)", "operationId": "storeQrSvg",
                "parameters": qr_params,
                "responses": {"200": {"description": "SVG image", "content": {"image/svg+xml": {"schema": {"type": "string"}}}},
                              "400": _ERROR, "404": _ERROR}}},
            "/api/v1/stores/{id}/qr.png": {"get": {
                "summary": "QR code of the store's /go link (PNG)", "operationId": "storeQrPng",
                "parameters": qr_params,
                "responses": {"200": {"description": "PNG image", "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}}},
                              "400": _ERROR, "404": _ERROR}}},
            "/api/v1/places": {"get": {
                "summary": "Provinces, cities, districts, malls and streets by words or pinyin, best first",
                "operationId": "findPlaces",
                "parameters": query_parameters(PlacesParams),
                "responses": {"200": {"description": "Places as Points at their centres, each with a `bbox`.",
                                      "content": {"application/geo+json": {"schema": _ref("Places")}}},
                              "400": _ERROR}}},
            "/api/v1/suggest": {"get": {
                "summary": "Suggestions as the shopper types: brands, categories, places, nearby stores",
                "operationId": "suggest",
                "parameters": query_parameters(SuggestParams),
                "responses": {"200": {"description": "At most 10 suggestions, best first.",
                                      "content": {"application/json": {"schema": _ref("Suggestions")}}},
                              "400": _ERROR}}},
            "/api/v1/brands": {"get": {
                "summary": "Brands with their number of open stores", "operationId": "listBrands",
                "responses": {"200": {"description": "Brands", "content": {"application/json": {"schema": {
                    "type": "array", "items": _ref("Brand")}}}}}}},
            "/healthz": {"get": {
                "summary": "Liveness and store count", "operationId": "health",
                "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["status", "stores"],
                    "properties": {"status": {"type": "string"}, "stores": {"type": "integer"},
                                   "worker": {"type": "integer", "description": "Process id of the worker"}}}}}}}}},
            **_retailer_paths(),
            **_analytics_paths(),
            "/api/openapi.json": {"get": {
                "summary": "This description", "operationId": "openapi",
                "responses": {"200": {"description": "OpenAPI 3 document",
                                      "content": {"application/json": {"schema": {"type": "object"}}}}}}},
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "A retailer's or analyst's API key"}},
            "schemas": _schemas(),
            "responses": {
                "Error": {"description": "A client error naming the field",
                          "content": {"application/json": {"schema": _ref("Error")}}},
                "RateLimited": {"description": "Too many requests: try again after Retry-After seconds",
                                "headers": {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}},
                                "content": {"application/json": {"schema": _ref("Error")}}}},
        },
    }


@bp.get("/api/openapi.json")
def openapi():
    return jsonify(spec())
