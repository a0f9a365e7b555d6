"""What a running app shares across requests: database connections and the store index.

SQLite connections belong to the thread that opened them, so each thread keeps its own
(opening one per request would cost more than the query). The index is one per process and
is brought up to date with the database before every search (:mod:`o2o.services.index_sync`),
reading the database only when its change feed says something changed (:mod:`o2o.storage.watch`).

When the database cannot be reached, the public reads are answered from memory
(:mod:`o2o.services.memory_reads`) and say so: ``X-O2O-Stale-Seconds`` and a ``Warning`` header
(:func:`mark_stale`, :mod:`o2o.web.degrade`); ``/go`` spools its scans (:mod:`o2o.services.spool`).
"""

from __future__ import annotations

import logging
import os
import threading
import weakref

from flask import current_app, g, has_request_context, request

from ..services.index_sync import IndexSync, SearchSync
from ..services.memory_reads import MemoryFallback
from .features import FeatureCache
from ..storage import StoreRepository, open_repository


def mark_stale() -> None:
    """This request's answer comes (partly) from memory: the database could not be reached."""
    if has_request_context():
        g._o2o_stale = True


_live: "weakref.WeakSet[AppState]" = weakref.WeakSet()


def live_states() -> list["AppState"]:
    """Every app state of this process not yet garbage (tests shut down the ones they made)."""
    return list(_live)


class AppState:
    keep_alive = False  # a test fixture that outlives its module sets it (see tests/conftest.py)

    def __init__(self, database_url: str, read_database_url: str | None = None,
                 busy_timeout_ms: int | None = None, spool_dir=None, spool_max_bytes: int = 64 * 1024 * 1024):
        from ..services.spool import ScanSpool

        self.database_url = database_url
        self.busy_timeout_ms = busy_timeout_ms
        self.read_database_url = read_database_url
        self._local = threading.local()
        self.index_sync = IndexSync()
        self.search_sync = SearchSync(self.index_sync, lambda: open_repository(database_url, busy_timeout_ms))
        self.features = FeatureCache()
        self.spool = ScanSpool(spool_dir, spool_max_bytes) if spool_dir is not None else None
        self.index_sync.listeners.append(self.features.changed)
        self._regions = None
        self._on_shutdown: list = []
        self.shut_down = False
        _live.add(self)

    def raw_repo(self) -> StoreRepository:
        """This thread's repository, as it is (no answers from memory)."""
        repo = getattr(self._local, "repo", None)
        if repo is None:
            repo = open_repository(self.database_url, self.busy_timeout_ms)
            if self.read_database_url:
                from ..storage.replica import ReplicaRouter

                repo = ReplicaRouter(repo, open_repository(self.read_database_url, self.busy_timeout_ms))
            self._local.repo = repo
            self._local.fallback = MemoryFallback(repo, self.search_sync.mirror, mark_stale)
        return repo

    def repo(self) -> StoreRepository:
        """This thread's repository, whose public reads fall back to memory when the database is away."""
        fallback = getattr(self._local, "fallback", None)
        if fallback is None:
            self.raw_repo()
            fallback = self._local.fallback
        return fallback

    def start_watching(self) -> None:
        """This process's change watcher and spool replayer (cheap: called per request; a forked
        gunicorn worker starts its own)."""
        feed = self.index_sync.feed
        if feed._pid != os.getpid():
            watch = getattr(self.raw_repo(), "watch_changes", None)
            feed.ensure_watching(watch if watch is not None else (lambda _feed: None))
        if self.spool is not None and self.spool._thread_pid != os.getpid():
            self.spool.ensure_started(lambda: open_repository(self.database_url, self.busy_timeout_ms))

    def stale_s(self) -> float:
        """How old answers from memory may be now (seconds)."""
        return self.index_sync.lag_s()

    def index(self):
        """The process's store index, refreshed with any change made by any process.

        A GET needs one look at the revision however often it asks (its ETag, then its view):
        a request that only reads is answered from one consistent revision.
        """
        if has_request_context() and request.method in ("GET", "HEAD"):
            if g.get("_o2o_index_fresh"):
                return self.index_sync.index
            index = self._refresh()
            g._o2o_index_fresh = True
            return index
        return self._refresh()

    def _refresh(self):
        sync = self.index_sync
        before = (sync.rev, sync.generation)
        index = sync.refresh(self.raw_repo(), mark_stale)
        if (sync.rev, sync.generation) != before and self.search_sync.ready:
            # keep the text index and the outage mirror in step (only when something changed)
            self.search_sync.follow(self.raw_repo())
        return index

    def search(self):
        """The process's text-search index, at the same revision as the store index."""
        self.index()
        return self.search_sync.get(self.raw_repo())

    def regions(self):
        """District polygons, loaded on first use (only writes and analytics need them)."""
        if self._regions is None:
            from ..regions import load_regions

            self._regions = load_regions()
        return self._regions

    def on_shutdown(self, stop) -> None:
        """Call ``stop()`` when the app shuts down (a background thread's end); at once when it
        already has (so that what was made after shutdown starts no thread either)."""
        if self.shut_down:
            stop()
        else:
            self._on_shutdown.append(stop)

    def shutdown(self) -> None:
        """End this process's background threads for the app (the change watcher, the spool's
        replayer, the search log's writer, …) and close this thread's connections. The app still
        answers afterwards, reading the database's marks on every request as if its watcher had
        lost the database; the threads are not started again in this process."""
        self.shut_down = True
        self.index_sync.feed.stop()
        if self.spool is not None:
            self.spool.stop()
        self.search_sync.stop()
        for stop in self._on_shutdown:
            try:
                stop()
            except Exception:  # noqa: BLE001 - the others must still stop
                logging.getLogger(__name__).exception("stopping a background thread failed")
        self.close()

    def close(self) -> None:
        repo = getattr(self._local, "repo", None)
        if repo is not None:
            repo.close()
            self._local.repo = None
            self._local.fallback = None


def state() -> AppState:
    return current_app.extensions["o2o"]


def repo() -> StoreRepository:
    return state().repo()


def index():
    return state().index()


def search_index():
    return state().search()
