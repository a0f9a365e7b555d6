"""``GET /api/v1/stores/nearby`` and pages of ``/ogc/collections/stores/items`` answered below
Flask, for the requests that need nothing else.

The nearby search is the festival night's hot path. Its own work is small (the spatial index, then
twenty cached Features: see :mod:`o2o.web.features`), yet through Flask a request also paid for
the request and app contexts, URL matching, the session, the ``Request``/``Response`` objects and
eight request hooks: in process ~590 µs against ~230 µs for the smallest Flask endpoint, so under
gunicorn it ran at a third of that endpoint's requests/s (``bench/bench_http.py``).

:class:`FastNearby` wraps the app's WSGI callable. A request it recognises is answered here with
the same bytes and headers Flask would send, by the same code: the query checked as
:class:`~o2o.web.params.NearbyParams` would accept it, the index and Feature cache, the search log,
the ETag, compression, the security headers, the request id, the metrics and the request log
(each module's function, shared with its Flask hook). Anything else goes to Flask unchanged:

- another path or method, a key holder (``Authorization``), a conditional request
  (``If-None-Match``: Flask answers the 304s);
- a text search (``q``), another ``crs``, a repeated or malformed parameter, a value out of range
  (Flask answers the 400 naming the field), a query string that is not ASCII;
- an app whose change feed is not listening (outages, ``O2O_CHANGE_FEED=off``: Flask's path reads
  the database, falls back to memory and says how stale the answer is), or a read that failed;
- any store of the answer not yet in the Feature cache (Flask reads it from the database and
  caches it: the next such request is answered here).

The pages of the OGC API's ``stores`` collection as GeoJSON (what GDAL, QGIS and OWSLib page
through) are answered the same way, with the same rules, plus: only ``bbox`` (four numbers),
``limit``, ``offset``, ``f=json`` and one ``brand``/``retailer``/``category``; no cookie (the language
cookie keys their ETag); JSON by ``f`` or by the Accept header; and a process's first page is
Flask's (it makes the pager).

So every answer this path gives is one Flask would give byte for byte (tested side by side:
``tests/integration/test_fastpath.py``), and every error is Flask's. ``O2O_FAST_NEARBY=0`` turns
it off (an A/B for ``bench/bench_http.py``).
"""

from __future__ import annotations

import functools
import logging
import os
import re
import time
from typing import get_args
from urllib.parse import parse_qsl

from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header
from werkzeug.wsgi import get_host

from ..geo.index import Filters
from ..services import finder
from . import api, caching, compression, features, ogc, security
from .api import nearby_body
from .degrade import change_feed_on
from .params import Name, NearbyParams
from .products import catalogue_cache

PATH = "/api/v1/stores/nearby"
OGC_ITEMS = "/ogc/collections/stores/items"
_PATHS = frozenset((PATH, OGC_ITEMS))
_CRS84 = "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"
ENDPOINT = "api.nearby"
_DECIMAL = re.compile(r"-?[0-9]{1,3}(\.[0-9]{1,17})?")
_K = re.compile(r"[1-9][0-9]{0,2}")
_SCALARS = ("lat", "lon", "k", "radius_km")
_LISTS = ("brand", "retailer", "category")
_FLASK_ONLY = frozenset(("q", "crs"))
_STATUS_200 = "200 OK"
_ANY = Filters()
log = logging.getLogger(__name__)


class _Query:
    """The parameters of a nearby request this path answers (``NearbyParams``' names)."""

    __slots__ = ("lat", "lon", "k", "radius_km", "brand", "retailer", "category", "q")

    def __init__(self):
        self.k, self.radius_km, self.q = 20, None, None
        self.brand, self.retailer, self.category = [], [], []


def _pairs(query_string: str) -> list[tuple[str, str]] | None:
    """``(name, value)`` pairs as werkzeug's ``request.args`` reads them; None if not ASCII."""
    if not query_string.isascii():
        return None
    if "%" in query_string or "+" in query_string:
        return parse_qsl(query_string, keep_blank_values=True, errors="werkzeug.url_quote")
    # nothing to decode: what parse_qsl would give, for a fraction of its time
    return [pair.partition("=")[::2] for pair in query_string.split("&") if pair]


