"""Compressed answers for clients that accept them: pages, JSON, GeoJSON, CSV, SVG.

Flask-Compress compresses a text answer of 1 KB or more as the request's ``Accept-Encoding``
allows, and adds ``Vary: Accept-Encoding`` to every answer. The algorithm is the first that the
client accepts of zstd (Chromium), brotli (Safari) and gzip, each at its fastest level: this runs
on the hot path (``nearby`` answers ~27 kB of GeoJSON per request), where a higher level costs
several times the CPU for a few hundred bytes less (bench/bench_wire.py measures both).

Static files and the vendor libraries do not come through here: they are compressed once, at
their best levels, by :mod:`o2o.web.assets`. Images, PDFs and vector tiles are left alone.

A compressed answer's ``ETag`` is the identity one with ``:<algorithm>`` added (``"3f2a…:br"``);
:mod:`o2o.web.caching` answers ``304`` to any of them.
"""

from __future__ import annotations

import functools

from flask import Flask, request
from flask_compress import Compress

ALGORITHMS = ("zstd", "br", "gzip")
# The fastest level of each: on a nearby answer (27 kB of GeoJSON) they cost a fraction of what
# the next levels cost for answers only 5-15 % larger (bench/bench_wire.py, docs/benchmarks.md).
ZSTD_LEVEL, BR_LEVEL, GZIP_LEVEL = 1, 1, 1
MIN_BYTES = 1024
MIMETYPES = [
    "text/html", "text/css", "text/plain", "text/csv", "text/xml", "text/javascript",
    "application/javascript", "application/json", "application/geo+json", "application/xml",
    "application/manifest+json", "application/schema+json", "application/ld+json",
    "application/vnd.oai.openapi+json", "application/problem+json", "image/svg+xml",
]



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


class _Compress(Compress):
    """Flask-Compress, except that a client refusing every algorithm (``q=0``) gets none: 1.25
    picks one of the refused ones then."""

    def after_request(self, response):
        if negotiate(request.headers.get("Accept-Encoding", "")) is None:
            if "accept-encoding" not in response.headers.get("Vary", "").lower():
                response.vary.add("Accept-Encoding")
            return response
        return super().after_request(response)


compress = _Compress()


def init(app: Flask) -> None:
    """Register the compression. Call it before any other ``after_request`` hook is registered:
    Flask runs them last-registered first, so this one then runs last, after the ``ETag`` is set."""
    app.config.update(
        COMPRESS_MIMETYPES=MIMETYPES,
        COMPRESS_ALGORITHM=list(ALGORITHMS),
        COMPRESS_ALGORITHM_STREAMING=list(ALGORITHMS),
        COMPRESS_ZSTD_LEVEL=ZSTD_LEVEL,
        COMPRESS_BR_LEVEL=BR_LEVEL,
        COMPRESS_LEVEL=GZIP_LEVEL,
        COMPRESS_MIN_SIZE=MIN_BYTES,
        # caching.py has already answered 304 before the view ran: no second look here.
        COMPRESS_EVALUATE_CONDITIONAL_REQUEST=False,
    )
    compress.init_app(app)


def etag_variants(tag: str) -> tuple[str, ...]:
    """The tags one answer may carry: identity and each compressed form.

    >>> etag_variants("ab12")
    ('ab12', 'ab12:zstd', 'ab12:br', 'ab12:gzip')
    """
    return (tag,) + tuple(f"{tag}:{name}" for name in ALGORITHMS)
