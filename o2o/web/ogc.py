"""``/ogc``: OGC API – Features, Part 1 (core, GeoJSON, OpenAPI 3.0 and HTML conformance classes).

GIS users read the stores as a standard layer: QGIS ("Add WFS / OGC API – Features layer"),
GDAL (``OAPIF:https://…/ogc``), OWSLib, ArcGIS. Two collections:

- ``stores``: every open store as a Point Feature (WGS 84 longitude/latitude, CRS84, as stored),
  with the properties of the API's store Features; ``bbox``, ``limit`` (1–1000, default 10),
  ``offset`` paging with ``next``/``prev`` links, and ``brand``/``retailer``/``category``
  filters. Answered from the process's spatial index and feature cache, never a table scan.
- ``products``: every product, with ``geometry: null`` (a product has no place of its own).

Every answer is JSON (GeoJSON for items) or HTML, by ``f=json|html`` or else the ``Accept``
header; links are absolute, built on ``O2O_PUBLIC_URL`` (else the request's own host), since
clients follow them. Public, CORS-open, with ETags like the API's GETs.
"""

from __future__ import annotations

import hashlib
import re
import time
from datetime import datetime, timezone
from typing import Literal
from urllib.parse import urlencode

import orjson
from flask import Blueprint, current_app, render_template, request
from flask_babel import gettext as _
from pydantic import Field, model_validator

from ..geo.hours import now_beijing
from ..geo.index import Filters
from ..services import ogc as service
from ..services.products import PRODUCT_FIELDS
from ..services.validation import FieldError
from . import caching, features, geojson
from .errors import ApiError
from .params import Name, _Query, parse_bbox, parse_query
from .state import repo, state

bp = Blueprint("ogc", __name__, url_prefix="/ogc")

GEOJSON = "application/geo+json"
JSON = "application/json"
HTML = "text/html"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
COLLECTIONS = ("stores", "products")
_DATETIME = re.compile(r"[0-9TZtz:.+\-/]{1,60}|\.\.")
_ID = re.compile(r"[0-9]{1,18}")
ALWAYS_ALLOWED = {"lang"}  # the app's language switch, on every page
CRS_PARAMS = ("crs", "bbox-crs")  # Part 2's parameters: CRS84 is the only one offered (GDAL sends crs)
CRS84_NAMES = {service.CRS84, "https://www.opengis.net/def/crs/OGC/1.3/CRS84", "[OGC:CRS84]", "OGC:CRS84"}


class FormatParams(_Query):
    f: Literal["json", "html"] | None = Field(None, description="The answer's format: json (GeoJSON for items) or "
                                                                "html; without it, the Accept header decides.")


class ItemsParams(FormatParams):
    bbox: str | None = Field(None, description="Only items inside minLon,minLat,maxLon,maxLat (WGS 84, CRS84; "
                                               "six numbers with heights are taken too, heights ignored).",
                             examples=["121.40,31.18,121.55,31.28"])
    limit: int = Field(service.DEFAULT_LIMIT, ge=1, le=service.MAX_LIMIT,
                       description="How many items on this page (1 to 1000).")
    offset: int = Field(0, ge=0, le=100_000_000, description="How many items to skip: the `next` link sets it.")
    datetime: str | None = Field(None, max_length=100,
                                 description="An RFC 3339 instant or interval; stores and products have no time, "
                                             "so every item matches.")
    brand: Name | None = Field(None, description="Exact brand name (stores).")
    retailer: Name | None = Field(None, description="Exact retailer name (stores).")
    category: Name | None = Field(None, description="Exact category name (stores).")

    @model_validator(mode="after")
    def _check(self):
        self.bounds()
        if self.datetime is not None and not all(_DATETIME.fullmatch(p) for p in self.datetime.split("/")):
            raise FieldError("datetime", "datetime must be an RFC 3339 date-time or an interval (a/b, ../b, a/..)")
        return self

    def bounds(self) -> tuple[float, float, float, float] | None:
        if self.bbox is None:
            return None
        parts = self.bbox.split(",")
        if len(parts) == 6:  # minx,miny,minz,maxx,maxy,maxz
            parts = parts[0:2] + parts[3:5]
        return parse_bbox(",".join(parts))

    def filters(self) -> Filters:
        pick = lambda v: None if v is None else [v]  # noqa: E731
        return Filters.of(pick(self.brand), pick(self.retailer), pick(self.category))


# ----------------------------------------------------------------------------- formats and links
def _format() -> str:
    """``json`` or ``html``: ``f`` first, then the Accept header (JSON unless HTML is preferred)."""
    return parse_query(FormatParams, request.args).f or _accepted_format()


