"""``/go/{id}``: record the scan, then send the shopper to the store's online shop."""

from __future__ import annotations

import time

from flask import Blueprint, current_app, redirect, request

from ..services import scans
from .errors import ApiError
from .limits import limit_scans
from .params import store_id as parse_store_id
from .state import repo

bp = Blueprint("go", __name__)


def _client_address() -> str:
    return request.remote_addr or ""


@bp.get("/go/<store_id>")
@limit_scans(key=lambda: f"{_client_address()}|{request.headers.get('User-Agent', '')[:200]}")
def go(store_id: str):
    r = repo()
    store = r.get_store(parse_store_id(store_id))
    if store is None:
        raise ApiError(404, "not_found", f"no store with id {store_id}")
    if store["status"] != "open":
        raise ApiError(410, "gone", f"{store['name']} has closed; find another store at /")
    retailer = r.get_retailer(store["retailer_id"]) or {"domains": []}
    try:
        target = scans.redirect_url(store, retailer["domains"])
    except scans.UnsafeRedirect as exc:
        current_app.logger.warning("refused redirect for store %s: %s", store["id"], exc)
        raise ApiError(409, "unsafe_redirect",
                       "this store's online shop link is not on its retailer's registered domains") from None
    ua = request.headers.get("User-Agent", "")
    kind = scans.client_kind(ua)
    chash = scans.client_hash(current_app.config["SECRET_KEY"], _client_address(), ua)
    r.record_scan(store, int(time.time()), kind, chash, scans.DEDUP_WINDOW_S)
    response = redirect(target, 302)
    response.headers["Cache-Control"] = "no-store"  # every scan must reach us
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
