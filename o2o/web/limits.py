"""Rate limits (Flask-Limiter): sign-in attempts now; writes and scans use the same limiter.

Counters live in memory by default, per process; ``O2O_RATELIMIT_STORAGE`` (e.g.
``redis://127.0.0.1:6379``) shares them across workers and hosts.
"""

from __future__ import annotations

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True,
                  strategy="moving-window")

SIGN_IN = "10 per minute"
WRITES = "120 per minute"


def init(app, storage_uri: str | None) -> None:
    app.config["RATELIMIT_STORAGE_URI"] = storage_uri or "memory://"
    app.config.setdefault("RATELIMIT_ENABLED", True)
    limiter.init_app(app)