def _accepted_format() -> str:
    """``json`` or ``html`` as the Accept header prefers (JSON unless HTML is preferred)."""
    return format_for(request.accept_mimetypes)


def format_for(accept) -> str:
    """``json`` or ``html`` as these parsed Accept values (a ``MIMEAccept``) prefer."""
    best = accept.best_match([JSON, GEOJSON, HTML])
    return "html" if best == HTML and accept[HTML] > max(accept[JSON], accept[GEOJSON]) else "json"


def tag_of(key: str, *extra: str) -> str:
    """An answer's ETag: the API's key (:func:`o2o.web.caching.etag_of`) and what else it follows."""
    return hashlib.blake2b("\x1f".join([key, *extra]).encode(), digest_size=12).hexdigest()


def base_url() -> str:
    return geojson.public_base() + "/ogc"


def _link(href: str, rel: str, media: str, title: str | None = None) -> dict:
    out = {"href": href, "rel": rel, "type": media}
    if title:
        out["title"] = title
    return out


def _self_links(path: str, media: str = JSON, args: dict | None = None, titled: bool = True,
                base: str | None = None) -> list[dict]:
    """``self`` and ``alternate`` links of a resource at ``/ogc{path}`` in the asked format and the other
    (``titled=False``: without titles, for the items' hot path: no translation looked up; ``base``:
    :func:`base_url`, when the caller has it already)."""
    _ = globals()["_"] if titled else (lambda text: None)  # noqa: E731
    fmt = "html" if media == HTML else "json"
    query = urlencode({k: v for k, v in (args or {}).items() if k != "f"})
    prefix = f"{base or base_url()}{path}?{query}{'&' if query else ''}f="

    def url(f: str) -> str:
        return prefix + f
    json_type = GEOJSON if media == GEOJSON else JSON
    return [_link(url(fmt), "self", HTML if fmt == "html" else json_type, _("This document")),
            _link(url("json" if fmt == "html" else "html"), "alternate", json_type if fmt == "html" else HTML,
                  _("This document as JSON") if fmt == "html" else _("This document as HTML"))]


def _answer(body: dict | bytes, media: str = JSON, status: int = 200):
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    response = current_app.response_class(data, status=status, mimetype=media)
    return response


def _html(template: str, **context):
    return render_template(template, **context)


