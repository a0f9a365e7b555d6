"""``/api/openapi.json``: the OpenAPI 3.1 description, generated from the pydantic models the code
already has: the query models that validate requests (:mod:`o2o.web.params`, the analytics
parameters), the store model that validates bodies, and the response models
(:mod:`o2o.web.schemas`). What is documented is what is enforced, and each enum is written once.

This module only lays out the operations: paths, methods, statuses and which model each one
sends or answers.
"""

from __future__ import annotations

import functools

from flask import Blueprint, jsonify
from pydantic import BaseModel

from .. import __version__
from . import schemas
from .params import (CrsParams, ImportParams, NearbyParams, PlacesParams, PosterParams, QrParams, SuggestParams,
                     ViewportParams)

bp = Blueprint("docs", __name__)

_BEARER = [{"bearer": []}]
_ERROR = {"$ref": "#/components/responses/Error"}
_RATE_LIMITED = {"$ref": "#/components/responses/RateLimited"}
# With a key: a missing or wrong one (401; 429 after many wrong ones from one address), or one of
# the wrong kind or owner (403).
_AUTH_ERRORS = {"401": _ERROR, "403": _ERROR, "429": _RATE_LIMITED}
# Writes: too large a body (413), too many writes a minute for one retailer (429, with Retry-After).
_WRITE_ERRORS = {"413": _ERROR, "429": _RATE_LIMITED}
_STORE_WRITE_ERRORS = {"400": _ERROR, "409": _ERROR, "415": _ERROR, "422": _ERROR, **_WRITE_ERRORS, **_AUTH_ERRORS}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _content(model: type[BaseModel] | str, media: str = "application/json") -> dict:
    return {media: {"schema": _ref(model if isinstance(model, str) else model.__name__)}}


def _answer(description: str, model=None, media: str = "application/json", **extra) -> dict:
    out = {"description": description, **extra}
    if model is not None:
        out["content"] = _content(model, media)
    return out


def query_parameters(model: type[BaseModel]) -> list[dict]:
    """OpenAPI ``in: query`` parameters from a pydantic model's JSON Schema."""
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    out = []
    for name, prop in schema["properties"].items():
        prop = schemas.tidy(prop)
        description = prop.pop("description", None)
        if "anyOf" in prop:  # Optional[x]: a query parameter is absent, never null
            options = [o for o in prop.pop("anyOf") if o.get("type") != "null"]
            prop.update(options[0] if len(options) == 1 else {"anyOf": options})
        examples = prop.pop("examples", None)
        param = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if examples:
            param["example"] = examples[0]
        if prop.get("type") == "array":
            param.update({"style": "form", "explode": True})
        if description:
            param["description"] = description
        out.append(param)
    return out


def _path_id(description: str = "Store id") -> dict:
    return {"name": "id", "in": "path", "required": True, "description": description,
            "schema": {"type": "integer", "minimum": 1}}