def _range(model, name: str) -> tuple:
    """The ``ge``/``le`` bounds a query model declares for ``name`` (one source for both paths)."""
    low = high = None
    for rule in model.model_fields[name].metadata:
        low, high = getattr(rule, "ge", low), getattr(rule, "le", high)
    return low, high


_RANGES = {name: _range(NearbyParams, name) for name in ("lat", "lon", "k", "radius_km")}
_NAME_MAX = next(rule.max_length for rule in get_args(Name)[1].metadata if hasattr(rule, "max_length"))


def _name_ok(value: str) -> bool:
    """A filter value both paths read alike: not empty, nothing for pydantic to strip, not too long."""
    return value != "" and value.strip() == value and len(value) <= _NAME_MAX


def parse(query_string: str) -> _Query | None:
    """The query as :class:`~o2o.web.params.NearbyParams` would read it, or None for anything
    this path leaves to Flask (see the module's description). Deliberately narrower than the
    model: plain decimals only, so that each value accepted here is the one pydantic reads."""
    pairs = _pairs(query_string)
    if pairs is None:
        return None
    seen: set[str] = set()
    out = _Query()
    for name, value in pairs:
        if name in _LISTS:
            if value.strip() == "":
                continue        # Flask drops empty list values
            if not _name_ok(value):
                return None     # pydantic strips and checks the length: leave it to Flask
            getattr(out, name).append(value)
            continue
        if name in _FLASK_ONLY:
            return None
        if name not in _SCALARS:
            continue            # unknown parameters are ignored, as NearbyParams ignores them
        if name in seen:
            return None         # "must be given once": Flask's 400
        seen.add(name)
        if not (_K if name == "k" else _DECIMAL).fullmatch(value):
            return None
        number = int(value) if name == "k" else float(value)
        low, high = _RANGES[name]
        if not low <= number <= high:
            return None
        setattr(out, name, number)
    return out if "lat" in seen and "lon" in seen else None


class _Miss(Exception):
    """A store of the answer is not in the Feature cache: Flask's path reads it."""


