"""Vector tiles of the open stores (``/tiles/stores/{z}/{x}/{y}.mvt``) from the in-memory index.

The points come from the process's :class:`~o2o.geo.index.StoreIndex` (positions, filters), the
clustering and encoding from :mod:`o2o.geo.tiles`. A store drawn on its own also carries its
name, brand and category: those are kept per store in :class:`StoreLabels`, fetched once per
store version (a tile of clusters needs none), and dropped when the store changes, as the
Features of the search answers are (:mod:`o2o.web.features`). So a tile costs the database
nothing once its stores have been seen.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from ..geo import tiles
from ..geo.index import Filters, StoreIndex


class StoreLabels:
    """``{"id", "name", "brand", "category"}`` of open stores by id; bounded, thread-safe."""

    def __init__(self, max_entries: int = 200_000):
        self.max_entries = max_entries
        self._entries: OrderedDict[int, dict] = OrderedDict()
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

    def get(self, repo, store_ids: list[int]) -> list[dict]:
        """The labels of these stores, in this order (one read for those not seen yet). A store
        the database no longer has open keeps its id alone (the index is a moment behind)."""
        found: dict[int, dict] = {}
        missing = []
        with self._lock:
            for sid in store_ids:
                label = self._entries.get(sid)
                if label is None:
                    missing.append(sid)
                else:
                    found[sid] = label
        if missing:
            fetched = {s["id"]: {"id": s["id"], "name": s["name"], "brand": s["brand"], "category": s["category"]}
                       for s in repo.get_stores(missing) if s["status"] == "open"}
            with self._lock:
                for sid, label in fetched.items():
                    self._entries[sid] = label
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
            found.update(fetched)
        return [found.get(sid) or {"id": sid} for sid in store_ids]


def store_tile(index: StoreIndex, labels: StoreLabels, repo, z: int, x: int, y: int,
               filters: Filters = Filters()) -> bytes:
    """Tile ``z/x/y`` of the open stores matching ``filters`` as MVT bytes (empty: no store)."""
    ids, lon, lat = index.in_bbox(*tiles.query_bounds(z, x, y), filters=filters)
    groups = tiles.tile_groups(lon, lat, z, x, y)
    single_ids = ids[groups.singles].tolist()
    return tiles.encode(groups, labels.get(repo, single_ids) if single_ids else [])
