"""What the people on call see: request ids, one JSON log line per request, ``GET /metrics``.

Per request, two hooks: the first ``before_request`` notes the time and the request id (the
client's ``X-Request-Id`` when it is sane, else a new one); the last ``after_request`` echoes the
id, makes one histogram observation (:mod:`o2o.metrics`), counts an error answer or a scan, and,
at most once a second, samples the process's indexes and database pool into gauges. With
``O2O_JSON_LOGS`` it also writes the request's JSON line.

``/metrics`` answers only a bearer of ``O2O_METRICS_TOKEN`` or a client whose address is in
``O2O_METRICS_ALLOW`` (addresses and CIDR blocks); 403 to anyone else, and 404 while neither is
set (metrics not exposed at all).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import re
import sys
import time
from time import perf_counter
from typing import Callable, NamedTuple

from flask import Flask, Response, request

from .. import metrics
from ..config import networks as parse_allow

_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/+=@-]{0,127}")
_METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))
SAMPLE_EVERY_S = 1.0
_log = logging.getLogger("o2o.request")


def request_id(sent: str | None) -> str:
    """The client's request id when it is a sane token (≤ 128 safe characters), else a new one."""
    if sent and _REQUEST_ID.fullmatch(sent):
        return sent
    return os.urandom(16).hex()


def _allowed(address: str | None, networks) -> bool:
    if not address or not networks:
        return False
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip in net for net in networks)


def _bearer_ok(header: str | None, token: str | None) -> bool:
    if not token or not header:
        return False
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    # Bytes, so that a token with odd characters compares (in constant time) instead of raising.
    return hmac.compare_digest(given.strip().encode("utf-8", "replace"), token.encode("utf-8", "replace"))


class _Sampler:
    """Copies the process's index, cache and pool state into gauges (no database query)."""

    def __init__(self, state):
        self.state = state
        self.last = 0.0

    def __call__(self) -> None:
        self.last = perf_counter()
        try:
            self._indexes()
            self._feeds()
            self._pools()
        except Exception:  # noqa: BLE001 - a metric must never fail a request
            logging.getLogger(__name__).exception("sampling the metrics failed")

    def _indexes(self) -> None:
        state = self.state
        sync = state.index_sync
        metrics.INDEX_REVISION.set(sync.rev)
        metrics.INDEX_RELOADS.set(sync.generation)
        try:
            metrics.INDEX_STORES.set(len(sync.index))
        except TypeError:
            pass
        now = time.time()
        checked = _checked_at(sync)
        lag = getattr(sync, "lag_s", None)
        if callable(lag):
            lag = lag()
        if checked is not None:
            metrics.INDEX_CHECKED.set(checked)
            if lag is None:
                lag = max(0.0, now - checked)
        if lag is not None:
            metrics.INDEX_LAG.set(lag)
        search = state.search_sync
        metrics.SEARCH_REVISION.set(search.rev)
        ready = getattr(search, "_ready", None)
        metrics.SEARCH_READY.set(1 if ready is not None and ready.is_set() and search.rev >= 0 else 0)
        if search.built_in_s is not None:
            metrics.SEARCH_BUILD.set(search.built_in_s)
        spool = getattr(state, "spool", None)
        if spool is not None:
            metrics.SPOOL_KEPT.set(getattr(spool, "kept", 0))
            metrics.SPOOL_REPLAYED.set(getattr(spool, "replayed", 0))
            metrics.SPOOL_DROPPED.set(getattr(spool, "dropped", 0))
            pending = getattr(spool, "pending", None)
            if callable(pending):
                metrics.SPOOL_PENDING.set(pending())
        entries = getattr(state.features, "_entries", None)
        if entries is not None:
            metrics.FEATURE_CACHE.set(len(entries))

    @staticmethod
    def _feeds() -> None:
        """The change feeds and circuit breakers of :mod:`o2o.storage.watch`, where it is used."""
        watch = sys.modules.get("o2o.storage.watch")
        if watch is None:
            return
        pid = os.getpid()
        feeds = [f for f in list(getattr(watch, "_feeds", ()) or ()) if getattr(f, "_pid", pid) in (pid, None)]
        if feeds:
            metrics.INDEX_LAG.set(max(f.lag_s() for f in feeds))
            metrics.FEED_CONNECTED.set(1 if all(getattr(f, "connected", False) for f in feeds) else 0)
        breakers = [b for k, b in list(getattr(watch, "_breakers", {}).items())
                    if not (isinstance(k, tuple) and len(k) > 1 and k[1] != pid)]
        if breakers:
            metrics.DB_UNREACHABLE.set(1 if any(b.is_open for b in breakers) else 0)
            metrics.DB_TRIPS.set(sum(getattr(b, "trips", 0) for b in breakers))

    @staticmethod
    def _pools() -> None:
        postgis = sys.modules.get("o2o.storage.postgis")  # imported only on that backend
        pools = getattr(postgis, "_pools", None)
        if not pools:
            return
        pid = os.getpid()
        size = in_use = limit = waiting = 0
        for key, pool in list(pools.items()):
            if isinstance(key, tuple) and len(key) > 1 and key[1] != pid:
                continue
            stats = pool.get_stats()
            size += stats.get("pool_size", 0)
            in_use += stats.get("pool_size", 0) - stats.get("pool_available", 0)
            limit += stats.get("pool_max", 0)
            waiting += stats.get("requests_waiting", 0)
        metrics.POOL_SIZE.set(size)
        metrics.POOL_IN_USE.set(in_use)
        metrics.POOL_MAX.set(limit)
        metrics.POOL_WAITING.set(waiting)


