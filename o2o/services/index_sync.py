"""Keeps a process's in-memory :class:`StoreIndex` in step with the database.

Every write to the database bumps its revision and stamps the changed stores with it. Before
answering a query, a process asks the database for its revision (one indexed read); if another
process wrote since, it fetches just the changed stores and applies them to its index. So a
store registered through one gunicorn worker is found by the next search on any other worker,
with no restart and no message bus.
"""

from __future__ import annotations

import threading

from ..geo.index import StoreIndex
from ..storage.base import StoreRepository


class IndexSync:
    """A :class:`StoreIndex` plus the database revision it reflects."""

    def __init__(self, index: StoreIndex | None = None):
        self.index = index or StoreIndex()
        self.rev = -1
        self._lock = threading.Lock()
        self.listeners = []  # called with the changed store ids, or None after a full reload

    def load(self, repo: StoreRepository) -> None:
        """Build the index from every open store."""
        with self._lock:
            self._load(repo)

    def _load(self, repo: StoreRepository) -> None:
        rev = repo.current_rev()
        rows = [r for r in repo.index_rows(0) if r[6] == "open"]
        columns = list(zip(*rows)) if rows else [[]] * 7
        self.index.load(*columns[:6])
        self.rev = rev
        for listener in self.listeners:
            listener(None)

    def refresh(self, repo: StoreRepository) -> StoreIndex:
        """Apply whatever changed in the database since the last look; returns the index."""
        rev, reset_rev = repo.sync_marks()
        if rev == self.rev:
            return self.index
        with self._lock:
            if self.rev < 0 or reset_rev > self.rev:
                self._load(repo)
            elif rev != self.rev:
                changed = []
                for sid, x, y, brand, retailer, category, status in repo.index_rows(self.rev):
                    self.index.upsert(sid, x, y, brand, retailer, category, is_open=(status == "open"))
                    changed.append(sid)
                self.rev = rev
                for listener in self.listeners:
                    listener(changed)
        return self.index
