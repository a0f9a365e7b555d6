"""Rate limits on the few routes that need them (sign-in, retailers' writes, scans).

Only the decorated views pay for a check: nothing runs on the search endpoints.

Sign-in attempts (one key per address) and retailers' writes (one key per retailer: every POST,
PATCH and DELETE of a store and every import, ``O2O_WRITES_PER_MINUTE``) use the ``limits``
library. Counters live in memory
per process by default; ``O2O_RATELIMIT_STORAGE`` (e.g. ``redis://127.0.0.1:6379``) shares them
across workers and hosts.

Scans are keyed per client (address and browser, since many phones share one carrier-grade NAT
address), which makes very many keys. ``limits``' in-memory storage sweeps every key from a timer
thread every 10 ms, so with tens of thousands of keys that sweep starved the request threads
(measured: /go fell from 1,500 to 500 requests/s within a minute of load). Scans therefore use
:class:`ClientWindows`, fixed windows that expire lazily, bounded in size, with no thread.
"""

from __future__ import annotations

import functools
import math
import threading
import time

from flask import current_app, g, request
from limits import parse, storage, strategies

from .errors import ApiError

SIGN_IN = "10/minute"   # the default; O2O_SIGN_INS_PER_MINUTE replaces it (RateLimits.specs)
FAILED_KEYS = "30/minute"  # wrong API keys per address (Bearer requests)


class RateLimits:
    def __init__(self, storage_uri: str | None, specs: dict[str, str] | None = None):
        self.storage = storage.storage_from_string(storage_uri or "memory://")
        self.strategy = strategies.MovingWindowRateLimiter(self.storage)
        self.specs = specs or {}   # a decorator's spec -> the one configured in its place

    def hit(self, spec: str, *keys: str) -> tuple[bool, int]:
        """Count one hit; returns (allowed, seconds until a slot frees)."""
        item = parse(spec)
        if self.strategy.hit(item, *keys):
            return True, 0
        reset_at, _ = self.strategy.get_window_stats(item, *keys)
        return False, max(1, math.ceil(reset_at - time.time()))

    def exhausted(self, spec: str, *keys: str) -> int:
        """Seconds until ``spec`` has room again for ``keys`` (0: it has room now); counts nothing."""
        item = parse(spec)
        if self.strategy.test(item, *keys):
            return 0
        reset_at, _ = self.strategy.get_window_stats(item, *keys)
        return max(1, math.ceil(reset_at - time.time()))


class ClientWindows:
    """At most ``limit`` hits per ``window_s`` per key, in fixed windows; O(1) per hit.

    Entries expire lazily; past ``max_keys`` the oldest windows are dropped first (a dropped key
    simply starts a fresh window, so memory stays bounded and nobody is blocked wrongly).
    """

    def __init__(self, limit: int, window_s: float, max_keys: int = 200_000):
        self.limit, self.window_s, self.max_keys = limit, window_s, max_keys
        self._counts: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, now: float | None = None) -> tuple[bool, int]:
        now = time.monotonic() if now is None else now
        with self._lock:
            start, n = self._counts.get(key, (now, 0))
            if now - start >= self.window_s:
                start, n = now, 0
            if n >= self.limit:
                return False, max(1, math.ceil(start + self.window_s - now))
            self._counts.pop(key, None)  # re-insert: dict order is the age order for eviction
            self._counts[key] = (start, n + 1)
            if len(self._counts) > self.max_keys:
                for old in list(self._counts)[: self.max_keys // 10]:
                    del self._counts[old]
            return True, 0


def init(app, storage_uri: str | None, scans_per_minute: int = 30, sign_ins_per_minute: int = 10) -> None:
    app.extensions["o2o_limits"] = RateLimits(storage_uri, {SIGN_IN: f"{max(1, sign_ins_per_minute)}/minute"})
    app.extensions["o2o_scan_limits"] = ClientWindows(scans_per_minute, 60.0)


def limit_writes(view):
    """Decorator, under ``auth.require("retailer")``: at most ``O2O_WRITES_PER_MINUTE`` writes a
    minute per retailer, whether by key or through the /retailer page; over it, a 429 with Retry-After."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        per_minute = current_app.config["O2O"].get("WRITES_PER_MINUTE", 600)
        if per_minute:
            spec = f"{per_minute}/minute"
            allowed, retry_s = current_app.extensions["o2o_limits"].hit(spec, "writes", f"retailer:{g.principal.id}")
            if not allowed:
                raise ApiError(429, "rate_limited", f"too many changes: at most {per_minute} a minute per retailer",
                               headers={"Retry-After": str(retry_s)})
        return view(*args, **kwargs)

    return wrapper


def limit_scans(key):
    """Decorator for /go: at most the configured scans per minute per client (address + browser)."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            windows = current_app.extensions["o2o_scan_limits"]
            allowed, retry_s = windows.hit(key())
            if not allowed:
                raise ApiError(429, "rate_limited",
                               f"too many scans: at most {windows.limit} a minute from one phone",
                               headers={"Retry-After": str(retry_s)})
            return view(*args, **kwargs)

        return wrapper

    return decorate


def limit(spec: str, key=lambda: request.remote_addr or ""):
    """Decorator: at most ``spec`` (e.g. ``"10/minute"``) per key; over it, a 429 with Retry-After."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            limits = current_app.extensions["o2o_limits"]
            applied = limits.specs.get(spec, spec)
            allowed, retry_s = limits.hit(applied, view.__name__, key())
            if not allowed:
                raise ApiError(429, "rate_limited", f"too many requests: at most {applied.replace('/', ' per ')}",
                               headers={"Retry-After": str(retry_s)})
            return view(*args, **kwargs)

        return wrapper

    return decorate
