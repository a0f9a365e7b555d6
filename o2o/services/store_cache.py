"""Per-store values built once per store version, kept by store id until the store changes.

The search answers' serialised Features (:class:`o2o.web.features.FeatureCache`) and the tiles'
store labels (:class:`o2o.services.tiles.StoreLabels`) are both such caches: filled from the
database for the stores not seen yet, bounded (the oldest entries go first) and told of every
changed store by :class:`~o2o.services.index_sync.IndexSync`. This is what they share; each says
what it keeps and how it builds it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable, Generic, Iterable, TypeVar

V = TypeVar("V")


class StoreCache(Generic[V]):
    """Values by store id; bounded, thread-safe, dropped when a store changes."""

    def __init__(self, max_entries: int):
        self.max_entries = max_entries
        self._entries: OrderedDict[int, V] = OrderedDict()
        self._lock = threading.Lock()

    def invalidate(self, store_ids) -> None:
        with self._lock:
            for sid in store_ids:
                self._entries.pop(int(sid), None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def changed(self, store_ids) -> None:
        """An :class:`~o2o.services.index_sync.IndexSync` listener: ``None`` after a full reload."""
        if store_ids is None:
            self.clear()
        else:
            self.invalidate(store_ids)

    def _get_many(self, store_ids: Iterable[int], fetch: Callable[[list[int]], dict[int, V]]) -> dict[int, V]:
        """The values of these stores that are cached or that ``fetch`` (called once, with the ids
        not cached, and outside the lock: it reads the database) returns; the fetched are kept."""
        found: dict[int, V] = {}
        missing = []
        with self._lock:
            for sid in store_ids:
                value = self._entries.get(sid)
                if value is None:
                    missing.append(sid)
                else:
                    found[sid] = value
        if missing:
            fetched = fetch(missing)
            with self._lock:
                for sid, value in fetched.items():
                    self._entries[sid] = value
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
            found.update(fetched)
        return found
