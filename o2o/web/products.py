"""Products in stores (issue 15): the retailer's catalogue and stock imports, and the shoppers' reads.

Thin views: parse the request, call :mod:`o2o.services.catalogue` or :mod:`o2o.services.products`,
answer JSON (GeoJSON for ``nearby``)."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request

from ..services import catalogue
from . import api_messages, auth
from .errors import ApiError
from .limits import limit_writes
from .state import repo

bp = Blueprint("products", __name__, url_prefix="/api/v1")


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