# ----------------------------------------------------------------------------- ETag, CORS
@bp.before_request
def _conditional():
    """An ``ETag`` as the API's GETs have (the data revision, path, query, host, language), plus
    what this blueprint's answers also follow: the Accept header (JSON or HTML), the language
    cookie, the catalogue for products and the minute for stores (``open_now``)."""
    environ = request.environ
    if request.method not in ("GET", "HEAD") or "HTTP_AUTHORIZATION" in environ:
        return None
    try:
        key = caching.etag_for_request()
        extra = [environ.get("HTTP_ACCEPT", ""), request.cookies.get("lang", "")]
        if "/products" in request.path:
            extra.append(repr(repo().catalogue_marks()))
        if "/stores" in request.path:
            extra.append(str(int(time.time() // 60)))
    except Exception:  # noqa: BLE001 - the view itself reports a database that is down
        return None
    tag = tag_of(key, *extra)
    environ["o2o.etag"] = tag
    held = caching._held_variant(tag) if "HTTP_IF_NONE_MATCH" in environ else None
    if held is not None:
        response = current_app.response_class(status=304)
        response.headers["ETag"] = f'"{held}"'
        response.headers["Cache-Control"] = "no-cache"
        response.headers["Vary"] = "Accept, Accept-Language, Cookie"
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response
    return None


@bp.after_request
def _open_to_all(response):
    # Public data for any web map or notebook: readable from any origin (no credentials).
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.vary.add("Accept")
    return response


# ----------------------------------------------------------------------------- landing, conformance, API
@bp.get("", strict_slashes=False)
def landing():
    """The landing page: what this is, and links to the API description, conformance and data."""
    fmt = _format()
    base = base_url()
    links = _self_links("", HTML if fmt == "html" else JSON)
    links += [
        _link(f"{base}/api", "service-desc", OPENAPI, _("The API definition (OpenAPI 3.0)")),
        _link(f"{base}/conformance", "conformance", JSON, _("Conformance classes implemented")),
        _link(f"{base}/collections", "data", JSON, _("The collections")),
    ]
    body = {"title": _("o2o 11.11 stores: OGC API – Features"),
            "description": _("Every open store of the 11.11 shopping festival, and the products they sell, "
                             "as OGC API – Features collections."),
            "links": links}
    if fmt == "html":
        return _html("ogc/landing.html", body=body, base=base)
    return _answer(body)


@bp.get("/conformance")
def conformance():
    fmt = _format()
    body = {"conformsTo": service.CONFORMANCE, "links": _self_links("/conformance", HTML if fmt == "html" else JSON)}
    if fmt == "html":
        return _html("ogc/conformance.html", body=body)
    return _answer(body)


@bp.get("/api")
def api():
    """The OpenAPI 3.0 description of these endpoints."""
    from .ogc_api import document

    return _answer(document(base_url()), OPENAPI)


# ----------------------------------------------------------------------------- collections
def _collection(cid: str, fmt: str) -> dict:
    base = base_url()
    if cid == "stores":
        index = state().index()
        sync = state().index_sync
        extent = _pages().extent(index, (sync.rev, sync.generation))
        body = {"id": "stores", "title": _("Stores"),
                "description": _("Every open store taking part in 11.11: a point (WGS 84 longitude/latitude) with "
                                 "its name, brand, category, address, opening hours and links."),
                "itemType": "feature", "crs": [service.CRS84], "storageCrs": service.CRS84,
                "extent": {"spatial": {"bbox": [list(extent or service.WORLD)], "crs": service.CRS84}}}
    else:
        body = {"id": "products", "title": _("Products"),
                "description": _("The products the retailers sell in their stores. A product has no position "
                                 "of its own: its geometry is null; its page lists the nearest stores with it."),
                "itemType": "feature", "crs": [service.CRS84]}
    links = _self_links(f"/collections/{cid}", HTML if fmt == "html" else JSON) if fmt else []
    links += [_link(f"{base}/collections/{cid}/items?f=json", "items", GEOJSON, _("The items as GeoJSON")),
              _link(f"{base}/collections/{cid}/items?f=html", "items", HTML, _("The items as HTML"))]
    body["links"] = links
    return body


def _collection_or_404(cid: str) -> str:
    if cid not in COLLECTIONS:
        raise ApiError(404, "not_found", f"no collection {cid[:40]!r}: there are {', '.join(COLLECTIONS)}",
                       "collectionId")
    return cid


@bp.get("/collections")
def collections():
    fmt = _format()
    body = {"links": _self_links("/collections", HTML if fmt == "html" else JSON),
            "collections": [_collection(cid, "") for cid in COLLECTIONS]}
    for c in body["collections"]:
        c["links"].insert(0, _link(f"{base_url()}/collections/{c['id']}", "self", JSON, c["title"]))
    if fmt == "html":
        return _html("ogc/collections.html", body=body)
    return _answer(body)


@bp.get("/collections/<cid>")
def collection(cid: str):
    cid = _collection_or_404(cid)
    fmt = _format()
    body = _collection(cid, fmt)
    if fmt == "html":
        return _html("ogc/collection.html", body=body)
    return _answer(body)


# ----------------------------------------------------------------------------- items
def _pages() -> service.StorePages:
    return current_app.extensions.setdefault("o2o_ogc_pages", service.StorePages())


def _products() -> service.ProductList:
    return current_app.extensions.setdefault("o2o_ogc_products", service.ProductList())


def _check_known(args) -> None:
    known = set(ItemsParams.model_fields) | ALWAYS_ALLOWED | set(CRS_PARAMS)
    for name in CRS_PARAMS:
        if name in args and (len(args.getlist(name)) > 1 or args[name] not in CRS84_NAMES):
            raise ApiError(400, "invalid_parameter", f"{name} must be {service.CRS84} (longitude, latitude in "
                                                     "WGS 84), the only coordinate system offered", name)
    for name in args:
        if name not in known:
            raise ApiError(400, "invalid_parameter",
                           f"unknown parameter {name[:40]!r}: items take {', '.join(sorted(ItemsParams.model_fields))}",
                           name[:40])


def _store_parts(ids: list[int]) -> list[bytes]:
    """Store Features as bytes from the feature cache, with this host's absolute page URLs."""
    cache = state().features
    base = geojson.public_base().encode()
    go_base = base + b"/go/"
    at = features.moment(now_beijing())
    frags = cache.fragments(repo(), ids)
    page_url = b'"url":"' + base + b"/stores/"
    return [cache.feature(frags[sid], sid, go_base, at, None).replace(b'"url":"/stores/', page_url, 1)
            for sid in ids if sid in frags]


def _product_feature(p: dict) -> dict:
    props = {f: p.get(f) for f in PRODUCT_FIELDS}
    props["url"] = f"{geojson.public_base()}/products/{p['id']}"
    return {"type": "Feature", "id": p["id"], "geometry": None, "properties": props}


def _page_links(cid: str, p: ItemsParams, page: service.Page, fmt: str) -> list[dict]:
    """The page's links; titled only in HTML (a client paging through thousands of stores reads the
    ``rel``, and looking up four translations was a fifth of each page's time)."""
    return page_links(cid, request.args.items(), p.limit, page, fmt, base_url())


def page_links(cid: str, pairs, limit: int, page: service.Page, fmt: str, base: str) -> list[dict]:
    """The links of a page of items asked for with the query ``pairs`` (each parameter's first
    value, in order), ``base`` being :func:`base_url` (shared with :mod:`o2o.web.fastpath`)."""
    args = {k: v for k, v in pairs if k not in ("f", "offset")}
    args_now = {**args, **({"offset": page.offset} if page.offset else {})}
    media = HTML if fmt == "html" else GEOJSON
    titled = fmt == "html"
    _ = globals()["_"] if titled else (lambda text: None)  # noqa: E731
    links = _self_links(f"/collections/{cid}/items", media, args_now, titled, base)
    # the query without offset and f, encoded once; each link adds its own (same order as before)
    query = urlencode(args)
    url = f"{base}/collections/{cid}/items?{query}{'&' if query else ''}"
    if page.has_next:
        links.append(_link(f"{url}offset={page.offset + len(page.ids)}&f={fmt}", "next", media, _("Next page")))
    if page.has_prev:
        prev = max(page.offset - limit, 0)
        links.append(_link(f"{url}{f'offset={prev}&' if prev else ''}f={fmt}", "prev", media, _("Previous page")))
    links.append(_link(f"{base}/collections/{cid}?f={'html' if fmt == 'html' else 'json'}", "collection",
                       HTML if fmt == "html" else JSON, _("The collection")))
    return links


def _timestamp() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@bp.get("/collections/<cid>/items")
def items(cid: str):
    """A page of a collection's items, as a GeoJSON FeatureCollection (or an HTML table)."""
    cid = _collection_or_404(cid)
    _check_known(request.args)
    p = parse_query(ItemsParams, request.args)
    fmt = p.f or _accepted_format()
    bbox = p.bounds()
    if cid == "stores":
        index = state().index()
        sync = state().index_sync
        page = _pages().page(index, (sync.rev, sync.generation), bbox, p.filters(), p.offset, p.limit)
        parts = _store_parts(page.ids)
    else:
        products, _by_id = _products().get(repo())
        matched = [] if bbox is not None or not p.filters().is_empty() else products
        page = service.page_of(matched, p.offset, p.limit)
        parts = [orjson.dumps(_product_feature(x)) for x in page.ids]
        page = service.Page([x["id"] for x in page.ids], page.matched, page.offset, page.limit)
    members = {"numberMatched": page.matched, "numberReturned": len(parts), "timeStamp": _timestamp(),
               "links": _page_links(cid, p, page, fmt)}
    body = features.collection(parts, members)
    if fmt == "html":
        return _html("ogc/items.html", cid=cid, body=orjson.loads(body), page=page, params=p,
                     collection=_collection(cid, ""))
    response = _answer(body, GEOJSON)
    response.headers["Content-Crs"] = f"<{service.CRS84}>"
    return response


@bp.get("/collections/<cid>/items/<fid>")
def item(cid: str, fid: str):
    """One item: a store (open) or a product; 404 for any other id."""
    cid = _collection_or_404(cid)
    fmt = _format()
    missing = ApiError(404, "not_found", f"no {cid[:-1]} with id {fid[:40]!r} in {cid}", "featureId")
    if not _ID.fullmatch(fid):
        raise missing
    item_id = int(fid)
    if cid == "stores":
        if item_id not in state().index():
            raise missing
        parts = _store_parts([item_id])
        if not parts:
            raise missing
        feature = orjson.loads(parts[0])
    else:
        _products_list, by_id = _products().get(repo())
        if item_id not in by_id:
            raise missing
        feature = _product_feature(by_id[item_id])
    feature["links"] = _self_links(f"/collections/{cid}/items/{item_id}", HTML if fmt == "html" else GEOJSON) + [
        _link(f"{base_url()}/collections/{cid}?f=json", "collection", JSON, _("The collection")),
        _link(feature["properties"]["url"], "describedby", HTML, _("Its page"))]
    if fmt == "html":
        return _html("ogc/item.html", cid=cid, feature=feature, collection=_collection(cid, ""))
    return _answer(feature, GEOJSON)
