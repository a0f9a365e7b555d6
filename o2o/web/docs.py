"""``/api/openapi.json``: the OpenAPI 3 description, with parameters taken from the same pydantic
models that validate requests, so what is documented is what is enforced."""

from __future__ import annotations

from flask import Blueprint, jsonify
from pydantic import BaseModel

from .. import __version__
from .params import NearbyParams, ViewportParams

_BEARER = [{"bearer": []}]
_AUTH_ERRORS = {"401": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"}}
_STORE_BODY = {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/StoreInput"}}}}
_IMPORT_REPORT = {"application/json": {"schema": {"$ref": "#/components/schemas/ImportReport"}}}


def _analytics_paths() -> dict:
    from .analytics import AnalyticsParams, HeatmapParams, RegionParams

    def op(summary, op_id, model, content_type="application/json", extra=None):
        params = query_parameters(model) + (extra or [])
        return {"get": {"summary": summary, "operationId": op_id, "security": _BEARER, "parameters": params,
                        "responses": {"200": {"description": "OK (format=csv: a CSV file, formulas escaped)",
                                              "content": {content_type: {"schema": {"type": "object"}},
                                                          "text/csv": {"schema": {"type": "string"}}}},
                                      "400": _ERROR, **_AUTH_ERRORS}}}

    view = [{"name": "view", "in": "query", "required": False,
             "schema": {"type": "string", "enum": ["provinces", "gaps"]},
             "description": "With format=csv: the per-province table or the list of gaps."}]
    return {
        "/api/v1/analytics/heatmap": op("H3 hexagons of open stores or counted scans: {h3, count}", "heatmap",
                                        HeatmapParams, "application/geo+json"),
        "/api/v1/analytics/timeseries": op("Counted scans per hour (Beijing time labels)", "timeseries", AnalyticsParams),
        "/api/v1/analytics/regions": op("Stores, scans, scans per store and busiest brand per province or city",
                                        "regions", RegionParams),
        "/api/v1/analytics/coverage": op("Share of urban population within 1, 3, 5 km of an open store; largest gaps",
                                         "coverage", AnalyticsParams, extra=view),
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
                "application/geo+json": {"schema": {"type": "object"}},
                "multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}}}},
            "responses": {"200": {"description": "Report: inserted, updated, unchanged, rejected rows", "content": _IMPORT_REPORT},
                          "422": {"description": "Atomic import with rejected rows: nothing stored", "content": _IMPORT_REPORT},
                          "400": _ERROR, "413": _ERROR, **_AUTH_ERRORS}}},
        "/api/v1/retailer/stores": {"get": {
            "summary": "Every store of the signed-in retailer, open and closed", "operationId": "myStores",
            "security": _BEARER, "responses": {"200": {"description": "FeatureCollection", "content": {
                "application/geo+json": {"schema": {"$ref": "#/components/schemas/FeatureCollection"}}}}, **_AUTH_ERRORS}}},
        "/api/v1/retailer/posters.pdf": {"get": {
            "summary": "One PDF with a QR poster per open store", "operationId": "myPosters", "security": _BEARER,
            "parameters": [{"name": "size", "in": "query", "schema": {"type": "string", "enum": ["a5", "a4"], "default": "a5"}}],
            "responses": {"200": {"description": "PDF", "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}},
                          "400": _ERROR, **_AUTH_ERRORS}}},
        "/api/v1/stores/{id}/history": {"get": {
            "summary": "Earlier values of one of the retailer's stores", "operationId": "storeHistory",
            "security": _BEARER, "parameters": id_param,
            "responses": {"200": {"description": "History", "content": {"application/json": {"schema": {"type": "object"}}}},
                          "404": _ERROR, **_AUTH_ERRORS}}},
        "/go/{id}": {"get": {
            "summary": "Record a scan, then 302 to the store's online shop with o2o_store={id}",
            "operationId": "go", "parameters": id_param,
            "responses": {"302": {"description": "Redirect to the store's online_url (on the retailer's domains)",
                                  "headers": {"Location": {"schema": {"type": "string"}}}},
                          "404": _ERROR, "409": _ERROR, "410": _ERROR, "429": _ERROR}}},
    }

bp = Blueprint("docs", __name__)

_ERROR = {"$ref": "#/components/responses/Error"}


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
    from ..services.validation import StoreFields

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
    return {"type": "object", "properties": props, "additionalProperties": False,
            "description": "name, brand, category, lat and lon are required to register a store"}


def _path_id(description: str) -> dict:
    return {"name": "id", "in": "path", "required": True, "description": description,
            "schema": {"type": "integer", "minimum": 1}}


def spec() -> dict:
    geojson = {"application/geo+json": {"schema": {"$ref": "#/components/schemas/FeatureCollection"}}}
    feature = {"application/geo+json": {"schema": {"$ref": "#/components/schemas/StoreFeature"}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "o2o store finder API", "version": __version__,
                 "description": "Find the festival's participating stores; coordinates are WGS-84 "
                                "unless `crs` asks for gcj02 or bd09. Distances are great-circle "
                                "metres on a sphere of radius 6,371,008.8 m."},
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
                                  "400": _ERROR, "409": _ERROR, "415": _ERROR, "422": _ERROR, **_AUTH_ERRORS}}},
            "/api/v1/stores/{id}": {
                "get": {
                    "summary": "One store", "operationId": "getStore",
                    "parameters": [_path_id("Store id")],
                    "responses": {"200": {"description": "The store", "content": feature}, "404": _ERROR}},
                "patch": {
                    "summary": "Change fields of one of the retailer's stores (a move re-derives its region)",
                    "operationId": "patchStore", "security": _BEARER, "parameters": [_path_id("Store id")],
                    "requestBody": _STORE_BODY,
                    "responses": {"200": {"description": "The store", "content": feature}, "400": _ERROR,
                                  "404": _ERROR, "409": _ERROR, "415": _ERROR, "422": _ERROR, **_AUTH_ERRORS}},
                "delete": {
                    "summary": "Close one of the retailer's stores (status closed; history kept)",
                    "operationId": "closeStore", "security": _BEARER, "parameters": [_path_id("Store id")],
                    "responses": {"204": {"description": "Closed"}, "404": _ERROR, **_AUTH_ERRORS}}},
            "/api/v1/stores/{id}/qr.svg": {"get": {
                "summary": "QR code of the store's /go link (SVG)", "operationId": "storeQrSvg",
                "parameters": [_path_id("Store id")],
                "responses": {"200": {"description": "SVG image", "content": {"image/svg+xml": {"schema": {"type": "string"}}}},
                              "404": _ERROR}}},
            "/api/v1/stores/{id}/qr.png": {"get": {
                "summary": "QR code of the store's /go link (PNG)", "operationId": "storeQrPng",
                "parameters": [_path_id("Store id")],
                "responses": {"200": {"description": "PNG image", "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}}},
                              "404": _ERROR}}},
            "/api/v1/brands": {"get": {
                "summary": "Brands with their number of open stores", "operationId": "listBrands",
                "responses": {"200": {"description": "Brands", "content": {"application/json": {"schema": {
                    "type": "array", "items": {"$ref": "#/components/schemas/Brand"}}}}}}}},
            "/healthz": {"get": {
                "summary": "Liveness and store count", "operationId": "health",
                "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["status", "stores"],
                    "properties": {"status": {"type": "string"}, "stores": {"type": "integer"}}}}}}}}},
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
            "schemas": {
                "StoreInput": _store_input_schema(),
                "ImportReport": {"type": "object", "required": ["inserted", "updated", "rejected"], "properties": {
                    "inserted": {"type": "integer"}, "updated": {"type": "integer"}, "unchanged": {"type": "integer"},
                    "rejected": {"type": "array", "items": {"type": "object", "required": ["row", "errors"], "properties": {
                        "row": {"type": "integer"}, "line": {"type": "integer"}, "external_id": {"type": "string", "nullable": True},
                        "errors": {"type": "array", "items": {"type": "string"}}}}},
                    "stored": {"type": "boolean"}, "message": {"type": "string"}}},
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                    "type": "object", "required": ["code", "message"],
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                                   "field": {"type": "string"}}}}},
                "Brand": {"type": "object", "required": ["name", "slug", "stores"], "properties": {
                    "name": {"type": "string"}, "slug": {"type": "string"}, "stores": {"type": "integer"}}},
                "Point": {"type": "object", "required": ["type", "coordinates"], "properties": {
                    "type": {"type": "string", "enum": ["Point"]},
                    "coordinates": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}}},
                "Store": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "retailer_id": {"type": "integer"},
                    "external_id": {"type": "string"}, "name": {"type": "string"},
                    "brand": {"type": "string"}, "retailer": {"type": "string"},
                    "category": {"type": "string"}, "lat": {"type": "number"}, "lon": {"type": "number"},
                    "address": {"type": "string"}, "province": {"type": "string", "nullable": True},
                    "city": {"type": "string", "nullable": True}, "district": {"type": "string", "nullable": True},
                    "hours": {"type": "string", "nullable": True}, "phone": {"type": "string", "nullable": True},
                    "online_url": {"type": "string", "nullable": True},
                    "status": {"type": "string", "enum": ["open", "closed"]},
                    "created_at": {"type": "string", "format": "date-time"},
                    "updated_at": {"type": "string", "format": "date-time"},
                    "distance_m": {"type": "number"}, "go_url": {"type": "string"},
                    "open_now": {"type": "boolean", "nullable": True}}},
                "StoreFeature": {"type": "object", "required": ["type", "geometry", "properties"], "properties": {
                    "type": {"type": "string", "enum": ["Feature"]}, "id": {"type": "integer"},
                    "geometry": {"$ref": "#/components/schemas/Point"},
                    "properties": {"$ref": "#/components/schemas/Store"}}},
                "FeatureCollection": {"type": "object", "required": ["type", "features"], "properties": {
                    "type": {"type": "string", "enum": ["FeatureCollection"]},
                    "features": {"type": "array", "items": {"type": "object"}},
                    "nearest": {"allOf": [{"$ref": "#/components/schemas/StoreFeature"}], "nullable": True}}},
            },
            "responses": {"Error": {"description": "A client error naming the field",
                                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}},
        },
    }


@bp.get("/api/openapi.json")
def openapi():
    return jsonify(spec())
