"""For search engines: the store directory (province → city → stores), ``/sitemap.xml``,
``/robots.txt``, each page's canonical address with its ``hreflang`` alternates, and a store
page's schema.org JSON-LD.

Canonical addresses: a page in Chinese (the default, what a crawler without cookies gets) is
its bare path; in English it is the path with ``?lang=en``. Other query parameters (a shopper's
``lat``/``lon``) are dropped, except the ones that choose what the page shows (a directory page's
``page``, the OGC pages' ``f``, ``bbox``, ``offset``…). ``x-default`` is the bare path.
All of it is answered from memory: the directory's table (:mod:`o2o.services.directory`), the
index's store ids and the product list the OGC API keeps.
"""

from __future__ import annotations

import hashlib
import threading
from urllib.parse import quote, urlencode

from flask import Blueprint, Flask, Response, abort, current_app, g, has_request_context, render_template, request
from flask_babel import gettext as _
from markupsafe import Markup

from ..geo.hours import now_beijing
from ..services import directory as directory_service
from ..services.finder import brand_slug
from ..services.structured_data import store_jsonld
from . import geojson, i18n
from .errors import PageText
from .state import repo, state

bp = Blueprint("seo", __name__)
STORES_PER_PAGE = 500
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


# ----------------------------------------------------------------------------- canonical addresses
def canonical_url(lang: str | None = None) -> str:
    """This page's canonical absolute URL in ``lang`` (this page's language by default)."""
    lang = lang or i18n.current_lang()
    path = g.get("lang_base") or quote(request.path, safe=_PATH_SAFE)
    if request.blueprint == "ogc":
        args = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"]
    else:
        args = [(k, v) for k, v in g.get("canonical_args", {}).items()]
    if lang != i18n.DEFAULT_LANG:
        args.append(("lang", lang))
    return geojson.public_base() + path + (f"?{urlencode(args)}" if args else "")


def alternates() -> list[tuple[str, str]]:
    """``(hreflang, href)`` of this page in each language, and the language-negotiated default."""
    return [(i18n.HTML_LANG[lang], canonical_url(lang)) for lang in i18n.LANGS] + \
        [("x-default", canonical_url(i18n.DEFAULT_LANG))]


def store_json_ld(store: dict) -> Markup:
    """``<script type="application/ld+json">`` of a store page (see :mod:`o2o.services.structured_data`)."""
    data = store_jsonld(store, canonical_url(), now_beijing(), i18n.brand_label(store.get("brand")))
    return Markup(f'<script type="application/ld+json">{i18n.script_json(data)}</script>')


# ----------------------------------------------------------------------------- the directory
_dir_lock = threading.Lock()


def directory(app: Flask | None = None) -> directory_service.Directory:
    """The app's directory table, brought up to date with the stores."""
    app = app or current_app
    found = app.extensions.get("o2o_directory")
    if found is None:
        with _dir_lock:
            found = app.extensions.get("o2o_directory")
            if found is None:
                found = app.extensions["o2o_directory"] = directory_service.Directory()
                app.extensions["o2o"].index_sync.listeners.append(found.changed)
    if has_request_context():
        state().index()   # learns of changes (and tells the directory which stores changed)
        found.sync(repo())
    return found


@bp.get("/directory")
def provinces():
    return render_template("directory.html", level="country", provinces=directory().provinces())


@bp.get("/directory/<province>")
def province_page(province: str):
    cities = directory().cities(province)
    if cities is None:
        abort(404, description=PageText(_("There is no such place in the directory.")))
    return render_template("directory.html", level="province", province=province, cities=cities)