def _public_paths() -> dict:
    stores = _content(schemas.FeatureCollection, "application/geo+json")
    feature = _content(schemas.StoreFeature, "application/geo+json")
    store_body = {"required": True, "content": {**_content(schemas.StoreBody),
                                                **_content(schemas.StoreFeatureInput, "application/geo+json")}}

    def qr(kind: str, media: str, schema: dict) -> dict:
        return {"get": {
            "summary": f"QR code of the store's /go link ({kind})", "operationId": f"storeQr{kind.title()}",
            "parameters": [_path_id(), *query_parameters(QrParams)],
            "responses": {"200": {"description": f"{kind} image", "content": {media: {"schema": schema}}},
                          "400": _ERROR, "404": _ERROR}}}

    return {
        "/api/v1/stores/nearby": {"get": {
            "summary": "Nearest open stores, nearest first", "operationId": "nearbyStores",
            "parameters": query_parameters(NearbyParams),
            "responses": {"200": {"description": "Stores, nearest first. With `radius_km` and none inside it, "
                                                 "a top-level `nearest` Feature.", "content": stores},
                          "400": _ERROR}}},
        "/api/v1/stores": {
            "get": {
                "summary": "Stores in a map viewport, clustered where dense (at most 500 features)",
                "operationId": "viewportStores", "parameters": query_parameters(ViewportParams),
                "responses": {"200": {"description": "Clusters (`cluster: true`, `point_count`) and stores.",
                                      "content": stores}, "400": _ERROR}},
            "post": {
                "summary": "Register a store (or update the retailer's store with the same external_id)",
                "operationId": "createStore", "security": _BEARER, "requestBody": store_body,
                "responses": {"201": {"description": "Created", "content": feature,
                                      "headers": {"Location": {"schema": {"type": "string"}}}},
                              "200": {"description": "Updated (known external_id)", "content": feature},
                              **_STORE_WRITE_ERRORS}}},
        "/api/v1/stores/{id}": {
            "get": {
                "summary": "One store", "operationId": "getStore",
                "parameters": [_path_id(), *query_parameters(CrsParams)],
                "responses": {"200": {"description": "The store", "content": feature}, "400": _ERROR,
                              "404": _ERROR}},
            "patch": {
                "summary": "Change fields of one of the retailer's stores (a move re-derives its region)",
                "operationId": "patchStore", "security": _BEARER, "parameters": [_path_id()],
                "requestBody": store_body,
                "responses": {"200": {"description": "The store", "content": feature}, "404": _ERROR,
                              **_STORE_WRITE_ERRORS}},
            "delete": {
                "summary": "Close one of the retailer's stores (status closed; history kept)",
                "operationId": "closeStore", "security": _BEARER, "parameters": [_path_id()],
                "responses": {"204": {"description": "Closed"}, "404": _ERROR, "429": _RATE_LIMITED,
                              **_AUTH_ERRORS}}},
        "/api/v1/stores/{id}/qr.svg": qr("svg", "image/svg+xml", {"type": "string"}),
        "/api/v1/stores/{id}/qr.png": qr("png", "image/png", {"type": "string", "format": "binary"}),
        "/api/v1/places": {"get": {
            "summary": "Provinces, cities, districts, malls and streets by words or pinyin, best first",
            "operationId": "findPlaces", "parameters": query_parameters(PlacesParams),
            "responses": {"200": _answer("Places as Points at their centres, each with a `bbox`.", schemas.Places,
                                         "application/geo+json"), "400": _ERROR}}},
        "/api/v1/suggest": {"get": {
            "summary": "Suggestions as the shopper types: brands, categories, places, nearby stores",
            "operationId": "suggest", "parameters": query_parameters(SuggestParams),
            "responses": {"200": _answer("At most 10 suggestions, best first.", schemas.Suggestions),
                          "400": _ERROR}}},
        "/api/v1/brands": {"get": {
            "summary": "Brands with their number of open stores", "operationId": "listBrands",
            "responses": {"200": {"description": "Brands", "content": {"application/json": {"schema": {
                "type": "array", "items": _ref("Brand")}}}}}}},
        "/healthz": {"get": {
            "summary": "Liveness and store count", "operationId": "health",
            "responses": {"200": _answer("OK", schemas.Health)}}},
        "/api/openapi.json": {"get": {
            "summary": "This description", "operationId": "openapi",
            "responses": {"200": {"description": "OpenAPI 3.1 document",
                                  "content": {"application/json": {"schema": {"type": "object"}}}}}}},
    }


