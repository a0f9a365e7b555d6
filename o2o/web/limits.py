"""Rate limits on the few routes that need them (sign-in, scans), with the ``limits`` library.

Only the decorated views pay for a check: nothing runs on the search endpoints. Counters live
in memory per process by default; ``O2O_RATELIMIT_STORAGE`` (e.g. ``redis://127.0.0.1:6379``)
shares them across workers and hosts.
"""

from __future__ import annotations

import functools
import math
import time

from flask import current_app, request
from limits import parse, storage, strategies

from .errors import ApiError

SIGN_IN = "10/minute"
SCANS = "30/minute"


class RateLimits:
    def __init__(self, storage_uri: str | None):
        self.storage = storage.storage_from_string(storage_uri or "memory://")
        self.strategy = strategies.MovingWindowRateLimiter(self.storage)

    def hit(self, spec: str, *keys: str) -> tuple[bool, int]:
        """Count one hit; returns (allowed, seconds until a slot frees)."""
        item = parse(spec)
        if self.strategy.hit(item, *keys):
            return True, 0
        reset_at, _ = self.strategy.get_window_stats(item, *keys)
        return False, max(1, math.ceil(reset_at - time.time()))


def init(app, storage_uri: str | None) -> None:
    app.extensions["o2o_limits"] = RateLimits(storage_uri)


def limit(spec: str, key=lambda: request.remote_addr or ""):
    """Decorator: at most ``spec`` (e.g. ``"10/minute"``) per key; over it, a 429 with Retry-After."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            allowed, retry_s = current_app.extensions["o2o_limits"].hit(spec, view.__name__, key())
            if not allowed:
                raise ApiError(429, "rate_limited", f"too many requests: at most {spec.replace('/', ' per ')}",
                               headers={"Retry-After": str(retry_s)})
            return view(*args, **kwargs)

        return wrapper

    return decorate
