"""``/ogc/api``: the OpenAPI 3.0 description of the OGC API – Features endpoints (the ``oas30``
conformance class). Query parameters come from the same pydantic models that validate them
(:mod:`o2o.web.ogc`), as in the app's own document (:mod:`o2o.web.docs`). GDAL and QGIS read the
``limit`` parameter's maximum here to choose their page size."""

from __future__ import annotations

import copy
import functools

from .. import __version__
from .docs import query_parameters

_LINK = {"type": "object", "required": ["href", "rel"], "properties": {
    "href": {"type": "string"}, "rel": {"type": "string"}, "type": {"type": "string"},
    "title": {"type": "string"}, "hreflang": {"type": "string"}}}
_LINKS = {"type": "array", "items": {"$ref": "#/components/schemas/link"}}
_ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"}, "field": {"type": "string"}}}}}
_FEATURE = {"type": "object", "required": ["type", "geometry", "properties"], "properties": {
    "type": {"type": "string", "enum": ["Feature"]},
    "id": {"type": "integer"},
    "geometry": {"type": "object", "nullable": True, "required": ["type", "coordinates"], "properties": {
        "type": {"type": "string", "enum": ["Point"]},
        "coordinates": {"type": "array", "minItems": 2, "maxItems": 3, "items": {"type": "number"}}}},
    "properties": {"type": "object", "nullable": True},
    "links": _LINKS}}
_COLLECTION = {"type": "object", "required": ["id", "links"], "properties": {
    "id": {"type": "string"}, "title": {"type": "string"}, "description": {"type": "string"},
    "links": _LINKS, "itemType": {"type": "string"}, "crs": {"type": "array", "items": {"type": "string"}},
    "storageCrs": {"type": "string"},
    "extent": {"type": "object", "properties": {"spatial": {"type": "object", "properties": {
        "bbox": {"type": "array", "items": {"type": "array", "minItems": 4, "maxItems": 6,
                                            "items": {"type": "number"}}},
        "crs": {"type": "string"}}}}}}}
_SCHEMAS = {
    "link": _LINK,
    "exception": _ERROR,
    "landingPage": {"type": "object", "required": ["links"], "properties": {
        "title": {"type": "string"}, "description": {"type": "string"}, "links": _LINKS}},
    "confClasses": {"type": "object", "required": ["conformsTo"], "properties": {
        "conformsTo": {"type": "array", "items": {"type": "string"}}, "links": _LINKS}},
    "collection": _COLLECTION,
    "collections": {"type": "object", "required": ["links", "collections"], "properties": {
        "links": _LINKS, "collections": {"type": "array", "items": {"$ref": "#/components/schemas/collection"}}}},
    "featureGeoJSON": _FEATURE,
    "featureCollectionGeoJSON": {"type": "object", "required": ["type", "features"], "properties": {
        "type": {"type": "string", "enum": ["FeatureCollection"]},
        "features": {"type": "array", "items": {"$ref": "#/components/schemas/featureGeoJSON"}},
        "links": _LINKS, "timeStamp": {"type": "string", "format": "date-time"},
        "numberMatched": {"type": "integer", "minimum": 0}, "numberReturned": {"type": "integer", "minimum": 0}}},
}


def _json_or_html(schema: str, media: str = "application/json") -> dict:
    return {media: {"schema": {"$ref": f"#/components/schemas/{schema}"}}, "text/html": {"schema": {"type": "string"}}}


def _errors(*statuses: int) -> dict:
    return {str(s): {"$ref": "#/components/responses/Error"} for s in statuses}


def _crs_parameters() -> list[dict]:
    crs84 = {"type": "string", "enum": ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"],
             "default": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}
    return [{"name": name, "in": "query", "required": False, "schema": crs84, "style": "form", "explode": False,
             "description": f"{what} (CRS84, WGS 84 longitude/latitude: the only one offered)"}
            for name, what in (("crs", "Coordinates of the answer"), ("bbox-crs", "Coordinates of bbox"))]


@functools.lru_cache(maxsize=1)
def _paths() -> dict:
    from .ogc import FormatParams, ItemsParams

    fmt = query_parameters(FormatParams)
    collection_id = {"name": "collectionId", "in": "path", "required": True, "description": "The collection",
                     "schema": {"type": "string", "enum": ["stores", "products"]}}
    feature_id = {"name": "featureId", "in": "path", "required": True,
                  "description": "The item's id (a store's or a product's)", "schema": {"type": "integer", "minimum": 1}}

    def get(summary: str, op_id: str, params: list, ok: dict, *errors: int) -> dict:
        return {"get": {"summary": summary, "operationId": op_id, "tags": ["OGC API - Features"],
                        "parameters": params, "responses": {"200": ok, **_errors(400, *errors)}}}

    return {
        "/": get("Landing page", "getLandingPage", fmt,
                 {"description": "Links to the API definition, the conformance classes and the collections",
                  "content": _json_or_html("landingPage")}),
        "/conformance": get("Conformance classes", "getConformanceDeclaration", fmt,
                            {"description": "The conformance classes this server implements",
                             "content": _json_or_html("confClasses")}),
        "/api": {"get": {"summary": "This API definition", "operationId": "getApiDefinition",
                         "tags": ["OGC API - Features"],
                         "responses": {"200": {"description": "OpenAPI 3.0", "content": {
                             "application/vnd.oai.openapi+json;version=3.0": {"schema": {"type": "object"}}}}}}},
        "/collections": get("The collections: stores and products", "getCollections", fmt,
                            {"description": "The collections", "content": _json_or_html("collections")}),
        "/collections/{collectionId}": get(
            "One collection", "describeCollection", [collection_id, *fmt],
            {"description": "The collection", "content": _json_or_html("collection")}, 404),
        "/collections/{collectionId}/items": get(
            "Items of a collection, a page at a time (stores: open stores by id; products: geometry null)",
            "getFeatures", [collection_id, *query_parameters(ItemsParams), *_crs_parameters()],
            {"description": "A page of items, with `next` and `prev` links, numberMatched and numberReturned",
             "content": _json_or_html("featureCollectionGeoJSON", "application/geo+json")}, 404),
        "/collections/{collectionId}/items/{featureId}": get(
            "One item (an open store, or a product)", "getFeature", [collection_id, feature_id, *fmt],
            {"description": "The item", "content": _json_or_html("featureGeoJSON", "application/geo+json")}, 404),
    }


def document(base_url: str) -> dict:
    """The OpenAPI 3.0 document, its server at ``base_url`` (``https://host/ogc``)."""
    return {
        "openapi": "3.0.3",
        "info": {"title": "o2o 11.11 stores: OGC API - Features", "version": __version__,
                 "description": "Open stores of the 11.11 festival (points, WGS 84 longitude/latitude) and the "
                                "products they sell (no geometry). OGC API - Features Part 1: core, GeoJSON, "
                                "OpenAPI 3.0 and HTML.",
                 "license": {"name": "As published by the retailers"}},
        "servers": [{"url": base_url}],
        "paths": copy.deepcopy(_paths()),
        "components": {
            "schemas": copy.deepcopy(_SCHEMAS),
            "responses": {"Error": {"description": "A client error naming the parameter", "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/exception"}},
                "text/html": {"schema": {"type": "string"}}}}},
        },
    }
