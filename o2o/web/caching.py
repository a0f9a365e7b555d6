"""Conditional GETs of the public API: an ``ETag`` keyed on the data revision, and ``304``.

A phone that asks again for the stores it has (a map moved back, a page reloaded) should not
download them again. Every public GET of the API carries an ``ETag`` made from what its answer
depends on: the database revision (and the number of full reloads) that every worker already
reads before answering, the request's path and query, the host written into ``/go`` links, the
language of its messages, and, for stores, the Beijing minute (their ``open_now`` changes with
it). A request whose ``If-None-Match`` holds that tag is answered ``304 Not Modified`` before any
work is done; a change to any store changes the revision, so it is seen at once, on every worker.

Answers to a key holder (``Authorization``) are never tagged: they are ``no-store``.
"""

from __future__ import annotations

import hashlib
import time

from flask import Flask, request

from .compression import etag_variants
from .state import mark_stale, state

# Public GETs of the API whose answers follow the stores (``/api/v1/stores…``: nearby, viewport,
# one store, its QR code; brands; places; suggestions; the vector tiles).
PREFIXES = ("/api/v1/stores", "/api/v1/brands", "/api/v1/places", "/api/v1/suggest", "/api/v1/products",
            "/tiles/")
# Below these, the answer depends on the time as well (``open_now``).
TIMED = ("/api/v1/stores", "/api/v1/products/")
# Below these, on the products and stock too (their counter: one more read of ``meta``).
CATALOGUE = ("/api/v1/products",)


def _eligible(environ) -> bool:
    path = environ.get("PATH_INFO", "")
    return (environ.get("REQUEST_METHOD") in ("GET", "HEAD") and path.startswith(PREFIXES)
            and "HTTP_AUTHORIZATION" not in environ and not path.endswith("/history"))


def etag_for_request() -> str:
    """The tag of this request's answer as the data stands now (raw WSGI values: this runs on
    every nearby search, and werkzeug's parsed views of the request cost more than the hash)."""
    environ = request.environ
    state().index()  # brings the revision up to date (a read only when the change feed moved)
    return etag_of(environ, state().index_sync)


def etag_of(environ, sync) -> str:
    """The tag of the answer to ``environ`` at ``sync``'s revision (already brought up to date)."""
    path = environ.get("PATH_INFO", "")
    key = (f"{sync.rev}\x1f{sync.generation}\x1f{path}\x1f{environ.get('QUERY_STRING', '')}\x1f"
           f"{environ.get('HTTP_HOST', '')}\x1f{environ.get('HTTP_ACCEPT_LANGUAGE', '')}")
    if path.startswith(TIMED):
        key += f"\x1f{int(time.time() // 60)}"   # open_now changes with the minute
    if path.startswith(CATALOGUE):
        st = state()  # the products' counter, read only when the change feed moved (o2o.storage.watch)
        key += f"\x1f{st.index_sync.feed.read('catalogue_rev', st.raw_repo().catalogue_rev, mark_stale)}"
    return hashlib.blake2b(key.encode(), digest_size=12).hexdigest()


def _held_variant(tag: str) -> str | None:
    """The form of ``tag`` that ``If-None-Match`` names, if any: the identity tag, or a
    compressed answer's (``tag:br``, see compression.py)."""
    wanted = request.if_none_match
    for variant in etag_variants(tag):
        if wanted.contains_weak(variant):
            return variant
    return None


def init(app: Flask) -> None:
    @app.before_request
    def _not_modified():
        environ = request.environ
        if not _eligible(environ):
            return None
        try:
            tag = etag_for_request()
        except Exception:  # noqa: BLE001 - the view itself reports a database that is down
            return None
        environ["o2o.etag"] = tag
        held = _held_variant(tag) if "HTTP_IF_NONE_MATCH" in environ else None
        if held is not None:
            response = app.response_class(status=304)
            response.headers["ETag"] = f'"{held}"'
            response.headers["Cache-Control"] = "no-cache"
            response.headers["Vary"] = "Accept-Language"
            return response
        return None

    @app.after_request
    def _tag(response):
        tag = request.environ.get("o2o.etag")
        if tag and response.status_code == 200:
            headers = response.headers
            headers["ETag"] = f'"{tag}"'
            # Cache it, but ask again each time (a conditional GET: no database read while the feed listens);
            # an answer with its own policy (QR codes: an hour) keeps it.
            if "Cache-Control" not in headers:
                headers["Cache-Control"] = "no-cache"
            vary = headers.get("Vary")
            headers["Vary"] = f"{vary}, Accept-Language" if vary else "Accept-Language"
        return response