def _retailer_paths() -> dict:
    report = _content(schemas.ImportReport)
    return {
        "/api/v1/stores/import": {"post": {
            "summary": "Import stores from Excel (.xlsx, .xls), CSV (UTF-8, BOM, GBK; Chinese or English headers) "
                       "or GeoJSON; upsert by external_id",
            "operationId": "importStores", "security": _BEARER, "parameters": query_parameters(ImportParams),
            "requestBody": {"required": True, "content": {
                "text/csv": {"schema": {"type": "string"}},
                **_content(schemas.ImportGeoJSON, "application/geo+json"), **_content(schemas.ImportGeoJSON),
                "multipart/form-data": {"schema": {"type": "object", "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "columns": {"type": "string", "description": "JSON {header: field or null}, as the query "
                                                                 "parameter columns"}}}}}},
            "responses": {"200": {"description": "Report: inserted, updated, unchanged, rejected rows", "content": report},
                          "422": {"description": "Atomic import with rejected rows: nothing stored", "content": report},
                          "400": _ERROR, **_WRITE_ERRORS, **_AUTH_ERRORS}}},
        "/api/v1/retailer/stores": {"get": {
            "summary": "Every store of the signed-in retailer, open and closed", "operationId": "myStores",
            "security": _BEARER, "parameters": query_parameters(CrsParams),
            "responses": {"200": _answer("FeatureCollection", schemas.FeatureCollection, "application/geo+json"),
                          "400": _ERROR, **_AUTH_ERRORS}}},
        "/api/v1/retailer/posters.pdf": {"get": {
            "summary": "One PDF with a QR poster per open store", "operationId": "myPosters", "security": _BEARER,
            "parameters": query_parameters(PosterParams),
            "responses": {"200": {"description": "PDF", "content": {"application/pdf": {"schema": {
                "type": "string", "format": "binary"}}}}, "400": _ERROR, **_AUTH_ERRORS}}},
        "/api/v1/stores/{id}/history": {"get": {
            "summary": "Earlier values of one of the retailer's stores", "operationId": "storeHistory",
            "security": _BEARER, "parameters": [_path_id()],
            "responses": {"200": _answer("History", schemas.History), "404": _ERROR, **_AUTH_ERRORS}}},
        "/go/{id}": {"get": {
            "summary": "Record a scan, then 302 to the store's online shop with o2o_store={id}",
            "operationId": "go", "parameters": [_path_id(), {
                "name": "product", "in": "query", "required": False,
                "description": "A product of the store's retailer: the scan is recorded with it and the shopper "
                               "lands on the product's online page (with o2o_store added)",
                "schema": {"type": "integer", "minimum": 1}}],
            "responses": {"302": {"description": "Redirect to the store's online_url (on the retailer's domains)",
                                  "headers": {"Location": {"schema": {"type": "string"}}}},
                          "404": _ERROR, "409": _ERROR, "410": _ERROR, "429": _RATE_LIMITED}}},
    }


