"""The SQL both backends share, written once over a small :class:`Dialect`.

A backend (:mod:`.sqlite`, :mod:`.postgis`) subclasses :class:`SqlRepository` and supplies what is
truly its own: connections and the transaction, its migrations, k-nearest search, bulk loading
(``executemany`` or ``COPY``), locks, and what its driver's errors mean. Everything else, from
keyset paging to the revision counter, the principals and the analytics reads, lives here with
``?`` placeholders that the dialect rewrites.

Times: SQLite keeps ISO 8601 text and epoch integers, PostgreSQL ``timestamptz``; the dialect's
expressions hand both out alike (ISO text ending in ``Z``, or epoch seconds).
"""

from __future__ import annotations

import itertools
import json
import logging
from typing import Iterable, Iterator

from .base import SCAN_FIELDS, STORE_FIELDS, TABLES, canonical_row
from .dialect import Dialect, utc_now, valid_id
from .errors import health, raise_named  # noqa: F401  (raise_named: for the backends)
from .principals import PRINCIPAL_TABLES, USER_CHANGES, PrincipalsSql  # noqa: F401  (for the fake)
from .demand import DemandSql
from .products import ProductsSql
from .rows import HourCount, IndexRow, NameCount, OpenStore, PlaceCount, TimeRange
from .watch import changed_here

SCHEMA_VERSION_KEY = "schema_version"

WRITABLE = ("external_id", "name", "brand", "category", "lat", "lon", "address", "province", "city",
            "district", "hours", "special_hours", "phone", "online_url", "status")
# Store columns that migrations added after the first schema (insert_stores writes them only when given).
LATER_STORE_COLUMNS = frozenset({"special_hours"})
SCAN_COLUMNS = SCAN_FIELDS[1:]
ISO_COLUMNS = frozenset({"created_at", "updated_at", "revoked_at", "changed_at", "last_sign_in_at", "disabled_at",
                         "used_at", "last_used_at"})
EPOCH_COLUMNS = frozenset({"scanned_at", "expires_at"})
BOOL_COLUMNS = frozenset({"counted"})


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


