"""What a running app shares across requests: database connections and the store index.

SQLite connections belong to the thread that opened them, so each thread keeps its own
(opening one per request would cost more than the query). The index is one per process and
is brought up to date with the database before every search (:mod:`o2o.services.index_sync`).
"""

from __future__ import annotations

import threading

from flask import current_app, g, has_request_context, request

from ..services.index_sync import IndexSync, SearchSync
from .features import FeatureCache
from ..storage import StoreRepository, open_repository


class AppState:
    def __init__(self, database_url: str, read_database_url: str | None = None,
                 busy_timeout_ms: int | None = None):
        self.database_url = database_url
        self.busy_timeout_ms = busy_timeout_ms
        self.read_database_url = read_database_url
        self._local = threading.local()
        self.index_sync = IndexSync()
        self.search_sync = SearchSync(self.index_sync, lambda: open_repository(database_url, busy_timeout_ms))
        self.features = FeatureCache()
        self.index_sync.listeners.append(
            lambda ids: self.features.clear() if ids is None else self.features.invalidate(ids))
        self._regions = None

    def repo(self) -> StoreRepository:
        repo = getattr(self._local, "repo", None)
        if repo is None:
            repo = open_repository(self.database_url, self.busy_timeout_ms)
            if self.read_database_url:
                from ..storage.replica import ReplicaRouter

                repo = ReplicaRouter(repo, open_repository(self.read_database_url, self.busy_timeout_ms))
            self._local.repo = repo
        return repo

    def index(self):
        """The process's store index, refreshed with any change made by any process.

        A GET needs one look at the revision however often it asks (its ETag, then its view):
        a request that only reads is answered from one consistent revision.
        """
        if has_request_context() and request.method in ("GET", "HEAD"):
            if g.get("_o2o_index_fresh"):
                return self.index_sync.index
            index = self.index_sync.refresh(self.repo())
            g._o2o_index_fresh = True
            return index
        return self.index_sync.refresh(self.repo())

    def search(self):
        """The process's text-search index, at the same revision as the store index."""
        self.index()
        return self.search_sync.get(self.repo())

    def regions(self):
        """District polygons, loaded on first use (only writes and analytics need them)."""
        if self._regions is None:
            from ..regions import load_regions

            self._regions = load_regions()
        return self._regions

    def close(self) -> None:
        repo = getattr(self._local, "repo", None)
        if repo is not None:
            repo.close()
            self._local.repo = None


def state() -> AppState:
    return current_app.extensions["o2o"]


def repo() -> StoreRepository:
    return state().repo()


def index():
    return state().index()


def search_index():
    return state().search()