def _product_paths() -> dict:
    from .products import ImportFlags, ProductNearbyParams, ProductSearchParams

    report = _content(schemas.CatalogueImportReport)

    def import_op(summary: str, op_id: str, fields: str) -> dict:
        return {"post": {
            "summary": summary, "operationId": op_id, "security": _BEARER,
            "parameters": query_parameters(ImportFlags) if op_id == "importInventory" else
            [p for p in query_parameters(ImportFlags) if p["name"] != "replace"],
            "requestBody": {"required": True, "description": fields, "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
                "multipart/form-data": {"schema": {"type": "object", "properties": {
                    "file": {"type": "string", "format": "binary"}}}}}},
            "responses": {"200": {"description": "Report: inserted, updated, unchanged, rejected rows",
                                  "content": report},
                          "422": {"description": "Atomic import with rejected rows: nothing stored", "content": report},
                          "400": _ERROR, **_WRITE_ERRORS, **_AUTH_ERRORS}}}

    product_id = _path_id("Product id")
    return {
        "/api/v1/products/import": import_op(
            "Import the retailer's products from CSV (UTF-8, GBK), Excel or JSON; upsert by sku", "importProducts",
            "Columns 商品编码/sku, 商品名称/title, 品牌/brand, 品类/category, 价格/price, 商品链接/online_url, "
            "条码/gtin, 图片/image_url"),
        "/api/v1/inventory/import": import_op(
            "Import stock lines of the retailer's stores from CSV, Excel or JSON", "importInventory",
            "Columns 门店编码/store (the store's external_id), 商品编码/sku, 库存状态/availability "
            "(in_stock, limited, out_of_stock or 有货, 少量, 无货, 缺货), 数量/quantity, 价格/price"),
        "/api/v1/retailer/stores/{id}/labels.pdf": {"get": {
            "summary": "Shelf labels (A4, 21 a page) with the QR code of /go/{store}?product={id} for the store's "
                       "products", "operationId": "shelfLabels", "security": _BEARER, "parameters": [_path_id()],
            "responses": {"200": {"description": "PDF", "content": {"application/pdf": {"schema": {
                "type": "string", "format": "binary"}}}}, "404": _ERROR, **_AUTH_ERRORS}}},
        "/api/v1/products": {"get": {
            "summary": "Products by words (characters, pinyin, initials, English), brand or retailer",
            "operationId": "searchProducts", "parameters": query_parameters(ProductSearchParams),
            "responses": {"200": _answer("Products, best first", schemas.Products), "400": _ERROR}}},
        "/api/v1/products/{id}": {"get": {
            "summary": "One product", "operationId": "getProduct", "parameters": [product_id],
            "responses": {"200": _answer("The product", schemas.Product), "404": _ERROR}}},
        "/api/v1/products/{id}/nearby": {"get": {
            "summary": "Nearest open stores with the product in stock or limited, nearest first (exact)",
            "operationId": "productNearby", "parameters": [product_id, *query_parameters(ProductNearbyParams)],
            "responses": {"200": _answer("Stores, each with availability, quantity, price and stock_updated_at",
                                         schemas.ProductStores, "application/geo+json"),
                          "400": _ERROR, "404": _ERROR}}},
    }


def _people_paths() -> dict:
    """An owner's people and named API keys (the console's Team page, as JSON for scripts)."""
    owner = {"401": _ERROR, "403": _ERROR, "429": _RATE_LIMITED}
    body = lambda model: {"required": True, "content": _content(model)}  # noqa: E731
    user_id = {"name": "id", "in": "path", "required": True, "description": "Person id",
               "schema": {"type": "integer", "minimum": 1}}
    key_id = {**user_id, "description": "Key id"}
    return {
        "/api/v1/users": {
            "get": {"summary": "The organisation's people (owner)", "operationId": "listUsers", "security": _BEARER,
                    "responses": {"200": _answer("People", schemas.People), **owner}},
            "post": {"summary": "Invite a person: a one-time set-up path (owner)", "operationId": "inviteUser",
                     "security": _BEARER, "requestBody": body(schemas.InviteBody),
                     "responses": {"201": _answer("Invited", schemas.InvitedPerson), "400": _ERROR, "409": _ERROR,
                                   **_WRITE_ERRORS, **owner}}},
        "/api/v1/users/{id}": {"patch": {
            "summary": "Change a person's role, or disable them (owner)", "operationId": "changeUser",
            "security": _BEARER, "parameters": [user_id], "requestBody": body(schemas.PersonChange),
            "responses": {"200": _answer("The person", schemas.Person), "400": _ERROR, "404": _ERROR, "409": _ERROR,
                          **_WRITE_ERRORS, **owner}}},
        "/api/v1/keys": {
            "get": {"summary": "The organisation's named API keys, never the keys (owner)", "operationId": "listKeys",
                    "security": _BEARER, "responses": {"200": _answer("Keys", schemas.ApiKeys), **owner}},
            "post": {"summary": "Create a named key, shown once (owner)", "operationId": "createKey",
                     "security": _BEARER, "requestBody": body(schemas.KeyBody),
                     "responses": {"201": _answer("The key", schemas.NewApiKey), "400": _ERROR, "409": _ERROR,
                                   **_WRITE_ERRORS, **owner}}},
        "/api/v1/keys/{id}": {"delete": {
            "summary": "Revoke a named key: it stops working at once (owner)", "operationId": "revokeKey",
            "security": _BEARER, "parameters": [key_id],
            "responses": {"200": _answer("The revoked key", schemas.ApiKeyInfo), "404": _ERROR, **_WRITE_ERRORS,
                          **owner}}},
    }


