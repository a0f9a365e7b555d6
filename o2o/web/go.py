"""``/go/{id}``: record the scan, then send the shopper to the store's online shop."""

from __future__ import annotations

import re
import time

from flask import Blueprint, current_app, redirect, request

from ..services import scans
from .errors import ApiError
from .limits import limit_scans
from .params import store_id as parse_store_id
from .state import repo, state

bp = Blueprint("go", __name__)
_ID = re.compile(r"[0-9]{1,18}")


def _client_address() -> str:
    return request.remote_addr or ""


@bp.get("/go/<store_id>")
@limit_scans(key=lambda: f"{_client_address()}|{request.headers.get('User-Agent', '')[:200]}")
def go(store_id: str):
    product = request.args.get("product")
    if product is not None and not _ID.fullmatch(product):
        raise ApiError(404, "not_found", f"no product with id {product[:40]!r}", "product")
    try:
        target = scans.record(repo(), parse_store_id(store_id), request.headers.get("User-Agent", ""),
                              _client_address(), current_app.config["SECRET_KEY"], int(time.time()),
                              product_id=None if product is None else int(product), spool=state().spool)
    except scans.UnknownProduct as exc:
        raise ApiError(404, "not_found", str(exc), "product") from None
    except scans.StoreClosed as exc:
        raise ApiError(410, "gone", str(exc)) from None
    except scans.UnsafeRedirect as exc:
        current_app.logger.warning("refused redirect for store %s: %s", store_id, exc)
        raise ApiError(409, "unsafe_redirect",
                       "this store's online shop link is not on its retailer's registered domains") from None
    response = redirect(target, 302)
    response.headers["Cache-Control"] = "no-store"  # every scan must reach us
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
