"""The public reads a process can answer from memory while its database is unreachable.

Every store is already in each process's memory in parts (the spatial index, the text index,
the serialised Features of the stores asked for lately); :class:`StoreMirror` keeps the rest of
each store's record, built with the text index from the same full read and kept at its revision
(:class:`~o2o.services.index_sync.SearchSync`). :class:`MemoryFallback` wraps a repository: the
reads shoppers' pages and the public API need (a store, stores by id, brands, categories,
cities, a retailer's domains for ``/go``) go to the database as usual, and only when it cannot
be reached (:class:`~o2o.storage.errors.Unavailable`: down, or the circuit breaker open) are they
answered from the mirror, with ``on_stale()`` called so the answer says how old it may be.
Writes, and every other read, still go to the database (and fail with a 503, or in ``/go``'s
case are spooled: :mod:`o2o.services.spool`).
"""

from __future__ import annotations

import sys
import threading
from collections import Counter, defaultdict

from ..storage.errors import Unavailable
from ..storage.rows import NameCount

# Fields many stores share: one string object each, not one per store.
_SHARED = frozenset({"brand", "retailer", "category", "province", "city", "district", "hours", "special_hours",
                     "status", "created_at", "updated_at"})


class StoreMirror:
    """Every store's record (open and closed) and every retailer, in compact form, by id."""

    def __init__(self):
        self._fields: tuple[str, ...] = ()
        self._rows: dict[int, tuple] = {}
        self._retailers: dict[int, dict] = {}
        self._lock = threading.Lock()
        self.ready = False

    def _pack(self, store: dict) -> tuple:
        if not self._fields:
            self._fields = tuple(store)
        return tuple(sys.intern(v) if isinstance(v, str) and k in _SHARED else v
                     for k, v in zip(self._fields, (store.get(f) for f in self._fields)))

    def load(self, stores, retailers=None) -> None:
        rows = {int(s["id"]): self._pack(s) for s in stores}
        with self._lock:
            self._rows = rows
            if retailers is not None:
                self._retailers = {int(r["id"]): r for r in retailers}
            self.ready = True

    def upsert(self, store: dict) -> None:
        with self._lock:
            self._rows[int(store["id"])] = self._pack(store)

    def remove(self, store_id: int) -> None:
        with self._lock:
            self._rows.pop(int(store_id), None)

    def add_retailer(self, retailer: dict) -> None:
        with self._lock:
            self._retailers[int(retailer["id"])] = retailer

    def __len__(self) -> int:
        return len(self._rows)

    # -- the reads, as the repository answers them
    def get_store(self, store_id) -> dict | None:
        try:
            row = self._rows.get(int(store_id))
        except (TypeError, ValueError):
            return None
        return None if row is None else dict(zip(self._fields, row))

    def get_stores(self, store_ids) -> list[dict]:
        out = []
        for sid in store_ids:
            store = self.get_store(sid)
            if store is not None:
                out.append(store)
        return out

    def _open(self):
        f = self._fields
        if not f:
            return []
        status = f.index("status")
        return [row for row in list(self._rows.values()) if row[status] == "open"]

    def brand_counts(self) -> list[NameCount]:
        if not self._fields:
            return []
        brand, status = self._fields.index("brand"), self._fields.index("status")
        counts: Counter = Counter()
        for row in list(self._rows.values()):
            counts[row[brand]] += row[status] == "open"
        return [NameCount(name, counts[name]) for name in sorted(counts, key=lambda b: b.encode())]

    def category_counts(self) -> list[NameCount]:
        if not self._fields:
            return []
        category = self._fields.index("category")
        counts = Counter(row[category] for row in self._open())
        return [NameCount(name, counts[name]) for name in sorted(counts, key=lambda c: c.encode())]

    def city_centres(self, limit: int = 60, brand: str | None = None) -> list[dict]:
        if not self._fields:
            return []
        at = {f: self._fields.index(f) for f in ("province", "city", "lon", "lat", "brand")}
        groups = defaultdict(list)
        for row in self._open():
            if row[at["city"]] is None or (brand is not None and row[at["brand"]] != brand):
                continue
            groups[(row[at["province"]], row[at["city"]])].append(row)
        out = [{"province": p, "city": c, "stores": len(rows), "lon": sum(r[at["lon"]] for r in rows) / len(rows),
                "lat": sum(r[at["lat"]] for r in rows) / len(rows)} for (p, c), rows in groups.items()]
        out.sort(key=lambda r: (-r["stores"], r["city"].encode()))
        return out[:int(limit)]

    def get_retailer(self, retailer_id) -> dict | None:
        found = self._retailers.get(int(retailer_id))
        return None if found is None else dict(found)


class MemoryFallback:
    """A repository whose public reads fall back to a :class:`StoreMirror` (see the module)."""

    def __init__(self, repo, mirror: StoreMirror, on_stale):
        self.repo = repo
        self.mirror = mirror
        self.on_stale = on_stale

    def _read(self, name: str, *args, empty=None):
        try:
            return getattr(self.repo, name)(*args)
        except Unavailable:
            if empty is not None:
                self.on_stale()
                return empty()
            if not self.mirror.ready:
                raise
            self.on_stale()
            return getattr(self.mirror, name)(*args)

    def get_store(self, store_id):
        return self._read("get_store", store_id)

    def get_stores(self, store_ids):
        return self._read("get_stores", list(store_ids))

    def brand_counts(self):
        return self._read("brand_counts")

    def category_counts(self):
        return self._read("category_counts")

    def city_centres(self, limit: int = 60, brand: str | None = None):
        return self._read("city_centres", limit, brand)

    def get_retailer(self, retailer_id):
        found = self._read("get_retailer", retailer_id)
        if found is not None and self.mirror.ready:
            self.mirror.add_retailer(found)
        return found

    def stock_of_store(self, store_id):
        """A store page's product list: empty while the database is away (the page still answers)."""
        return self._read("stock_of_store", store_id, empty=list)

    def __getattr__(self, name):
        return getattr(self.repo, name)
