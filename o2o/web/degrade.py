"""Degrade, never block a sale: what the web layer does while the database is away.

- Each serving process watches the database for changes (:mod:`o2o.storage.watch`) and replays its
  scan spool (:mod:`o2o.services.spool`) from background threads, started by its first request (a
  forked gunicorn worker starts its own).
- An answer built (partly) from memory because the database could not be reached carries
  ``X-O2O-Stale-Seconds`` (how old the process's knowledge of the database may be, whole seconds,
  at least 1) and ``Warning: 110 - "Response is Stale"``.

Settings: ``O2O_SPOOL_DIR`` (default: beside a SQLite file, or ``instance/spool/…`` per database)
and ``O2O_SPOOL_MAX_MB`` (per process, default 64); ``O2O_CHANGE_FEED=off`` starts no watcher, so
every request reads the revision again (the behaviour before the feed; for A/B benchmarks).
"""

from __future__ import annotations

import math
import os

from flask import Flask, g

from ..services.spool import ScanSpool, spool_dir_for
from ..storage import open_repository

STALE_WARNING = '110 - "Response is Stale"'


def change_feed_on() -> bool:
    """Whether served processes watch the database's changes (``O2O_CHANGE_FEED``, on by default)."""
    return os.environ.get("O2O_CHANGE_FEED", "on").lower() not in ("off", "0", "false", "no")


def init(app: Flask, state, serve: bool) -> None:
    settings = app.config["O2O"]
    directory = settings.get("SPOOL_DIR") or os.environ.get("O2O_SPOOL_DIR") \
        or spool_dir_for(state.database_url, app.instance_path)
    max_mb = float(settings.get("SPOOL_MAX_MB") or os.environ.get("O2O_SPOOL_MAX_MB") or 64)
    state.spool = ScanSpool(directory, int(max_mb * 1024 * 1024))

    if serve and not change_feed_on():
        @app.before_request
        def _start_spool_only():
            if state.spool._thread_pid != os.getpid():
                state.spool.ensure_started(lambda: open_repository(state.database_url, state.busy_timeout_ms))
    elif serve:
        @app.before_request
        def _start_watching():
            state.start_watching()

    @app.after_request
    def _stale_headers(response):
        if g.get("_o2o_stale"):
            response.headers["X-O2O-Stale-Seconds"] = str(max(1, math.ceil(state.stale_s())))
            response.headers["Warning"] = STALE_WARNING
        return response