class SqlRepository(PrincipalsSql, ProductsSql, DemandSql):
    """The repository logic both SQL backends share (see the module's description).

    A subclass sets ``dialect`` and ``MIGRATIONS`` and implements the primitives below the line
    ``# -- primitives``."""

    dialect: Dialect
    MIGRATIONS: list[str]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        d = getattr(cls, "dialect", None)
        if d is None:
            return
        cls._SELECT_STORE = (
            "SELECT s.id, s.retailer_id, s.external_id, s.name, s.brand, r.name AS retailer, s.category,"
            " s.lat, s.lon, s.address, s.province, s.city, s.district, s.hours, s.special_hours, s.phone, s.online_url,"
            f" s.status, {d.iso.format('s.created_at')} AS created_at, {d.iso.format('s.updated_at')} AS updated_at"
            " FROM stores s JOIN retailers r ON r.id = s.retailer_id")
        cls._COLUMNS = {table: ", ".join(cls._column(c) for c in columns) for table, columns in TABLES.items()}

    @classmethod
    def _column(cls, name: str) -> str:
        d = cls.dialect
        if name in ISO_COLUMNS:
            return f"{d.iso.format(name)} AS {name}"
        if name in EPOCH_COLUMNS:
            return f"{d.epoch.format(name)} AS {name}"
        if name in BOOL_COLUMNS:
            return f"{d.as_int.format(name)} AS {name}"
        return name

    # -- primitives (each backend's own)
    def transaction(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _query(self, sql: str, params=(), one: bool = False, dicts: bool = False):  # pragma: no cover
        """Run a read (``?`` placeholders): a list of rows, or the first row (or None) with ``one``."""
        raise NotImplementedError

    def _execute(self, sql: str, params=()):  # pragma: no cover
        """Run one statement inside the open transaction; returns the cursor."""
        raise NotImplementedError

    def _executemany(self, sql: str, rows) -> None:  # pragma: no cover
        raise NotImplementedError

    def _insert_many(self, table: str, columns: tuple[str, ...], rows: Iterable) -> int:  # pragma: no cover
        """Bulk insert inside the open transaction (epoch integers, 0/1 booleans); how many."""
        raise NotImplementedError

    def _run_script(self, script: str) -> None:  # pragma: no cover
        raise NotImplementedError

    def _lock_migrations(self) -> None:
        """Inside the migration's transaction: keep other processes out (SQLite's is serial already)."""

    def _restart_ids(self, tables: Iterable[str]) -> None:
        """After emptying or loading tables: let new ids follow the highest one there."""

    # -- schema
    def latest_version(self) -> int:
        return len(self.MIGRATIONS)

    def schema_version(self) -> int:
        if not self._query(self.dialect.has_meta, one=True)[0]:
            return 0
        row = self._query("SELECT value FROM meta WHERE key = ?", (SCHEMA_VERSION_KEY,), one=True)
        return int(row[0]) if row else 0

    def migrate(self, target: int | None = None) -> int:
        target = len(self.MIGRATIONS) if target is None else target
        with self.transaction():
            self._lock_migrations()
            version = self.schema_version()
            for number in range(version + 1, target + 1):
                self._run_script(self.MIGRATIONS[number - 1])
                self._set_meta(SCHEMA_VERSION_KEY, number)
            return max(version, target)

    def _set_meta(self, key: str, value) -> None:
        self._execute("INSERT INTO meta (key, value) VALUES (?, ?)"
                      " ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, str(value)))

    def _next_rev(self) -> int:
        row = self._execute("UPDATE meta SET value = CAST(CAST(value AS bigint) + 1 AS text)"
                            " WHERE key = 'rev' RETURNING value").fetchone()
        self._announce_change()
        return int(row[0])

    def _next_catalogue_rev(self, *args, **kwargs) -> int:
        rev = super()._next_catalogue_rev(*args, **kwargs)
        self._announce_change()
        return rev

    def _announce_change(self) -> None:
        """Inside the write's transaction: other processes' caches must look again once it commits
        (PostgreSQL sends a NOTIFY, see :mod:`.watch`), and so must this process's."""
        self._revision_moved = True

    def _committed(self) -> None:
        """A write transaction committed: the storage is not full (any more); if it moved a
        revision, this process's caches look again at once (they read their own writes)."""
        health.mark_written()
        if getattr(self, "_revision_moved", False):
            self._revision_moved = False
            changed_here()

    # -- changes
    def current_rev(self) -> int:
        row = self._query("SELECT value FROM meta WHERE key = 'rev'", one=True)
        return int(row[0]) if row else 0

    def sync_marks(self) -> tuple[int, int]:
        marks = dict(self._query("SELECT key, value FROM meta WHERE key IN ('rev', 'reset_rev')"))
        return int(marks.get("rev", 0)), int(marks.get("reset_rev", 0))

    def index_rows(self, since_rev: int = 0) -> Iterator[IndexRow]:
        return map(IndexRow._make, self._query(
            "SELECT s.id, s.lon, s.lat, s.brand, r.name, s.category, s.status"
            " FROM stores s JOIN retailers r ON r.id = s.retailer_id WHERE s.rev > ?", (since_rev,)))

    # -- reading stores
    def count_stores(self, status: str | None = None) -> int:
        if status is None:
            return self._query("SELECT count(*) FROM stores", one=True)[0]
        return self._query("SELECT count(*) FROM stores WHERE status = ?", (status,), one=True)[0]

    def get_store(self, store_id: int) -> dict | None:
        if not valid_id(store_id):
            return None
        return self._query(self._SELECT_STORE + " WHERE s.id = ?", (int(store_id),), one=True, dicts=True)

    def get_stores(self, store_ids: Iterable[int]) -> list[dict]:
        ids = [int(i) for i in store_ids if valid_id(i)]
        rows = {}
        for chunk in self.dialect.chunks(ids):
            where, params = self.dialect.in_list("s.id", chunk)
            rows.update((r["id"], r) for r in self._query(self._SELECT_STORE + " WHERE " + where, params, dicts=True))
        return [rows[i] for i in ids if i in rows]

    def stores_by_ids_raw(self, store_ids: list[int], lock: bool = False) -> dict[int, dict]:
        out = {}
        for chunk in self.dialect.chunks([int(i) for i in store_ids if valid_id(i)]):
            where, params = self.dialect.in_list("id", chunk)
            sql = f"SELECT {self._COLUMNS['stores']} FROM stores WHERE {where}" + (self.dialect.for_update if lock else "")
            out.update((r["id"], r) for r in self._query(sql, params, dicts=True))
        return out

    def iter_stores(self) -> Iterator[dict]:
        yield from self._pages(self._SELECT_STORE + " WHERE s.id > ? ORDER BY s.id LIMIT ?", 2000, dicts=True)

    def _pages(self, sql: str, size: int, after: int = 0, dicts: bool = False, batches: bool = False):
        """Keyset paging: rows (or lists of rows) of ``sql`` (``… id > ? ORDER BY id LIMIT ?``)."""
        last = int(after)
        while True:
            rows = self._query(sql, (last, size), dicts=dicts)
            if not rows:
                return
            if batches:
                yield rows
            else:
                yield from rows
            last = rows[-1]["id"] if dicts else rows[-1][0]

    def stores_of_retailer(self, retailer_id: int) -> list[dict]:
        return self._query(self._SELECT_STORE + " WHERE s.retailer_id = ? ORDER BY s.id", (int(retailer_id),),
                           dicts=True)

    def find_store_ids(self, retailer_id: int, external_ids: Iterable[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        for chunk in self.dialect.chunks(list(dict.fromkeys(external_ids))):
            where, params = self.dialect.in_list("external_id", chunk)
            out.update(self._query(f"SELECT external_id, id FROM stores WHERE retailer_id = ? AND {where}",
                                   [int(retailer_id), *params]))
        return out

    def brand_counts(self) -> list[NameCount]:
        rows = self._query("SELECT brand, sum(CASE WHEN status = 'open' THEN 1 ELSE 0 END) FROM stores"
                           f" GROUP BY brand ORDER BY brand{self.dialect.text_order}")
        return [NameCount(r[0], int(r[1])) for r in rows]

    def category_counts(self) -> list[NameCount]:
        rows = self._query("SELECT category, count(*) FROM stores WHERE status = 'open'"
                           f" GROUP BY category ORDER BY category{self.dialect.text_order}")
        return [NameCount(r[0], int(r[1])) for r in rows]

    def city_centres(self, limit: int = 60, brand: str | None = None) -> list[dict]:
        of_brand = " AND brand = ?" if brand is not None else ""
        return self._query(
            "SELECT province, city, count(*) AS stores, avg(lon) AS lon, avg(lat) AS lat FROM stores"
            f" WHERE status = 'open' AND city IS NOT NULL{of_brand} GROUP BY province, city"
            f" ORDER BY stores DESC, city{self.dialect.text_order} LIMIT ?",
            [*([brand] if brand is not None else []), int(limit)], dicts=True)

    def store_history(self, store_id: int) -> list[dict]:
        if not valid_id(store_id):
            return []
        rows = self._query(f"SELECT rev, {self.dialect.iso.format('changed_at')}, before, after, actor"
                           " FROM store_history WHERE store_id = ? ORDER BY id", (int(store_id),))
        return [{"rev": r[0], "changed_at": r[1], "before": _json(r[2]), "after": _json(r[3]), "actor": r[4]}
                for r in rows]

    def store_creator(self, store_id: int) -> str | None:
        if not valid_id(store_id):
            return None
        row = self._query("SELECT created_by FROM stores WHERE id = ?", (int(store_id),), one=True)
        return row[0] if row else None

    # -- writing stores
    def insert_stores(self, rows: Iterable[dict]) -> int:
        now = utc_now()
        rows = iter(rows)
        first = next(rows, None)
        rows = itertools.chain([first] if first is not None else [], rows)
        # Columns added by later migrations are written only when the rows carry them, so rows
        # written for an older schema (seeds, upgrade tests) still load into it.
        columns = tuple(f for f in STORE_FIELDS if f not in ("id", "retailer")
                        and (f not in LATER_STORE_COLUMNS or f in (first or ()))) + ("rev",)
        with self.transaction():
            rev = self._next_rev()

            def records():
                for row in rows:
                    created = row.get("created_at") or now
                    yield (*(row.get(c) for c in columns[:-4]), row.get("status") or "open", created,
                           row.get("updated_at") or created, rev)

            return self._insert_many("stores", columns, records())

    def insert_store(self, record: dict, actor: str | None = None) -> int:
        with self.transaction():
            rev = self._next_rev()
            now = utc_now()
            row = {f: record.get(f) for f in WRITABLE}
            row.update(retailer_id=record["retailer_id"], created_at=now, updated_at=now, rev=rev,
                       status=record.get("status") or "open", created_by=actor)
            cur = self._execute(f"INSERT INTO stores ({','.join(row)}) VALUES ({','.join('?' * len(row))})"
                                " RETURNING id", list(row.values()))
            return int(cur.fetchone()[0])

    def update_store(self, store_id: int, changes: dict, actor: str | None = None) -> dict | None:
        changes = {k: v for k, v in changes.items() if k in WRITABLE}
        if not valid_id(store_id):
            return None
        with self.transaction():
            before = self.stores_by_ids_raw([store_id], lock=True).get(int(store_id))
            if before is None:
                return None
            self._apply_changes([(int(store_id), before, changes)], None, utc_now(), actor)
            return self.get_store(store_id)

    def _apply_changes(self, items: list[tuple[int, dict, dict]], rev: int | None, now: str,
                       actor: str | None = None) -> int:
        """Inside a transaction: keep the old and new values and who in the history, then update;
        how many changed. ``rev`` None: a new revision only if something changed."""
        history, by_columns = [], {}
        for store_id, before, changes in items:
            changed = {k: v for k, v in changes.items() if k in WRITABLE and before.get(k) != v}
            if changed:
                history.append([store_id, json.dumps({k: before[k] for k in changed}, ensure_ascii=False),
                                json.dumps(changed, ensure_ascii=False)])
                by_columns.setdefault(tuple(changed), []).append([*changed.values(), store_id])
        if not history:
            return 0
        rev = self._next_rev() if rev is None else rev
        self._executemany("INSERT INTO store_history (store_id, rev, changed_at, before, after, actor)"
                          " VALUES (?, ?, ?, ?, ?, ?)",
                          [(sid, rev, now, before, after, actor) for sid, before, after in history])
        for columns, params in by_columns.items():
            sets = ", ".join(f"{c} = ?" for c in columns)
            self._executemany(f"UPDATE stores SET {sets}, updated_at = ?, rev = ? WHERE id = ?",
                              [[*p[:-1], now, rev, p[-1]] for p in params])
        return len(history)

    def bulk_upsert(self, retailer_id: int, inserts: list[dict], updates: list[tuple[int, dict]],
                    actor: str | None = None) -> None:
        now = utc_now()
        with self.transaction():
            rev = self._next_rev()
            if inserts:
                self._insert_many("stores", (*WRITABLE, "retailer_id", "created_at", "updated_at", "rev",
                                             "created_by"), (
                    (*(r.get(f) if f != "status" else (r.get(f) or "open") for f in WRITABLE),
                     retailer_id, now, now, rev, actor) for r in inserts))
            if updates:
                before = self.stores_by_ids_raw([sid for sid, _ in updates], lock=True)
                self._apply_changes([(sid, before[sid], ch) for sid, ch in updates if sid in before], rev, now,
                                    actor)

    def delete_all_stores(self) -> None:
        with self.transaction():
            for table in ("stock", "product_scans", "scans", "store_history", "stores"):
                self._execute(f"DELETE FROM {table}")
            self._restart_ids(("stock", "product_scans", "scans", "store_history", "stores"))
            # Readers apply changes row by row; rows that vanished need a full reload instead.
            self._set_meta("reset_rev", self._next_rev())

    # -- scans
    def record_scan(self, store: dict, scanned_at: int, client_kind: str, client_hash: str,
                    dedup_window_s: int) -> bool | None:
        # One statement: whether the store is open, whether the client scanned it within the window,
        # and the row, decided and written at once (a write lock held for microseconds).
        at = self.dialect.from_epoch
        with self.transaction():
            row = self._execute(
                f"INSERT INTO scans ({','.join(SCAN_COLUMNS)}) SELECT s.id, s.retailer_id, s.brand, s.category,"
                f" s.lon, s.lat, s.province, s.city, {at}, ?, ?, (? <> 'bot' AND NOT EXISTS (SELECT 1 FROM scans"
                f" WHERE store_id = s.id AND client_hash = ? AND scanned_at > {at})) FROM stores s"
                " WHERE s.id = ? AND s.status = 'open' RETURNING counted",
                (int(scanned_at), client_kind, client_hash, client_kind, client_hash,
                 int(scanned_at) - int(dedup_window_s), int(store["id"]))).fetchone()
        return None if row is None else bool(row[0])

    def replay_scan(self, spool_id: str, store_id: int, scanned_at: int, client_kind: str, client_hash: str,
                    dedup_window_s: int, product_id: int | None = None) -> bool:
        """A scan kept in a spool while the database was away, stored once: its spool id is written in
        the same transaction (``spooled_scans``), so replaying it again stores nothing. True if it
        was new. Counted or not is decided now, as :meth:`record_scan` decides it, at its own time."""
        with self.transaction():
            new = self._execute("INSERT INTO spooled_scans (spool_id) VALUES (?) ON CONFLICT DO NOTHING"
                                " RETURNING spool_id", (str(spool_id),)).fetchone()
            if new is None:
                return False
            store = {"id": int(store_id)}
            if product_id is None:
                self.record_scan(store, scanned_at, client_kind, client_hash, dedup_window_s)
            else:
                self.record_product_scan(store, int(product_id), scanned_at, client_kind, client_hash,
                                         dedup_window_s)
            return True

    def insert_scans(self, rows) -> int:
        with self.transaction():
            return self._insert_many("scans", SCAN_COLUMNS, rows)

    def count_scans(self, counted_only: bool = False) -> int:
        where = f" WHERE counted = {self.dialect.true}" if counted_only else ""
        return self._query("SELECT count(*) FROM scans" + where, one=True)[0]

    def scan_batches(self, batch_size: int = 500_000, after_id: int = 0) -> Iterator[list[tuple]]:
        for rows in self._pages(f"SELECT {self._COLUMNS['scans']} FROM scans WHERE id > ? ORDER BY id LIMIT ?",
                                batch_size, after_id, batches=True):
            yield [tuple(r) for r in rows]

    def _window(self, since, until, prefix: str = "") -> tuple[str, list]:
        sql, params = [f"{prefix}counted = {self.dialect.true}"], []
        for op, value in ((">=", since), ("<", until)):
            if value is not None:
                sql.append(f"{prefix}scanned_at {op} {self.dialect.from_epoch}")
                params.append(int(value))
        return " AND ".join(sql), params

    def _filters(self, brands, retailers, categories) -> tuple[str, list]:
        sql, params = "", []
        for column, values in (("s.brand", brands), ("r.name", retailers), ("s.category", categories)):
            if values:
                where, p = self.dialect.in_list(column, list(values))
                sql += " AND " + where
                params += p
        return sql, params

    def scans_by_place(self, since=None, until=None, brands=None, retailers=None, categories=None) -> list[PlaceCount]:
        window, params = self._window(since, until)
        flt, fparams = self._filters(brands, retailers, categories)
        return [PlaceCount._make(r) for r in self._query(
            "SELECT s.id, s.lon, s.lat, s.province, s.city, s.brand, c.n FROM"
            f" (SELECT store_id, count(*) AS n FROM scans WHERE {window} GROUP BY store_id) c"
            f" JOIN stores s ON s.id = c.store_id JOIN retailers r ON r.id = s.retailer_id WHERE 1 = 1{flt}",
            params + fparams)]

    def scans_by_hour(self, since=None, until=None, brands=None, retailers=None, categories=None) -> list[HourCount]:
        flt, fparams = self._filters(brands, retailers, categories)
        window, params = self._window(since, until, "sc.")
        join = " JOIN stores s ON s.id = sc.store_id JOIN retailers r ON r.id = s.retailer_id" if flt else ""
        return [HourCount._make(r) for r in self._query(
            f"SELECT {self.dialect.hour.format('sc.scanned_at')} AS hour, count(*) FROM scans sc{join}"
            f" WHERE {window}{flt} GROUP BY 1 ORDER BY 1", params + fparams)]

    def scan_time_range(self) -> TimeRange:
        epoch = self.dialect.epoch
        return TimeRange._make(self._query(
            f"SELECT {epoch.format('min(scanned_at)')}, {epoch.format('max(scanned_at)')} FROM scans"
            f" WHERE counted = {self.dialect.true}", one=True))

    def open_stores_table(self, brands=None, retailers=None, categories=None, since: str | None = None,
                          until: str | None = None) -> list[OpenStore]:
        flt, params = self._filters(brands, retailers, categories)
        for op, value in ((">=", since), ("<", until)):
            if value:
                flt += f" AND s.created_at {op} ?"
                params.append(value)
        return [OpenStore._make(r) for r in self._query(
            "SELECT s.id, s.lon, s.lat, s.brand, r.name, s.category, s.province, s.city FROM stores s"
            f" JOIN retailers r ON r.id = s.retailer_id WHERE s.status = 'open'{flt}", params)]

    # -- whole tables
    def dump_table(self, table: str, batch_size: int = 50_000) -> Iterator[list[tuple]]:
        for rows in self._pages(f"SELECT {self._COLUMNS[table]} FROM {table} WHERE id > ? ORDER BY id LIMIT ?",
                                batch_size, batches=True):
            yield [canonical_row(table, r) for r in rows]

    def load_table(self, table: str, rows: list[tuple]) -> int:
        with self.transaction():
            self._insert_many(table, TABLES[table], rows)
        return len(rows)

    def finish_load(self, rev: int, reset_rev: int) -> None:
        with self.transaction():
            self._set_meta("rev", rev)
            self._set_meta("reset_rev", reset_rev)
            self._announce_change()
            self._restart_ids(TABLES)

    def storage_full(self) -> bool:
        return health.full

    ANALYZE_PREFIX = ""  # SQLite bounds the rows it samples per index (see SqliteRepository)

    def analyze(self, tables) -> None:
        """Best effort: the write it follows has committed, so a failure here (PostgreSQL refuses
        two ANALYZEs of one table at once: "tuple concurrently updated"; a busy SQLite file) is
        logged and left to the server's own analysis, never reported as the write's failure."""
        names = [t for t in dict.fromkeys(tables) if t in TABLES]
        if not names:
            return
        try:
            with self.transaction():
                if self.ANALYZE_PREFIX:
                    self._execute(self.ANALYZE_PREFIX)
                for name in names:
                    self._execute(f"ANALYZE {name}")  # one of our table names, never the caller's text
        except Exception as exc:  # noqa: BLE001 - a driver's own error (XX000) is not a StorageError
            logging.getLogger(__name__).warning("refreshing the planner's statistics of %s failed: %s", ", ".join(names), exc)

