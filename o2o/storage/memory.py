"""A fake: the whole repository in Python dicts, for services' unit tests that run in milliseconds.

It passes the same contract suite as SQLite and PostGIS (``tests/contract``): the same rows,
revisions, history, unique keys (:class:`~o2o.storage.errors.Conflict`) and all-or-nothing
transactions (a snapshot restored on error). ``memory://NAME`` opens a database shared by every
repository of this process opened with the same name; :class:`MemoryRepository()` a private one.
"""

from __future__ import annotations

import copy
import json
import math
import threading
from contextlib import contextmanager
from typing import Iterable, Iterator

import numpy as np

from ..geo.distance import haversine_m
from .base import SCAN_FIELDS, STORE_FIELDS, TABLES, canonical_row
from .core import SCAN_COLUMNS, WRITABLE, utc_now, valid_id
from .memory_demand import MemoryDemand
from .memory_principals import MemoryPrincipals
from .memory_products import MemoryProducts
from .errors import Conflict, health
from .rows import HourCount, IndexRow, NameCount, OpenStore, PlaceCount, TimeRange

LATEST_VERSION = 8  # 8: searches by cell, as SQLite's 14 and PostGIS's 12
_UNIQUE = {"retailers": (("name",), ("key_hash",)), "analysts": (("key_hash",),),
           "stores": (("retailer_id", "external_id"),), "users": (("email",),),
           "setup_tokens": (("token_hash",),), "api_keys": (("key_hash",),),
           "products": (("retailer_id", "sku"),), "stock": (("store_id", "product_id"),)}


class _Database:
    """One in-memory database: its tables, and the lock its transactions hold."""

    def __init__(self):
        self.lock = threading.RLock()
        self.startup = threading.Lock()
        self.depth = 0
        self.version = 0
        self.meta = {"rev": 0, "reset_rev": 0}
        self.tables: dict[str, dict[int, dict]] = {name: {} for name in TABLES}
        self.keys: dict[tuple[str, tuple], dict[tuple, int]] = {
            (table, key): {} for table, keys in _UNIQUE.items() for key in keys}
        self.sessions: dict[str, int] = {}
        self.failures: dict[str, dict] = {}  # failed sign-ins by key

    def state(self):
        return self.version, self.meta, self.tables, self.keys, self.sessions, self.failures


_named: dict[str, _Database] = {}
_named_lock = threading.Lock()