def _analytics_paths() -> dict:
    from .analytics import AnalyticsParams, CoverageParams, HeatmapParams, ProductScanParams, RegionParams

    def op(summary, op_id, params, media_models: dict) -> dict:
        content = {media: {"schema": {"anyOf": [_ref(m.__name__) for m in models]} if len(models) > 1
                           else _ref(models[0].__name__)} for media, models in media_models.items()}
        content["text/csv"] = {"schema": {"type": "string"}}
        return {"get": {"summary": summary, "operationId": op_id, "security": _BEARER,
                        "parameters": query_parameters(params),
                        "responses": {"200": {"description": "OK (format=csv: a CSV file, formulas escaped)",
                                              "content": content}, "400": _ERROR, **_AUTH_ERRORS}}}

    return {
        "/api/v1/analytics/heatmap": op("H3 hexagons of open stores or counted scans: {h3, count}", "heatmap",
                                        HeatmapParams, {"application/geo+json": [schemas.Heatmap]}),
        "/api/v1/analytics/timeseries": op("Counted scans per hour (Beijing time labels)", "timeseries",
                                           AnalyticsParams, {"application/json": [schemas.Timeseries]}),
        "/api/v1/analytics/regions": op("Stores, scans, scans per store and busiest brand per province or city",
                                        "regions", RegionParams,
                                        {"application/json": [schemas.Regions, schemas.RegionFeatures]}),
        "/api/v1/analytics/products": op("Scans of products in stores: the most scanned per province, city or "
                                         "district, or per hour", "productScans", ProductScanParams,
                                         {"application/json": [schemas.ProductScans, schemas.ProductScanHours]}),
        "/api/v1/analytics/coverage": op("Share of urban population within 1, 3, 5 km of an open store; largest gaps",
                                         "coverage", CoverageParams,
                                         {"application/json": [schemas.Coverage, schemas.GapFeatures]}),
    }


def _tile_paths() -> dict:
    from .tiles import openapi_paths

    return openapi_paths(_ERROR)


def _demand_paths() -> dict:
    from .demand import openapi_paths

    return openapi_paths(_ERROR, _AUTH_ERRORS, _BEARER)


@functools.lru_cache(maxsize=1)
def _spec() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "o2o store finder API", "version": __version__,
                 "description": "Find the festival's participating stores; coordinates are WGS-84 "
                                "unless `crs` asks for gcj02 or bd09. Distances are great-circle "
                                "metres on a sphere of radius 6,371,008.8 m. Every error is "
                                "`{\"error\": {\"code\", \"message\", \"field\"}}` with a 4xx status."},
        "paths": {**_public_paths(), **_retailer_paths(), **_product_paths(), **_people_paths(),
                  **_analytics_paths(), **_demand_paths(), **_tile_paths()},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "A retailer's or analyst's API key"}},
            "schemas": schemas.components(),
            "responses": {
                "Error": _answer("A client error naming the field", schemas.Error),
                "RateLimited": _answer("Too many requests: try again after Retry-After seconds", schemas.Error,
                                       headers={"Retry-After": {"schema": {"type": "integer", "minimum": 1}}})},
        },
    }


def spec() -> dict:
    """The OpenAPI document (built once per process; a fresh copy each call)."""
    import copy

    return copy.deepcopy(_spec())


@bp.get("/api/openapi.json")
def openapi():
    return jsonify(_spec())
