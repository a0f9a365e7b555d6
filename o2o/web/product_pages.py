"""``/products/{id}``: a product's page for shoppers (issue 15): the nearest stores that have it, on a
map and in a list, with their stock, price and how long ago the stock was updated (older than a
day: marked as possibly out of date). In Chinese by default, English with ``?lang=en``."""

from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, abort, render_template, request
from flask_babel import format_timedelta, gettext as _

from ..services import finder
from .errors import PageText
from .pages import tile_settings
from .products import _ID, catalogue_cache
from .state import repo

bp = Blueprint("product_pages", __name__)
STALE_AFTER_S = 24 * 3600
NEAREST = 20


def stock_age(updated_at: str | None, now: datetime | None = None) -> tuple[str, bool]:
    """``("updated 3 hours ago", stale)`` in the page's language; stale when older than a day."""
    if not updated_at:
        return "", True
    when = datetime.fromisoformat(updated_at.replace("Z", "+00:00"))
    delta = (now or datetime.now(timezone.utc)) - when
    return (_("updated %(ago)s ago", ago=format_timedelta(max(delta.total_seconds(), 60), threshold=1.1)),
            delta.total_seconds() > STALE_AFTER_S)


@bp.get("/products/<product_id>")
def product_page(product_id: str):
    product = catalogue_cache().get(repo(), int(product_id)) if _ID.fullmatch(product_id) else None
    if product is None:
        abort(404, description=PageText(_("There is no product %(id)s.", id=product_id[:40])))
    lat, lon = request.args.get("lat", type=float), request.args.get("lon", type=float)
    located = lat is not None and lon is not None and -90 <= lat <= 90 and -180 <= lon <= 180
    if not located:
        centres = repo().city_centres(1, brand=product["brand"])
        lon, lat = (centres[0]["lon"], centres[0]["lat"]) if centres else finder.DEFAULT_ORIGIN
    stores = catalogue_cache().nearby(repo(), product["id"], lon, lat, k=NEAREST)
    now = datetime.now(timezone.utc)
    for store in stores:
        store["age"], store["stale"] = stock_age(store["stock_updated_at"], now)
        if store["price"] is None:
            store["price"] = product["price"]
    from .. import maps

    tiles = tile_settings()
    m = maps.embed(maps.stores_map(stores, tiles, popup_label=_("Store page")))
    return render_template("product.html", product=product, stores=stores, map=m, located=located,
                           offline=tiles.offline, tiles_crs=tiles.crs)


@bp.app_template_global()
def store_products(store_id: int) -> list[dict]:
    """For the store page: what the store has in stock or limited (at most 60, by title)."""
    return catalogue_cache().in_store(repo(), store_id)