class FastNearby:
    """The app's WSGI callable, answering the plain nearby searches itself (see the module)."""

    def __init__(self, app, wsgi_app):
        self.app = app
        self.flask = wsgi_app
        self.state = app.extensions["o2o"]
        settings = app.config["O2O"]
        public = settings.get("PUBLIC_URL")
        self.public_base = public.rstrip("/").encode() if public else None
        self.https = str(public or "").startswith("https://")
        self.observe = app.extensions.get("o2o_observe")   # None with O2O_METRICS=0 (no hooks at all)
        self.change_feed = change_feed_on()
        # the security hook's headers, by (over https, below /api/)
        self.security = {(tls, api_path): security.api_data_headers(tls, download=api_path)
                         for tls in (False, True) for api_path in (False, True)}
        self.answered = 0    # by this path, in this process (tests and curiosity)
        self._started_pid = None            # the per-process starts below done in this process
        self._bases: dict[tuple, bytes] = {}  # (scheme, Host, server name, port) -> b"scheme://host"

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO")
        if (path not in _PATHS or environ.get("REQUEST_METHOD") != "GET"
                or "HTTP_AUTHORIZATION" in environ or "HTTP_IF_NONE_MATCH" in environ):
            return self.flask(environ, start_response)
        if path == OGC_ITEMS:
            query = parse_items(environ.get("QUERY_STRING", ""))
            handler = self._items
        else:
            query = parse(environ.get("QUERY_STRING", ""))
            handler = self._answer
        if query is None:
            return self.flask(environ, start_response)
        try:
            answer = handler(environ, query)
        except _Miss:
            answer = None
        except Exception:  # noqa: BLE001 - Flask's path answers (and reports) whatever went wrong
            log.debug("nearby fast path: left to Flask", exc_info=True)
            answer = None
        if answer is None:
            return self.flask(environ, start_response)
        headers, body = answer
        start_response(_STATUS_200, headers)
        return [body]

    def _ready(self) -> bool:
        """What Flask's ``before_request`` hooks start, started; and the feed listening."""
        state = self.state
        if state.shut_down:
            return False
        pid = os.getpid()
        if self._started_pid != pid:   # once per process (Flask's hooks go on retrying a failed build)
            if self.change_feed:
                state.start_watching()
            state.search_sync.ensure_started()
            catalogue_cache(self.app).ensure_started()
            self._started_pid = pid
        feed = state.index_sync.feed
        return feed.connected and feed.failing_since is None

    def _fresh_index(self):
        """The process's index, brought up to date (a read only when the change feed moved), or None: not ready, or
        the refresh could not read the database (Flask's path then says how stale its answer is)."""
        if not self._ready():
            return None
        index = self.state._refresh()
        feed = self.state.index_sync.feed
        if not feed.connected or feed.failing_since is not None:
            return None
        return index

    def _answer(self, environ, query: _Query):
        if self.observe is not None:
            self.observe.begin(environ)   # the request's start time and id
        index = self._fresh_index()
        if index is None:
            return None
        state = self.state
        sync = state.index_sync
        filters = (Filters.of(query.brand or None, query.retailer or None, query.category or None)
                   if query.brand or query.retailer or query.category else _ANY)
        nearby = finder.NearbyQuery(lon=query.lon, lat=query.lat, k=query.k,
                                    radius_m=None if query.radius_km is None else query.radius_km * 1000.0,
                                    filters=filters)
        ids, dist, fallback = finder.nearby_ids(index, nearby)

        cache = state.features

        def fragments(wanted):
            held = cache.all_held(wanted)
            if held is None:
                raise _Miss
            return held

        body = nearby_body(fragments, ids, dist, fallback, query.radius_km, self._public(environ) + b"/go/",
                           self._moment(api))

        # Everything the answer needs is here: from now on, what Flask's hooks do on a 200.
        if query.brand or query.retailer or query.category:
            from .demand import note_nearby
            note_nearby(query, query.lon, query.lat, ids, dist, fallback, app=self.app)
        return self._respond(environ, body, caching.etag_of(environ, sync), [], "Accept-Language", True,
                             ENDPOINT, PATH)

    def _respond(self, environ, body: bytes, tag: str, first: list, vary: str, api_path: bool,
                 endpoint: str, path: str):
        """``(headers, body)`` of a 200 as Flask's ``after_request`` hooks finish it: the ETag and
        its cache policy, the security headers, compression, the request id, metrics and log line.
        ``first``: the view's own headers after its Content-Type and Content-Length."""
        body, encoding = compression.encode_data(body, environ.get("HTTP_ACCEPT_ENCODING", ""))
        headers = [("Content-Type", "application/geo+json"), ("Content-Length", str(len(body))), *first,
                   ("ETag", f'"{tag}:{encoding}"' if encoding else f'"{tag}"'), ("Cache-Control", "no-cache"),
                   ("Vary", f"{vary}, Accept-Encoding")]
        tls = self.https or environ.get("wsgi.url_scheme") in ("https", "wss")
        headers += self.security[tls, api_path]
        if encoding:
            headers.append(("Content-Encoding", encoding))
        if self.observe is not None:
            headers.append(("X-Request-Id", self.observe.record(environ, endpoint, 200, path)))
        self.answered += 1
        return headers, body

    def _public(self, environ) -> bytes:
        """``b"scheme://host"``, as Flask's ``public_base()`` gives it (``O2O_PUBLIC_URL`` first)."""
        if self.public_base is not None:
            return self.public_base
        scheme = environ.get("wsgi.url_scheme", "http")
        key = (scheme, environ.get("HTTP_HOST"), environ.get("SERVER_NAME"), environ.get("SERVER_PORT"))
        base = self._bases.get(key)
        if base is None:
            if len(self._bases) >= 64:   # many hosts (a scan of Host headers): start again
                self._bases = {}
            base = self._bases[key] = f"{scheme}://{get_host(environ)}".rstrip("/").encode()
        return base

    @staticmethod
    def _moment(view_module):
        """The Beijing minute as the Flask view's module reads it (its ``now_beijing``: one clock,
        which a test may set, for both paths)."""
        return features.moment(view_module.now_beijing())

    # ------------------------------------------------------------------ /ogc/collections/stores/items
    def _items(self, environ, query: "_Items"):
        """A page of the stores as GeoJSON, as :func:`o2o.web.ogc.items` answers it."""
        if self.observe is not None:
            self.observe.begin(environ)
        if "HTTP_COOKIE" in environ or _accepted_format(environ.get("HTTP_ACCEPT")) != "json" and query.f is None:
            return None     # the language cookie keys the ETag; HTML: Flask renders it
        index = self._fresh_index()
        if index is None:
            return None
        state = self.state
        sync = state.index_sync
        pages = self.app.extensions.get("o2o_ogc_pages")
        if pages is None:
            return None     # the first page of a process is Flask's (it makes the pager)
        page = pages.page(index, (sync.rev, sync.generation), query.bbox, query.filters, query.offset, query.limit)
        frags = state.features.all_held(page.ids)
        if frags is None:
            raise _Miss
        public = self._public(environ)
        go_base, page_url, at = public + b"/go/", b'"url":"' + public + b"/stores/", self._moment(ogc)
        feature = features.FeatureCache.feature
        parts = [feature(frags[sid], sid, go_base, at, None).replace(b'"url":"/stores/', page_url, 1)
                 for sid in page.ids]
        members = {"numberMatched": page.matched, "numberReturned": len(parts), "timeStamp": ogc._timestamp(),
                   "links": ogc.page_links("stores", query.pairs, query.limit, page, "json", public.decode() + "/ogc")}
        body = features.collection(parts, members)
        # ogc's own tag: the API's key, the Accept header, no language cookie, the minute (open_now)
        tag = ogc.tag_of(caching.etag_of(environ, sync), environ.get("HTTP_ACCEPT", ""), "",
                         str(int(time.time() // 60)))
        return self._respond(environ, body, tag, [("Content-Crs", _CRS84), ("Access-Control-Allow-Origin", "*")],
                             "Accept, Accept-Language", False, "ogc.items", OGC_ITEMS)


class _Items:
    """The parameters of a page of stores this path answers (``ItemsParams``' names)."""

    __slots__ = ("bbox", "limit", "offset", "f", "filters", "pairs")


_ITEM_SCALARS = ("bbox", "limit", "offset", "f", "brand", "retailer", "category")
_WHOLE = re.compile(r"0|[1-9][0-9]{0,8}")
_ITEM_RANGES = {name: _range(ogc.ItemsParams, name) for name in ("limit", "offset")}


def parse_items(query_string: str) -> _Items | None:
    """The query of ``/ogc/collections/stores/items`` as :class:`~o2o.web.ogc.ItemsParams` reads it,
    or None for anything left to Flask: another parameter (``datetime``, ``crs``, ``lang``, an
    unknown one: Flask's 400), a repeated or malformed value, ``f=html``."""
    pairs = _pairs(query_string)
    if pairs is None:
        return None
    out = _Items()
    out.bbox, out.limit, out.offset, out.f = None, 10, 0, None
    named: dict[str, str] = {}
    for name, value in pairs:
        if name not in _ITEM_SCALARS or name in named:
            return None
        named[name] = value
        if name == "bbox":
            parts = value.split(",")
            if len(parts) != 4 or not all(_DECIMAL.fullmatch(v) for v in parts):
                return None
            w, s, e, n = (float(v) for v in parts)
            if not (-180 <= w <= e <= 180 and -90 <= s <= n <= 90):
                return None
            out.bbox = (w, s, e, n)
        elif name in ("limit", "offset"):
            if not _WHOLE.fullmatch(value):
                return None
            number = int(value)
            low, high = _ITEM_RANGES[name]
            if not low <= number <= high:
                return None
            setattr(out, name, number)
        elif name == "f":
            if value != "json":
                return None
            out.f = value
        elif not _name_ok(value):
            return None
    out.filters = (Filters.of(*([named[k]] if k in named else None for k in ("brand", "retailer", "category")))
                   if ("brand" in named or "retailer" in named or "category" in named) else _ANY)
    out.pairs = list(named.items())
    return out


@functools.lru_cache(maxsize=64)
def _accepted_format(accept: str | None) -> str:
    """``json`` or ``html`` as :func:`o2o.web.ogc._accepted_format` decides from this Accept header."""
    return ogc.format_for(parse_accept_header(accept, MIMEAccept))


def install(app) -> None:
    """Put the path in front of the app (``O2O_FAST_NEARBY``, on by default)."""
    if app.config["O2O"].get("FAST_NEARBY", True):
        app.wsgi_app = FastNearby(app, app.wsgi_app)