@bp.get("/directory/<province>/<city>")
def city_page(province: str, city: str):
    stores = directory().stores(province, city)
    if stores is None:
        abort(404, description=PageText(_("There is no such place in the directory.")))
    raw = request.args.get("page", "1")
    pages = max(1, -(-len(stores) // STORES_PER_PAGE))
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= pages:
        abort(404, description=PageText(_("There is no such page.")))
    page = int(raw)
    if page > 1:
        g.canonical_args = {"page": page}
    shown = stores[(page - 1) * STORES_PER_PAGE:page * STORES_PER_PAGE]
    districts: dict[str, list] = {}
    for s in shown:
        districts.setdefault(s.district, []).append(s)
    return render_template("directory.html", level="city", province=province, city=city, districts=districts,
                           total=len(stores), page=page, pages=pages)


# ----------------------------------------------------------------------------- sitemap, robots.txt
def _sitemap_urls() -> tuple[str, list[str]]:
    """``(tag, urls)``: every public page worth a crawler's visit, absolute; cached per data state."""
    from .ogc import _products

    d = directory()
    sync = state().index_sync
    base = geojson.public_base()
    products_rev = repo().catalogue_marks()[1]
    key = (sync.rev, sync.generation, products_rev, base)
    cached = current_app.extensions.get("o2o_sitemap")
    if cached and cached[0] == key:
        return cached[1], cached[2]
    urls = [f"{base}/", f"{base}/directory"]
    for province, _cities, _n in d.provinces():
        p = quote(province, safe="")
        urls.append(f"{base}/directory/{p}")
        for city, n in d.cities(province):
            c = f"{base}/directory/{p}/{quote(city, safe='')}"
            urls += [c] + [f"{c}?page={k}" for k in range(2, -(-n // STORES_PER_PAGE) + 1)]
    urls += [f"{base}/brands/{brand_slug(b)}" for b in dict.fromkeys(d.brands())]
    urls += [f"{base}/stores/{sid}" for sid in d.store_ids()]
    products, _by_id = _products().get(repo())
    urls += [f"{base}/products/{p['id']}" for p in products]
    urls.append(f"{base}/ogc")
    tag = hashlib.blake2b(repr(key).encode(), digest_size=12).hexdigest()
    current_app.extensions["o2o_sitemap"] = (key, tag, urls)
    return tag, urls


def _xml(body: bytes, tag: str):
    response = Response(body, mimetype="application/xml")
    response.set_etag(tag)
    response.cache_control.public = True
    response.cache_control.no_cache = True
    return response.make_conditional(request)


@bp.get("/sitemap.xml")
def sitemap():
    """Every open store's page, the directory, the brands and the products: one ``<urlset>``, or past
    ``O2O_SITEMAP_URLS_PER_FILE`` (50,000, the protocol's limit) an index of ``/sitemap-N.xml``."""
    tag, urls = _sitemap_urls()
    per_file = current_app.config["O2O"]["SITEMAP_URLS_PER_FILE"]
    parts = directory_service.sitemap_parts(len(urls), per_file)
    if parts == 1:
        return _xml(directory_service.urlset(urls), tag)
    base = geojson.public_base()
    return _xml(directory_service.sitemap_index(f"{base}/sitemap-{n}.xml" for n in range(1, parts + 1)), f"{tag}-i")


@bp.get("/sitemap-<int:part>.xml")
def sitemap_part(part: int):
    tag, urls = _sitemap_urls()
    per_file = max(1, current_app.config["O2O"]["SITEMAP_URLS_PER_FILE"])
    if not 1 <= part <= directory_service.sitemap_parts(len(urls), per_file):
        abort(404)
    return _xml(directory_service.urlset(urls[(part - 1) * per_file:part * per_file]), f"{tag}-{part}")


@bp.get("/robots.txt")
def robots():
    lines = ["User-agent: *",
             "Disallow: /go/",          # a crawler following a QR link would count as a scan
             "Disallow: /api/", "Disallow: /retailer", "Disallow: /analytics", "Disallow: /account",
             "Disallow: /login", "Allow: /", "",
             f"Sitemap: {geojson.public_base()}/sitemap.xml", ""]
    response = Response("\n".join(lines), mimetype="text/plain")
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response


def init(app: Flask) -> None:
    app.register_blueprint(bp)
    directory(app)  # listening to the index from now on
    app.jinja_env.globals.update(canonical_url=canonical_url, hreflang_alternates=alternates,
                                 store_json_ld=store_json_ld)
