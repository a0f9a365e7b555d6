"""Products in stores (issue 15): the retailer's catalogue and stock imports, and the shoppers' reads.

Thin views: parse the request, call :mod:`o2o.services.catalogue` or :mod:`o2o.services.products`,
answer JSON (GeoJSON for ``nearby``)."""

from __future__ import annotations

import re

import orjson
from flask import Blueprint, current_app, g, jsonify, request
from pydantic import Field

from ..geo import crs as crs_mod
from ..services import catalogue
from ..services.products import Catalogue
from . import api_messages, auth, demand, features, geojson
from .api import now_beijing
from .errors import ApiError
from .limits import limit_writes
from .params import _Query, parse_query
from .state import index, repo, state

bp = Blueprint("products", __name__, url_prefix="/api/v1")
_ID = re.compile(r"[0-9]{1,18}")


class ProductSearchParams(_Query):
    q: str | None = Field(None, max_length=100,
                          description="Words as shoppers type them: characters, pinyin (yurongfu), initials (yrf), "
                                      "English; every word must match the title, brand, category or sku.")
    brand: str | None = Field(None, min_length=1, max_length=200, description="Brand name (or its Chinese name).")
    retailer: str | None = Field(None, min_length=1, max_length=200, description="Retailer name.")
    limit: int = Field(20, ge=1, le=100, description="How many products at most.")


class ProductNearbyParams(_Query):
    lat: float = Field(..., ge=-90, le=90, description="Latitude of the shopper.")
    lon: float = Field(..., ge=-180, le=180, description="Longitude of the shopper.")
    k: int = Field(20, ge=1, le=200, description="How many stores at most.")
    radius_km: float | None = Field(None, ge=0, le=100, description="Only stores within this great-circle distance.")
    crs: crs_mod.Crs = Field("wgs84", description="Coordinate system of the input and output.")


class ImportFlags(_Query):
    atomic: bool = Field(False, description="Store every row or none.")
    dry_run: bool = Field(False, description="Check and report; store nothing.")
    replace: bool = Field(False, description="Stock only: each store in the file keeps only the file's lines.")


def catalogue_cache(app=None) -> Catalogue:
    """This app's product search index and stocked-store cache (its search index built in a
    background thread of each process: :meth:`Catalogue.ensure_started`)."""
    app = app or current_app
    found = app.extensions.get("o2o_catalogue")
    if found is None:
        state = app.extensions["o2o"]
        made = Catalogue(state.search_sync.open_repo)
        found = app.extensions.setdefault("o2o_catalogue", made)
        if found is made:
            state.on_shutdown(made.stop)
    return found


def _product_id(raw: str) -> int:
    if not _ID.fullmatch(raw):
        raise ApiError(404, "not_found", f"no product with id {raw[:40]!r}", "id")
    return int(raw)


def _product_or_404(raw: str) -> dict:
    product = catalogue_cache().get(repo(), _product_id(raw))
    if product is None:
        raise ApiError(404, "not_found", f"no product with id {raw[:40]!r}", "id")
    return product


@bp.get("/products")
def search_products():
    """Products matching the words (all products without ``q``), best first."""
    p = parse_query(ProductSearchParams, request.args)
    found = catalogue_cache().search(repo(), p.q or "", brand=p.brand, retailer=p.retailer, limit=p.limit)
    if p.q or p.brand:
        demand.note_products(p.q, [p.brand] if p.brand else [], p.retailer, len(found))
    return jsonify({"products": found})


@bp.get("/products/<product_id>")
def get_product(product_id: str):
    """One product."""
    return jsonify(_product_or_404(product_id))


@bp.get("/products/<product_id>/nearby")
def product_nearby(product_id: str):
    """GeoJSON of the nearest open stores that have the product in stock or limited, nearest first."""
    product = _product_or_404(product_id)
    p = parse_query(ProductNearbyParams, request.args)
    if p.crs == crs_mod.WGS84:
        return _nearby_fast(product, p)
    lon, lat = crs_mod.to_wgs84(p.lon, p.lat, p.crs)
    stores = catalogue_cache().nearby(repo(), product["id"], lon, lat, k=p.k,
                                      radius_m=None if p.radius_km is None else p.radius_km * 1000.0)
    demand.note_product_nearby(product, lon, lat, p.radius_km, [(s["id"], s["distance_m"]) for s in stores])
    features = []
    for store in stores:
        if store["price"] is None:
            store["price"] = product["price"]
        feature = geojson.store_feature(store, p.crs)
        feature["properties"]["go_url"] += f"?product={product['id']}"
        features.append(feature)
    response = jsonify(geojson.collection(features, p.crs, product=product))
    response.mimetype = "application/geo+json"
    return response