class MemoryRepository(MemoryPrincipals, MemoryProducts, MemoryDemand):
    """The in-memory store repository (see the module's description)."""

    def __init__(self, db: _Database | None = None):
        self._db = db or _Database()

    @classmethod
    def from_url(cls, url: str) -> "MemoryRepository":
        """``memory://NAME``: the database of that name in this process, made on first use."""
        name = url.partition("://")[2] or url
        with _named_lock:
            return cls(_named.setdefault(name, _Database()))

    def close(self) -> None:
        pass

    def analyze(self, tables) -> None:
        pass  # no planner

    def storage_full(self) -> bool:
        return health.full

    # --------------------------------------------------------------------------- schema
    def migrate(self, target: int | None = None) -> int:
        with self.transaction():
            self._db.version = max(self._db.version, LATEST_VERSION if target is None else target)
            return self._db.version

    def schema_version(self) -> int:
        return self._db.version

    def latest_version(self) -> int:
        return LATEST_VERSION

    @contextmanager
    def startup_lock(self):
        with self._db.startup:
            yield

    @contextmanager
    def transaction(self):
        """All or nothing: a snapshot of the tables, put back if anything fails."""
        db = self._db
        with db.lock:
            if db.depth:
                db.depth += 1
                try:
                    yield self
                finally:
                    db.depth -= 1
                return
            saved = copy.deepcopy(db.state())
            db.depth = 1
            try:
                yield self
            except BaseException:
                db.version, db.meta, db.tables, db.keys, db.sessions, db.failures = saved
                raise
            finally:
                db.depth = 0
            health.mark_written()

    def _table(self, name: str) -> dict[int, dict]:
        return self._db.tables[name]

    def _insert(self, table: str, row: dict, row_id: int | None = None) -> int:
        """Add a row (its id: the one given, or the highest + 1, as SQLite does); unique keys hold."""
        rows, keys = self._table(table), self._db.keys
        values = {key: tuple(row.get(c) for c in key) for key in _UNIQUE.get(table, ())}
        for key, value in values.items():
            if None not in value and value in keys[(table, key)]:
                raise Conflict(table, key)
        row_id = row_id or max(rows, default=0) + 1
        if row_id in rows:
            raise Conflict(table, ("id",))
        rows[row_id] = {"id": row_id, **{c: row.get(c) for c in TABLES[table][1:]}}
        for key, value in values.items():
            if None not in value:
                keys[(table, key)][value] = row_id
        return row_id

    def _remove(self, table: str, row_id: int) -> dict:
        row = self._table(table).pop(row_id)
        for key in _UNIQUE.get(table, ()):
            self._db.keys[(table, key)].pop(tuple(row.get(c) for c in key), None)
        return row

    def _next_rev(self) -> int:
        self._db.meta["rev"] += 1
        return self._db.meta["rev"]

    # --------------------------------------------------------------------------- changes
    def current_rev(self) -> int:
        return self._db.meta["rev"]

    def sync_marks(self) -> tuple[int, int]:
        with self._db.lock:
            return self._db.meta["rev"], self._db.meta["reset_rev"]

    def index_rows(self, since_rev: int = 0) -> Iterator[IndexRow]:
        with self._db.lock:
            return iter([IndexRow(s["id"], s["lon"], s["lat"], s["brand"], self._retailer_name(s), s["category"],
                                  s["status"]) for s in self._sorted("stores") if s["rev"] > since_rev])

    # --------------------------------------------------------------------------- reading stores
    def _sorted(self, table: str) -> list[dict]:
        return [row for _, row in sorted(self._table(table).items())]

    def _retailer_name(self, store: dict) -> str:
        return self._table("retailers")[store["retailer_id"]]["name"]

    def _public(self, store: dict) -> dict:
        out = {f: store.get(f) for f in STORE_FIELDS}
        out["retailer"] = self._retailer_name(store)
        return out

    def count_stores(self, status: str | None = None) -> int:
        return sum(1 for s in list(self._table("stores").values()) if status is None or s["status"] == status)

    def get_store(self, store_id: int) -> dict | None:
        store = self._table("stores").get(int(store_id)) if valid_id(store_id) else None
        return None if store is None else self._public(store)

    def get_stores(self, store_ids: Iterable[int]) -> list[dict]:
        found = (self.get_store(i) for i in store_ids)
        return [s for s in found if s is not None]

    def stores_by_ids_raw(self, store_ids: list[int]) -> dict[int, dict]:
        stores = self._table("stores")
        return {int(i): dict(stores[int(i)]) for i in store_ids if int(i) in stores}

    def iter_stores(self) -> Iterator[dict]:
        with self._db.lock:
            stores = [self._public(s) for s in self._sorted("stores")]
        return iter(stores)

    def stores_of_retailer(self, retailer_id: int) -> list[dict]:
        return [s for s in self.iter_stores() if s["retailer_id"] == int(retailer_id)]

    def find_store_ids(self, retailer_id: int, external_ids: Iterable[str]) -> dict[str, int]:
        wanted = set(external_ids)
        return {s["external_id"]: s["id"] for s in self._sorted("stores")
                if s["retailer_id"] == int(retailer_id) and s["external_id"] in wanted}

    def _counts(self, column: str, all_brands: bool) -> list[NameCount]:
        counts: dict[str, int] = {}
        for s in self._table("stores").values():
            if s["status"] == "open" or all_brands:
                counts[s[column]] = counts.get(s[column], 0) + (s["status"] == "open")
        return [NameCount(name, n) for name, n in sorted(counts.items())]

    def brand_counts(self) -> list[NameCount]:
        return self._counts("brand", all_brands=True)

    def category_counts(self) -> list[NameCount]:
        return self._counts("category", all_brands=False)

    def city_centres(self, limit: int = 60, brand: str | None = None) -> list[dict]:
        groups: dict[tuple, list] = {}
        for s in self._table("stores").values():
            if s["status"] == "open" and s["city"] is not None and (brand is None or s["brand"] == brand):
                groups.setdefault((s["province"], s["city"]), []).append((s["lon"], s["lat"]))
        rows = [{"province": p, "city": c, "stores": len(pts), "lon": sum(x for x, _ in pts) / len(pts),
                 "lat": sum(y for _, y in pts) / len(pts)} for (p, c), pts in groups.items()]
        return sorted(rows, key=lambda r: (-r["stores"], r["city"]))[:limit]

    def _matches(self, store: dict, brands, retailers, categories) -> bool:
        return ((not brands or store["brand"] in brands) and (not categories or store["category"] in categories)
                and (not retailers or self._retailer_name(store) in retailers))

    def nearest(self, lon: float, lat: float, k: int, radius_m: float | None = None,
                brands=None, retailers=None, categories=None) -> list[tuple[int, float]]:
        """Every open store's distance, exactly (a fake need not be fast)."""
        found = [s for s in self._table("stores").values()
                 if s["status"] == "open" and self._matches(s, brands, retailers, categories)]
        if not found or k <= 0:
            return []
        dist = haversine_m(lon, lat, np.array([s["lon"] for s in found]), np.array([s["lat"] for s in found]))
        limit = math.inf if radius_m is None else radius_m
        return sorted(((s["id"], float(d)) for s, d in zip(found, dist) if d <= limit), key=lambda r: (r[1], r[0]))[:k]

    def store_history(self, store_id: int) -> list[dict]:
        return [{"rev": h["rev"], "changed_at": h["changed_at"], "before": h["before"], "after": h["after"],
                 "actor": h["actor"]} for h in self._sorted("store_history") if h["store_id"] == store_id]

    def store_creator(self, store_id: int) -> str | None:
        store = self._table("stores").get(int(store_id)) if valid_id(store_id) else None
        return None if store is None else store["created_by"]

    # --------------------------------------------------------------------------- writing stores
    def _check(self, store: dict) -> None:
        if not (-90 <= store["lat"] <= 90 and -180 <= store["lon"] <= 180):
            raise ValueError("lat/lon out of range")
        if any(store[c] is None for c in ("external_id", "name", "brand", "category", "address")):
            raise ValueError("a required store field is missing")
        if store["status"] not in ("open", "closed"):
            raise ValueError(f"status {store['status']!r}")
        if store["retailer_id"] not in self._table("retailers"):
            raise ValueError(f"no retailer {store['retailer_id']}")

    def _add_store(self, row: dict, rev: int, now: str) -> int:
        record = {c: row.get(c) for c in TABLES["stores"][1:]}
        record.update(status=row.get("status") or "open", created_at=row.get("created_at") or now, rev=rev)
        record["updated_at"] = row.get("updated_at") or record["created_at"]
        self._check(record)
        return self._insert("stores", record)

    def insert_stores(self, rows: Iterable[dict]) -> int:
        with self.transaction():
            rev, now = self._next_rev(), utc_now()
            return len([self._add_store(row, rev, now) for row in rows])

    def insert_store(self, record: dict, actor: str | None = None) -> int:
        with self.transaction():
            row = {f: record.get(f) for f in WRITABLE}
            row.update(retailer_id=record["retailer_id"], created_by=actor)
            return self._add_store(row, self._next_rev(), utc_now())

    def update_store(self, store_id: int, changes: dict, actor: str | None = None) -> dict | None:
        if not valid_id(store_id) or int(store_id) not in self._table("stores"):
            return None
        with self.transaction():
            self._apply_changes(int(store_id), changes, None, utc_now(), actor)
            return self.get_store(store_id)

    def _apply_changes(self, store_id: int, changes: dict, rev: int | None, now: str, actor: str | None = None) -> None:
        before = self._table("stores")[store_id]
        changed = {k: v for k, v in changes.items() if k in WRITABLE and before.get(k) != v}
        if not changed:
            return
        rev = self._next_rev() if rev is None else rev
        after = {**before, **changed, "updated_at": now, "rev": rev}
        self._check(after)
        self._remove("stores", store_id)
        self._insert("stores", after, store_id)  # a clash fails the transaction, which restores it
        self._insert("store_history", {"store_id": store_id, "rev": rev, "changed_at": now,
                                       "before": {k: before[k] for k in changed}, "after": dict(changed),
                                       "actor": actor})

    def bulk_upsert(self, retailer_id: int, inserts: list[dict], updates: list[tuple[int, dict]],
                    actor: str | None = None) -> None:
        with self.transaction():
            rev, now = self._next_rev(), utc_now()
            for row in inserts:
                self._add_store({**row, "retailer_id": retailer_id, "created_at": now, "updated_at": now,
                                 "created_by": actor}, rev, now)
            for store_id, changes in updates:
                if store_id in self._table("stores"):
                    self._apply_changes(store_id, changes, rev, now, actor)

    def delete_all_stores(self) -> None:
        with self.transaction():
            for table in ("stock", "product_scans", "scans", "store_history", "stores"):
                for row_id in list(self._table(table)):
                    self._remove(table, row_id)
            self._db.meta["reset_rev"] = self._next_rev()

    # --------------------------------------------------------------------------- scans
    def record_scan(self, store: dict, scanned_at: int, client_kind: str, client_hash: str,
                    dedup_window_s: int) -> bool | None:
        with self.transaction():
            store = self._table("stores").get(int(store["id"]))
            if store is None or store["status"] != "open":
                return None
            since = int(scanned_at) - int(dedup_window_s)
            repeat = any(s["store_id"] == store["id"] and s["client_hash"] == client_hash and s["scanned_at"] > since
                         for s in self._table("scans").values())
            counted = client_kind != "bot" and not repeat
            self.insert_scans([(store["id"], store["retailer_id"], store["brand"], store["category"], store["lon"],
                                store["lat"], store["province"], store["city"], int(scanned_at), client_kind,
                                client_hash, int(counted))])
        return counted

    def insert_scans(self, rows) -> int:
        with self.transaction():
            n = 0
            for row in rows:
                record = dict(zip(SCAN_COLUMNS, row))
                record["counted"] = int(bool(record["counted"]))
                self._insert("scans", record)
                n += 1
            return n

    def count_scans(self, counted_only: bool = False) -> int:
        return sum(1 for s in list(self._table("scans").values()) if s["counted"] or not counted_only)

    def scan_batches(self, batch_size: int = 500_000, after_id: int = 0) -> Iterator[list[tuple]]:
        rows = [tuple(s[f] for f in SCAN_FIELDS) for s in self._sorted("scans") if s["id"] > after_id]
        for start in range(0, len(rows), batch_size):
            yield rows[start:start + batch_size]

    def _counted(self, since, until, brands, retailers, categories) -> Iterator[tuple[dict, dict | None]]:
        """Counted scans in the window, each with its store as it is now (filters on the store)."""
        stores = self._table("stores")
        flt = brands or retailers or categories
        for scan in self._sorted("scans"):
            if not scan["counted"] or (since is not None and scan["scanned_at"] < since) \
                    or (until is not None and scan["scanned_at"] >= until):
                continue
            store = stores.get(scan["store_id"])
            if flt and (store is None or not self._matches(store, brands, retailers, categories)):
                continue
            yield scan, store

    def scans_by_place(self, since=None, until=None, brands=None, retailers=None, categories=None) -> list[PlaceCount]:
        counts: dict[int, int] = {}
        for scan, store in self._counted(since, until, brands, retailers, categories):
            if store is not None:
                counts[store["id"]] = counts.get(store["id"], 0) + 1
        stores = self._table("stores")
        return [PlaceCount(i, stores[i]["lon"], stores[i]["lat"], stores[i]["province"], stores[i]["city"],
                           stores[i]["brand"], n) for i, n in sorted(counts.items())]

    def scans_by_hour(self, since=None, until=None, brands=None, retailers=None, categories=None) -> list[HourCount]:
        counts: dict[int, int] = {}
        for scan, _ in self._counted(since, until, brands, retailers, categories):
            hour = scan["scanned_at"] // 3600 * 3600
            counts[hour] = counts.get(hour, 0) + 1
        return [HourCount(h, n) for h, n in sorted(counts.items())]

    def scan_time_range(self) -> TimeRange:
        times = [s["scanned_at"] for s in self._table("scans").values() if s["counted"]]
        return TimeRange(min(times), max(times)) if times else TimeRange(None, None)

    def open_stores_table(self, brands=None, retailers=None, categories=None, since: str | None = None,
                          until: str | None = None) -> list[OpenStore]:
        return [OpenStore(s["id"], s["lon"], s["lat"], s["brand"], self._retailer_name(s), s["category"],
                          s["province"], s["city"]) for s in self._sorted("stores")
                if s["status"] == "open" and self._matches(s, brands, retailers, categories)
                and (not since or s["created_at"] >= since) and (not until or s["created_at"] < until)]

    # --------------------------------------------------------------------------- whole tables
    def dump_table(self, table: str, batch_size: int = 50_000) -> Iterator[list[tuple]]:
        rows = [canonical_row(table, [r[c] for c in TABLES[table]]) for r in self._sorted(table)]
        for start in range(0, len(rows), batch_size):
            yield rows[start:start + batch_size]

    def load_table(self, table: str, rows: list[tuple]) -> int:
        with self.transaction():
            for row in rows:
                record = dict(zip(TABLES[table], row))
                for column in ("domains", "before", "after"):
                    if isinstance(record.get(column), str):
                        record[column] = json.loads(record[column])
                self._insert(table, record, record["id"])
        return len(rows)

    def finish_load(self, rev: int, reset_rev: int) -> None:
        with self.transaction():
            self._db.meta.update(rev=rev, reset_rev=reset_rev)
