"""Shoppers' pages: the finder map, a store, a brand. Views gather data and render templates."""

from __future__ import annotations

import json
from datetime import datetime
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, current_app, make_response, render_template, request
from flask_babel import format_datetime
from flask_babel import gettext as _

from ..geo.hours import is_open_at, now_beijing
from ..services import finder
from . import assets, geojson, hours_text, i18n
from .browsers import in_app_browser
from .errors import ApiError, PageText
from .params import ViewportParams, parse_query
from .params import store_id as parse_store_id
from .state import index, repo

bp = Blueprint("pages", __name__)


def tile_settings():
    from ..maps import TileSettings  # folium: imported on the first page that draws a map

    cfg = current_app.config["O2O"]
    return TileSettings(cfg["TILES"], cfg["TILES_CRS"], cfg.get("TILES_ATTRIBUTION"))


def _client_config(**extra) -> str:
    tiles = tile_settings()
    data = {"tiles": tiles.url, "tilesCrs": tiles.crs, "attribution": tiles.attribution}
    data.update(i18n.client_config())
    data.update(extra)
    # Inside <script type="application/json">: escape "<" so no text can close the tag.
    return json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")


@bp.get("/")
def home():
    r = repo()
    cities = r.city_centres(60)
    brands = finder.list_brands(r)
    categories = [c for c, _ in r.category_counts()]
    return render_template(
        "index.html",
        config_json=_client_config(cities=cities, brands=[b["name"] for b in brands],
                                   categories=categories),
        cities=cities, brands=brands, categories=categories,
    )


@bp.get("/my")
def my():
    """My 11.11: nearby stores of the brands this shopper follows (kept in the browser)."""
    r = repo()
    cities = r.city_centres(60)
    brands = finder.list_brands(r)
    return render_template("my.html", brands=brands, cities=cities,
                           config_json=_client_config(cities=cities, brands=[b["name"] for b in brands]))


def _store_or_404(store_id: str) -> dict:
    """The store a page's URL names, or a 404 page saying there is none."""
    store = repo().get_store(parse_store_id(store_id))
    if store is None:
        abort(404, description=PageText(_("There is no store %(id)s.", id=parse_store_id(store_id))))
    return store


@bp.get("/stores/<store_id>")
def store_page(store_id: str):
    store = _store_or_404(store_id)
    store_id = store["id"]
    from .. import maps

    tiles = tile_settings()
    m = maps.embed(maps.store_map(store, tiles))
    links = geojson.nav_links(store)
    now = now_beijing()
    response = make_response(render_template(
        "store.html", store=store, map=m, links=links, go_url=geojson.go_url(store_id),
        open_now=is_open_at(store["hours"], now, store.get("special_hours")),
        special_hours=hours_text.special_lines(store.get("special_hours"), now),
        brand_slug=finder.brand_slug(store["brand"]),
        offline=tiles.offline, tiles_crs=tiles.crs, in_app=in_app_browser(request.headers.get("User-Agent")),
    ))
    response.vary.add("User-Agent")  # WeChat and QQ get other navigation buttons
    return response


@bp.get("/stores/<store_id>/poster.pdf")
def store_poster(store_id: str):
    """A printable QR poster of one store (``?size=a5`` or ``a4``)."""
    from ..services.posters import posters_pdf

    store = _store_or_404(store_id)
    store_id = store["id"]
    if store["status"] != "open":
        abort(410, description=PageText(_("This store has closed.")))
    size = request.args.get("size", "a5").lower()
    if size not in ("a4", "a5"):
        raise ApiError(400, "invalid_parameter", "size must be a4 or a5", "size")
    pdf = posters_pdf([(store, geojson.go_url(store_id))], size)
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="o2o-poster-{store_id}-{size}.pdf"'})


@bp.get("/brands/<slug>")
def brand_page(slug: str):
    lat, lon = request.args.get("lat", type=float), request.args.get("lon", type=float)
    origin = None
    if lat is not None and lon is not None and -90 <= lat <= 90 and -180 <= lon <= 180:
        origin = (lon, lat)
    view = finder.brand_stores(repo(), index(), slug, origin)
    if view is None:
        abort(404, description=PageText(_("There is no such brand.")))
    from .. import maps

    tiles = tile_settings()
    # The map carries no store: it draws the brand's stores from the vector tiles, clustered by
    # the server (a page of 1,000-odd stores no longer clusters them in the phone's browser).
    m = maps.embed(maps.fitted_map(view.stores, tiles))
    store_tiles = {"url": "/tiles/stores/{z}/{x}/{y}.mvt?" + urlencode({"brand": view.brand["name"]}),
                   "crs": tiles.crs, "label": _("Store page"), "maxZoom": 19}
    if view.stores:  # only the tiles over the brand's stores are asked for (a little wider: GCJ-02 maps)
        lons, lats = [s["lon"] for s in view.stores], [s["lat"] for s in view.stores]
        store_tiles["bounds"] = [[min(lats) - 0.05, min(lons) - 0.05], [max(lats) + 0.05, max(lons) + 0.05]]
    return render_template("brand.html", brand=view.brand, stores=view.stores[:200], total=len(view.stores),
                           map=m, located=request.args.get("lat") is not None,
                           offline=tiles.offline, tiles_crs=tiles.crs, store_tiles=store_tiles)


@bp.get("/geodata/<level>.geojson")
def outlines(level: str):
    """Offline basemap outlines: provinces and cities whole; districts for a ``bbox`` only."""
    from ..basemap import LEVELS_WHOLE, MAX_BBOX_DEG, TOLERANCE_DEG, outlines_geojson, outlines_in_bbox

    if level not in TOLERANCE_DEG:
        abort(404)
    if level in LEVELS_WHOLE and "bbox" not in request.args:
        # Made and compressed once per process (brotli at its best: a quarter to a third smaller
        # than gzip), with an ETag: a day later, a 304.
        return assets.send_bytes(f"geodata/{level}", lambda: outlines_geojson(level),
                                 "application/geo+json", "public, max-age=86400")
    else:
        w, s, e, n = parse_query(ViewportParams, request.args).bounds()
        widest = MAX_BBOX_DEG.get(level, 360.0)
        if e - w > widest or n - s > widest:
            raise ApiError(400, "invalid_parameter",
                           f"bbox must be at most {widest:g} degrees across for {level}", "bbox")
        body = outlines_in_bbox(level, (w, s, e, n))
    response = Response(body, mimetype="application/geo+json")
    response.cache_control.public = True
    response.cache_control.max_age = 86400
    return response


@bp.app_template_filter("beijing")
def format_beijing(utc_text: str | None) -> str:
    """An ISO UTC timestamp shown in Beijing time, in the page's language."""
    if not utc_text:
        return ""
    when = datetime.fromisoformat(utc_text.replace("Z", "+00:00"))
    return format_datetime(when, "short") + " (UTC+8)"