def _flag(name: str) -> bool:
    raw = request.args.get(name, "false").strip().lower()
    if raw not in ("true", "false", "1", "0", "yes", "no"):
        raise ApiError(400, "invalid_parameter", f"{name} must be true or false", name)
    return raw in ("true", "1", "yes")


def _upload() -> tuple[bytes, str | None, str | None]:
    """The file: the multipart field ``file``, or the body itself."""
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise ApiError(400, "invalid_parameter", "send the file as the multipart field 'file'", "file")
        return upload.read(), upload.filename, upload.mimetype
    return request.get_data(cache=False), None, request.mimetype


def _report(report, parsed) -> tuple:
    _, report.format, report.encoding, report.columns, report.unknown_columns = parsed
    response = jsonify(api_messages.localise_report(report.to_dict()))
    response.vary.add("Accept-Language")
    return response, (200 if report.stored or report.dry_run else 422)


@bp.post("/products/import")
@auth.require("retailer")
@limit_writes
def import_products():
    """The retailer's products (CSV, spreadsheet or JSON), upserted by sku; a report of every row."""
    atomic, dry_run = _flag("atomic"), _flag("dry_run")
    data, filename, mimetype = _upload()
    parsed = catalogue.read_rows(data, filename, mimetype, catalogue.PRODUCT_HEADERS, "products")
    report = catalogue.import_products(repo(), g.principal, parsed[0], atomic=atomic, dry_run=dry_run)
    return _report(report, parsed)


@bp.post("/inventory/import")
@auth.require("retailer")
@limit_writes
def import_inventory():
    """Stock lines of the retailer's stores (store code, sku, stock word, quantity, price);
    ``replace=true``: each store in the file keeps only the lines the file gives it."""
    atomic, dry_run, replace = _flag("atomic"), _flag("dry_run"), _flag("replace")
    data, filename, mimetype = _upload()
    parsed = catalogue.read_rows(data, filename, mimetype, catalogue.STOCK_HEADERS, "stock")
    report = catalogue.import_stock(repo(), g.principal, parsed[0], atomic=atomic, dry_run=dry_run, replace=replace)
    return _report(report, parsed)


def _nearby_fast(product: dict, p: ProductNearbyParams):
    """The common case (WGS-84): the stores' pre-serialised Features (features.py) with this
    request's link, open-now, distance and the stock line added."""
    index()  # the store revision brought up to date: closed stores leave the Feature cache
    found = catalogue_cache().nearest(repo(), product["id"], p.lon, p.lat, k=p.k,
                                      radius_m=None if p.radius_km is None else p.radius_km * 1000.0)
    demand.note_product_nearby(product, p.lon, p.lat, p.radius_km, found)
    cache = state().features
    frags = cache.fragments(repo(), [sid for sid, _, _ in found])
    go_base = (geojson.public_base() + "/go/").encode()
    suffix = b"?product=%d" % product["id"]
    at = features.moment(now_beijing())
    parts = []
    for sid, dist, (_, _, _, availability, quantity, price, updated_at) in found:
        frag = frags.get(sid)
        if frag is None:
            continue
        stock = orjson.dumps({"distance_m": round(dist, 1), "availability": availability, "quantity": quantity,
                              "price": product["price"] if price is None else price,
                              "stock_updated_at": updated_at})
        parts.append(b"".join([frag.head, b',"go_url":"', go_base, frag.id_bytes, suffix, b'","open_now":',
                               frag.open_now(at), b",", stock[1:-1], b"}}"]))
    return current_app.response_class(features.collection(parts, {"product": product}),
                                      mimetype="application/geo+json")


@bp.get("/retailer/stores/<store_id>/labels.pdf")
@auth.require("retailer")
def shelf_labels(store_id: str):
    """Shelf labels (A4, 21 a page) with the QR code of ``/go/{store}?product={id}`` for every product
    in one of the retailer's stores' stock."""
    from ..services.labels import labels_pdf
    from .params import store_id as parse_store_id

    store = repo().get_store(parse_store_id(store_id))
    if store is None or store["retailer_id"] != g.principal.id:
        raise ApiError(404, "not_found", f"no store of yours with id {store_id[:40]!r}", "id")
    lines = repo().stock_of_store(store["id"])
    products = {p["id"]: p for p in repo().get_products([line["product_id"] for line in lines])}
    base = geojson.go_url(store["id"])
    items = [(products[line["product_id"]], f"{base}?product={line['product_id']}") for line in lines
             if line["product_id"] in products]
    items.sort(key=lambda item: (item[0]["title"], item[0]["id"]))
    return current_app.response_class(labels_pdf(items), mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="o2o-labels-{store["id"]}.pdf"'})
