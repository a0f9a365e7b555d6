"""Vector tiles of the open stores (``/tiles/stores/{z}/{x}/{y}.mvt``) from the in-memory index.

The points come from the process's :class:`~o2o.geo.index.StoreIndex` (positions, filters), the
clustering and encoding from :mod:`o2o.geo.tiles`. A store drawn on its own also carries its
name, brand and category: those are kept per store in :class:`StoreLabels`, fetched once per
store version (a tile of clusters needs none), and dropped when the store changes, as the
Features of the search answers are (:mod:`o2o.web.features`). So a tile costs the database
nothing once its stores have been seen.
"""

from __future__ import annotations

from ..geo import tiles
from ..geo.index import Filters, StoreIndex
from .store_cache import StoreCache


class StoreLabels(StoreCache[dict]):
    """``{"id", "name", "brand", "category"}`` of open stores by id; bounded, thread-safe."""

    def __init__(self, max_entries: int = 200_000):
        super().__init__(max_entries)

    def get(self, repo, store_ids: list[int]) -> list[dict]:
        """The labels of these stores, in this order (one read for those not seen yet). A store
        the database no longer has open keeps its id alone (the index is a moment behind)."""
        found = self._get_many(store_ids, lambda missing: {
            s["id"]: {"id": s["id"], "name": s["name"], "brand": s["brand"], "category": s["category"]}
            for s in repo.get_stores(missing) if s["status"] == "open"})
        return [found.get(sid) or {"id": sid} for sid in store_ids]


def store_tile(index: StoreIndex, labels: StoreLabels, repo, z: int, x: int, y: int,
               filters: Filters = Filters()) -> bytes:
    """Tile ``z/x/y`` of the open stores matching ``filters`` as MVT bytes (empty: no store)."""
    ids, lon, lat = index.in_bbox(*tiles.query_bounds(z, x, y), filters=filters)
    groups = tiles.tile_groups(lon, lat, z, x, y)
    single_ids = ids[groups.singles].tolist()
    return tiles.encode(groups, labels.get(repo, single_ids) if single_ids else [])
