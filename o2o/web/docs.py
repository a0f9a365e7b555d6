"""``/api/openapi.json``: the OpenAPI 3 description, with parameters taken from the same pydantic
models that validate requests, so what is documented is what is enforced."""

from __future__ import annotations

from flask import Blueprint, jsonify
from pydantic import BaseModel

from .. import __version__
from .params import NearbyParams, ViewportParams

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
        param = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if prop.get("type") == "array":
            param.update({"style": "form", "explode": True})
        if description:
            param["description"] = description
        out.append(param)
    return out


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
            "/api/v1/stores": {"get": {
                "summary": "Stores in a map viewport, clustered where dense (at most 500 features)",
                "operationId": "viewportStores",
                "parameters": query_parameters(ViewportParams),
                "responses": {"200": {"description": "Clusters (`cluster: true`, `point_count`) and stores.",
                                      "content": geojson},
                              "400": _ERROR}}},
            "/api/v1/stores/{id}": {"get": {
                "summary": "One store", "operationId": "getStore",
                "parameters": [_path_id("Store id")],
                "responses": {"200": {"description": "The store", "content": feature}, "404": _ERROR}}},
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
            "/api/openapi.json": {"get": {
                "summary": "This description", "operationId": "openapi",
                "responses": {"200": {"description": "OpenAPI 3 document",
                                      "content": {"application/json": {"schema": {"type": "object"}}}}}}},
        },
        "components": {
            "schemas": {
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