class Observer(NamedTuple):
    """What the request hooks do, for a path that answers below Flask (:mod:`o2o.web.fastpath`):
    ``begin(environ)`` at the start; ``record(environ, endpoint, status, path)`` at the end (returns
    the request id)."""
    begin: Callable
    record: Callable


def _plain(status: int, text: str) -> Response:
    return Response(text + "\n", status, {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"})


def _checked_at(sync) -> float | None:
    """Wall-clock time the sync object last knew it was current, whatever it calls that."""
    for name in ("checked_at", "last_check", "fresh_at", "notified_at"):
        value = getattr(sync, name, None)
        if isinstance(value, (int, float)) and value > 0:
            return float(value)
    return None


def init(app: Flask, state) -> None:
    """Install the request hooks and ``/metrics``. Call it before any other ``before_request``
    hook is registered: a hook that answers early (a 304, a 429) skips the ones after it."""
    settings = app.config["O2O"]
    if not settings.get("METRICS", True):
        return  # O2O_METRICS=0: measured without (bench/bench_http.py), or metrics left to a proxy
    token = settings.get("METRICS_TOKEN") or None
    allow = parse_allow(settings.get("METRICS_ALLOW"))
    if settings.get("JSON_LOGS"):
        from ..logs import enable

        enable()
    sample = _Sampler(state)
    children: dict = {}
    histogram, errors, scans = metrics.REQUESTS, metrics.ERRORS, metrics.SCANS
    environ_key_t0, environ_key_id = "o2o.t0", "o2o.request_id"

    def _start():
        begin(request.environ)

    def record(environ, endpoint: str, status: int, path: str) -> str:
        """One answered request: its histogram observation, error or scan count, the gauges (at
        most once a second) and its log line; returns its request id. Shared by the Flask hook
        below and the WSGI-level nearby path (:mod:`o2o.web.fastpath`)."""
        now = perf_counter()
        elapsed = now - environ[environ_key_t0]
        method = environ.get("REQUEST_METHOD", "")
        key = (endpoint, method, status // 100)
        child = children.get(key)
        if child is None:
            label = method if method in _METHODS else "other"
            child = histogram.labels(endpoint, label, f"{status // 100}xx")
            if label != "other":   # keys stay bounded: endpoints × known methods × status classes
                children[key] = child
        child.observe(elapsed)
        if status >= 400:
            errors.labels(endpoint, str(status)).inc()
        elif status == 302 and endpoint == "go.go":
            scans.labels("redirected").inc()
        rid = environ[environ_key_id]
        if now - sample.last > SAMPLE_EVERY_S:
            sample()
        if _log.isEnabledFor(logging.INFO):
            _log.info("request", extra={
                "method": method, "path": path, "endpoint": endpoint, "status": status,
                "duration_ms": round(elapsed * 1000, 3), "request_id": rid, "pid": os.getpid()})
        return rid

    def begin(environ) -> None:
        environ[environ_key_t0] = perf_counter()
        environ[environ_key_id] = request_id(environ.get("HTTP_X_REQUEST_ID"))

    def _finish(response):
        # The request object once (each `request.x` goes through a context-local proxy), the
        # method from the environ, the header appended rather than set (nothing else sets it).
        req = request._get_current_object()
        environ = req.environ
        if environ_key_t0 not in environ:
            return response
        rule = req.url_rule
        rid = record(environ, rule.endpoint if rule is not None else "unmatched", response.status_code, req.path)
        response.headers.add("X-Request-Id", rid)
        return response

    app.extensions["o2o_observe"] = Observer(begin, record)
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request_funcs.setdefault(None, []).insert(0, _finish)  # run in reverse: this one last

    @app.get("/metrics")
    def metrics_endpoint():
        if not token and not allow:
            return _plain(404, "not found: metrics are not exposed (set O2O_METRICS_TOKEN or O2O_METRICS_ALLOW)")
        if not (_bearer_ok(request.headers.get("Authorization"), token)
                or _allowed(request.remote_addr, allow)):
            return _plain(403, "forbidden: metrics need the metrics token or an allowed address")
        sample()
        body = metrics.exposition()
        return Response(body, 200, {"Content-Type": "text/plain; version=0.0.4; charset=utf-8",
                                    "Cache-Control": "no-store"})
