"""Compressed answers for clients that accept them: pages, JSON, GeoJSON, CSV, SVG.

A text answer of 1 KB or more is compressed as the request's ``Accept-Encoding`` allows, and
every answer says ``Vary: Accept-Encoding``. The algorithm is the first that the client accepts
of zstd (Chromium), brotli (Safari) and gzip. Data (the API's JSON and GeoJSON) is on the hot
path (a ``nearby`` answer is ~27 kB of GeoJSON): there each algorithm runs at its fastest level,
as a higher one costs several times the CPU for a few hundred bytes less. Pages and scripts
(HTML, the service worker) are made far less often and cost milliseconds to render: they get
brotli 5 first (a page 15 % smaller than zstd 1 gives, for half a millisecond), then zstd 9.

This is a dozen lines rather than Flask-Compress: on a ``nearby`` answer (bench/bench_wire.py,
docs/benchmarks.md), Flask-Compress 1.25's hook took 1.6-1.7× this one's time with zstd (a new
zstd context per answer, headers set twice, the ETag parsed and rebuilt), and it gave a client
refusing every algorithm with ``q=0`` one of them anyway. Here each thread keeps its zstd
context, and the rest is a few header writes.

Static files and the vendor libraries do not come through here: they are compressed once, at
their best levels, by :mod:`o2o.web.assets`. Images and PDFs are left alone.

A compressed answer's ``ETag`` is the identity one with ``:<algorithm>`` added (``"3f2a…:br"``);
:mod:`o2o.web.caching` answers ``304`` to any of them.
"""

from __future__ import annotations

import functools
import gzip
import threading

import brotli
from backports import zstd
from flask import Flask, Response, request

ALGORITHMS = ("zstd", "br", "gzip")
ZSTD_LEVEL, BR_LEVEL, GZIP_LEVEL = 1, 1, 1             # data: the hot path
PAGE_ZSTD_LEVEL, PAGE_BR_LEVEL, PAGE_GZIP_LEVEL = 9, 5, 6  # pages and scripts
PAGE_ORDER = ("br", "zstd", "gzip")
MIN_BYTES = 1024
DATA = frozenset({
    "application/json", "application/geo+json", "application/schema+json", "application/ld+json",
    "application/vnd.oai.openapi+json", "application/problem+json", "text/csv",
    "application/vnd.mapbox-vector-tile",  # protobuf, but its store names and brands compress well
})
MIMETYPES = DATA | {
    "text/html", "text/css", "text/plain", "text/xml", "text/javascript", "application/javascript",
    "application/xml", "application/manifest+json", "image/svg+xml",
}

_local = threading.local()


def _zstd(level: int):
    name = f"zstd{level}"

    def coder(body: bytes) -> bytes:
        context = getattr(_local, name, None)
        if context is None:  # a context per thread, kept: making one costs as much as using it
            context = zstd.ZstdCompressor(level=level)
            setattr(_local, name, context)
        return context.compress(body, mode=zstd.ZstdCompressor.FLUSH_FRAME)
    return coder


CODERS = {  # for data
    "zstd": _zstd(ZSTD_LEVEL),
    "br": lambda body: brotli.compress(body, quality=BR_LEVEL),
    "gzip": lambda body: gzip.compress(body, GZIP_LEVEL, mtime=0),
}
PAGE_CODERS = {  # for pages and scripts
    "zstd": _zstd(PAGE_ZSTD_LEVEL),
    "br": lambda body: brotli.compress(body, quality=PAGE_BR_LEVEL),
    "gzip": lambda body: gzip.compress(body, PAGE_GZIP_LEVEL, mtime=0),
}


@functools.lru_cache(maxsize=256)
def negotiate(accept_encoding: str, offered: tuple[str, ...] = ALGORITHMS) -> str | None:
    """The first of ``offered`` that ``Accept-Encoding`` allows (``q`` above 0), else None.

    >>> negotiate("gzip, deflate, br, zstd")
    'zstd'
    >>> negotiate("gzip;q=0.5, br;q=0.8")
    'br'
    >>> negotiate("zstd;q=0, br;q=0, gzip;q=0") is None
    True
    >>> negotiate("*", ("br", "gzip"))
    'br'
    """
    quality = {}
    for part in accept_encoding.lower().split(","):
        name, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        quality[name.strip()] = q
    best = max(offered, key=lambda a: quality.get(a, quality.get("*", 0.0)), default=None)
    if best is None or quality.get(best, quality.get("*", 0.0)) <= 0:
        return None
    return best


def encode_data(body: bytes, accept_encoding: str) -> tuple[bytes, str | None]:
    """A data answer's body as :func:`compress` would send it, and its encoding (None: as it is)."""
    encoding = negotiate(accept_encoding, ALGORITHMS)
    if encoding is None or len(body) < MIN_BYTES:
        return body, None
    return CODERS[encoding](body), encoding


def compress(response: Response) -> Response:
    """The ``after_request`` hook: compress ``response`` in place if it is worth it."""
    headers = response.headers
    vary = headers.get("Vary")
    if not vary:
        headers["Vary"] = "Accept-Encoding"
    elif "accept-encoding" not in vary.lower():
        headers["Vary"] = f"{vary}, Accept-Encoding"
    if (not 200 <= response.status_code < 300 or response.status_code == 204 or response.direct_passthrough
            or response.is_streamed or "Content-Encoding" in headers):
        return response
    mimetype = response.mimetype
    if mimetype not in MIMETYPES:
        return response
    data = mimetype in DATA
    encoding = negotiate(request.environ.get("HTTP_ACCEPT_ENCODING", ""), ALGORITHMS if data else PAGE_ORDER)
    if encoding is None:
        return response
    body = response.get_data()
    if len(body) < MIN_BYTES:
        return response
    response.set_data((CODERS if data else PAGE_CODERS)[encoding](body))  # sets Content-Length too
    headers["Content-Encoding"] = encoding
    etag = headers.get("ETag")
    if etag and etag.endswith('"') and not etag.startswith("W/"):
        headers["ETag"] = f'{etag[:-1]}:{encoding}"'   # "tag" -> "tag:zstd": another representation
    return response


def init(app: Flask) -> None:
    """Register the hook. Call it before any other ``after_request`` hook is registered: Flask
    runs them last-registered first, so this one then runs last, after the ``ETag`` is set."""
    app.after_request(compress)


def etag_variants(tag: str) -> tuple[str, ...]:
    """The tags one answer may carry: identity and each compressed form.

    >>> etag_variants("ab12")
    ('ab12', 'ab12:zstd', 'ab12:br', 'ab12:gzip')
    """
    return (tag,) + tuple(f"{tag}:{name}" for name in ALGORITHMS)
