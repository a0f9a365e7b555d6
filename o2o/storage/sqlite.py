"""The embedded backend: SQLite through sqlite-utils, in WAL mode.

One :class:`SqliteRepository` wraps one connection; a connection must stay on the thread that
opened it, so the web layer keeps one per thread. Every write runs in a transaction that also
bumps a database-wide revision number, and stamps the rows it touched with it: any process
reading the database learns what changed since its last look with one indexed query
(``index_rows(since_rev)``), which is how every worker's in-memory index stays fresh.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import sqlite3
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import sqlite_utils

from ..geo.distance import EARTH_RADIUS_M, haversine_m
from .base import STORE_FIELDS, TABLES, canonical_row

SCHEMA_VERSION_KEY = "schema_version"

# Each entry upgrades the schema by one version; never edit one that has shipped, add another.
MIGRATIONS: list[str] = [
    # 1: retailers, stores, their history, and the revision counter.
    """
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    INSERT OR IGNORE INTO meta (key, value) VALUES ('rev', '0');
    CREATE TABLE retailers (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        domains TEXT NOT NULL DEFAULT '[]',
        key_hash TEXT UNIQUE,
        created_at TEXT NOT NULL,
        revoked_at TEXT
    );
    CREATE TABLE stores (
        id INTEGER PRIMARY KEY,
        retailer_id INTEGER NOT NULL REFERENCES retailers(id),
        external_id TEXT NOT NULL,
        name TEXT NOT NULL,
        brand TEXT NOT NULL,
        category TEXT NOT NULL,
        lat REAL NOT NULL CHECK (lat BETWEEN -90 AND 90),
        lon REAL NOT NULL CHECK (lon BETWEEN -180 AND 180),
        address TEXT NOT NULL DEFAULT '',
        province TEXT,
        city TEXT,
        district TEXT,
        hours TEXT,
        phone TEXT,
        online_url TEXT,
        status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        rev INTEGER NOT NULL,
        UNIQUE (retailer_id, external_id)
    );
    CREATE INDEX stores_rev ON stores (rev);
    CREATE INDEX stores_brand_status ON stores (brand, status);
    CREATE TABLE store_history (
        id INTEGER PRIMARY KEY,
        store_id INTEGER NOT NULL REFERENCES stores(id),
        rev INTEGER NOT NULL,
        changed_at TEXT NOT NULL,
        before TEXT NOT NULL
    );
    CREATE INDEX store_history_store ON store_history (store_id);
    """,
    # 2: analysts, who read the analytics with a key of their own.
    """
    CREATE TABLE analysts (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        key_hash TEXT UNIQUE,
        created_at TEXT NOT NULL,
        revoked_at TEXT
    );
    """,
    # 3: QR scans. Times are UTC seconds since the epoch; no IP address is kept, only a salted hash.
    """
    CREATE TABLE scans (
        id INTEGER PRIMARY KEY,
        store_id INTEGER NOT NULL,
        retailer_id INTEGER NOT NULL,
        brand TEXT NOT NULL,
        category TEXT,
        lon REAL NOT NULL,
        lat REAL NOT NULL,
        province TEXT,
        city TEXT,
        scanned_at INTEGER NOT NULL,
        client_kind TEXT NOT NULL CHECK (client_kind IN ('phone', 'desktop', 'bot')),
        client_hash TEXT NOT NULL,
        counted INTEGER NOT NULL
    );
    CREATE INDEX scans_time ON scans (scanned_at);
    CREATE INDEX scans_dedup ON scans (store_id, client_hash, scanned_at);
    """,
    # 4: counted scans per store in any time window straight from one covering index, in order.
    """
    CREATE INDEX scans_store_time ON scans (store_id, counted, scanned_at);
    CREATE INDEX scans_counted_time ON scans (counted, scanned_at);
    """,
    # 5: scans_counted_time answers every time query scans_time did: one index less per scan written.
    """
    DROP INDEX IF EXISTS scans_time;
    """,
    # 6: an R*Tree of store locations, kept by triggers, for nearest-store searches in SQL.
    """
    CREATE VIRTUAL TABLE stores_rtree USING rtree (id, min_lon, max_lon, min_lat, max_lat);
    INSERT INTO stores_rtree SELECT id, lon, lon, lat, lat FROM stores;
    CREATE TRIGGER stores_rtree_insert AFTER INSERT ON stores BEGIN
        INSERT INTO stores_rtree VALUES (new.id, new.lon, new.lon, new.lat, new.lat);
    END;
    CREATE TRIGGER stores_rtree_move AFTER UPDATE OF lon, lat ON stores BEGIN
        UPDATE stores_rtree SET min_lon = new.lon, max_lon = new.lon, min_lat = new.lat, max_lat = new.lat
        WHERE id = new.id;
    END;
    CREATE TRIGGER stores_rtree_delete AFTER DELETE ON stores BEGIN
        DELETE FROM stores_rtree WHERE id = old.id;
    END;
    """,
    # 7: sessions ended by signing out, kept until they would have expired anyway.
    """
    CREATE TABLE ended_sessions (sid TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
    CREATE INDEX ended_sessions_expiry ON ended_sessions (expires_at);
    """,
]

_WRITABLE = ("external_id", "name", "brand", "category", "lat", "lon", "address", "province", "city",
             "district", "hours", "phone", "online_url", "status")

_SELECT_STORE = (
    "SELECT s.id, s.retailer_id, s.external_id, s.name, s.brand, r.name AS retailer, s.category,"
    " s.lat, s.lon, s.address, s.province, s.city, s.district, s.hours, s.phone, s.online_url,"
    " s.status, s.created_at, s.updated_at FROM stores s JOIN retailers r ON r.id = s.retailer_id"
)


def utc_now() -> str:
    """The current time as the database stores it: ISO 8601 UTC with a ``Z``, to the second."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def path_from_url(url: str) -> str:
    """``sqlite:///relative/path.db`` → ``relative/path.db``; ``sqlite:////abs.db`` → ``/abs.db``."""
    if not url.startswith("sqlite:///"):
        raise ValueError(f"not a sqlite URL: {url!r} (expected sqlite:///PATH)")
    path = url[len("sqlite:///"):]
    return path or ":memory:"


class SqliteRepository:
    """The embedded store repository."""

    def __init__(self, conn: sqlite3.Connection, path: str = ":memory:"):
        self.conn = conn
        self.path = path
        self.db = sqlite_utils.Database(conn)

    @classmethod
    def from_url(cls, url: str, timeout_s: float = 10.0) -> "SqliteRepository":
        return cls.connect(path_from_url(url), timeout_s=timeout_s)

    @classmethod
    def connect(cls, path: str, timeout_s: float = 10.0) -> "SqliteRepository":
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a transaction is exactly
        # what `transaction()` wraps and nothing else.
        conn = sqlite3.connect(path, timeout=timeout_s, isolation_level=None)
        conn.row_factory = sqlite3.Row
        if path != ":memory:":
            conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA busy_timeout={int(timeout_s * 1000)}")
        return cls(conn, path)

    def close(self) -> None:
        self.conn.close()

    # --------------------------------------------------------------------------- schema
    def schema_version(self) -> int:
        if not self.db["meta"].exists():
            return 0
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (SCHEMA_VERSION_KEY,)).fetchone()
        return int(row[0]) if row else 0

    def latest_version(self) -> int:
        return len(MIGRATIONS)

    @contextmanager
    def startup_lock(self):
        """Held while one process migrates and seeds; the others wait (a lock file beside the database)."""
        if self.path == ":memory:":
            yield
            return
        with open(self.path + ".startup.lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def migrate(self, target: int | None = None) -> int:
        """Bring the schema up to date (or to ``target``); safe to run twice and from two processes."""
        target = len(MIGRATIONS) if target is None else target
        with self.transaction():
            version = self.schema_version()
            for number, script in enumerate(MIGRATIONS[version:target], start=version + 1):
                for statement in _statements(script):
                    self.conn.execute(statement)
                self.conn.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?)"
                    " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (SCHEMA_VERSION_KEY, str(number)),
                )
            return max(version, target)

    @contextmanager
    def transaction(self):
        """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on any error: a unit of work is all or nothing."""
        if self.conn.in_transaction:
            yield self  # nested: the outer transaction decides
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    def _next_rev(self) -> int:
        row = self.conn.execute(
            "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'rev' RETURNING value"
        ).fetchone()
        return int(row[0])

    # --------------------------------------------------------------------------- changes
    def current_rev(self) -> int:
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'rev'").fetchone()
        return int(row[0]) if row else 0

    def sync_marks(self) -> tuple[int, int]:
        """(revision, revision of the last wholesale reset) in one read."""
        marks = dict(self.conn.execute("SELECT key, value FROM meta WHERE key IN ('rev', 'reset_rev')").fetchall())
        return int(marks.get("rev", 0)), int(marks.get("reset_rev", 0))

    def index_rows(self, since_rev: int = 0) -> Iterator[tuple]:
        """(id, lon, lat, brand, retailer, category, status) of stores changed after ``since_rev``."""
        cur = self.conn.execute(
            "SELECT s.id, s.lon, s.lat, s.brand, r.name, s.category, s.status"
            " FROM stores s JOIN retailers r ON r.id = s.retailer_id WHERE s.rev > ?",
            (since_rev,),
        )
        return iter(cur)

    # --------------------------------------------------------------------------- stores
    def count_stores(self, status: str | None = None) -> int:
        if status is None:
            return self.conn.execute("SELECT count(*) FROM stores").fetchone()[0]
        return self.conn.execute("SELECT count(*) FROM stores WHERE status = ?", (status,)).fetchone()[0]

    def get_store(self, store_id: int) -> dict | None:
        if not 0 < int(store_id) < 2**63:  # SQLite integers are 64-bit: anything else is no store
            return None
        row = self.conn.execute(_SELECT_STORE + " WHERE s.id = ?", (int(store_id),)).fetchone()
        return dict(row) if row else None

    def get_stores(self, store_ids: Iterable[int]) -> list[dict]:
        """Stores by id, in the order asked; unknown ids are left out."""
        ids = [int(i) for i in store_ids if 0 < int(i) < 2**63]
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = {r["id"]: dict(r) for r in self.conn.execute(_SELECT_STORE + f" WHERE s.id IN ({marks})", ids)}
        return [rows[i] for i in ids if i in rows]

    def iter_stores(self) -> Iterator[dict]:
        for row in self.conn.execute(_SELECT_STORE + " ORDER BY s.id"):
            yield dict(row)

    def brand_counts(self) -> list[tuple[str, int]]:
        """Every brand with its number of open stores (brands whose stores are all closed: 0)."""
        rows = self.conn.execute(
            "SELECT brand, sum(status = 'open') FROM stores GROUP BY brand ORDER BY brand"
        )
        return [(r[0], int(r[1])) for r in rows]

    def category_counts(self) -> list[tuple[str, int]]:
        rows = self.conn.execute(
            "SELECT category, count(*) FROM stores WHERE status = 'open' GROUP BY category ORDER BY category"
        )
        return [(r[0], int(r[1])) for r in rows]

    def city_centres(self, limit: int = 60, brand: str | None = None) -> list[dict]:
        """Cities with the most open stores (of a brand) and the mean position of those stores."""
        rows = self.conn.execute(
            "SELECT province, city, count(*) AS stores, avg(lon) AS lon, avg(lat) AS lat FROM stores"
            " WHERE status = 'open' AND city IS NOT NULL AND (?1 IS NULL OR brand = ?1)"
            " GROUP BY province, city ORDER BY stores DESC, city LIMIT ?2",
            (brand, limit),
        )
        return [dict(r) for r in rows]

    def nearest(self, lon: float, lat: float, k: int, radius_m: float | None = None,
                brands=None, retailers=None, categories=None) -> list[tuple[int, float]]:
        """(id, great-circle metres) of the k nearest open stores, from the R*Tree.

        Searches a box that holds the circle of radius r, keeps the candidates truly within r
        (exact sphere distances), and widens r fourfold until k are found or r reaches the limit.
        """
        flt, fparams = self._store_filter(brands, retailers, categories)
        join = " JOIN retailers r ON r.id = s.retailer_id" if retailers else ""
        limit = math.pi * EARTH_RADIUS_M if radius_m is None else float(radius_m)
        r = min(limit, 2000.0)
        while True:
            rows = []
            for west, east, south, north in boxes_around(lon, lat, r):
                rows += self.conn.execute(
                    "SELECT s.id, s.lon, s.lat FROM stores_rtree t JOIN stores s ON s.id = t.id" + join +
                    " WHERE t.max_lon >= ? AND t.min_lon <= ? AND t.max_lat >= ? AND t.min_lat <= ?"
                    " AND s.status = 'open'" + flt, [west, east, south, north, *fparams]).fetchall()
            if rows:
                ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
                coords = np.array([(row[1], row[2]) for row in rows], dtype=float)
                dist = haversine_m(lon, lat, coords[:, 0], coords[:, 1])
                inside = dist <= r
            else:
                inside = np.zeros(0, dtype=bool)
            if inside.sum() >= k or r >= limit:
                if not len(rows):
                    return []
                ids, dist = ids[inside], dist[inside]
                order = np.lexsort((ids, dist))[:k]
                return [(int(ids[i]), float(dist[i])) for i in order]
            r = min(limit, r * 4)

    def insert_stores(self, rows: Iterable[dict]) -> int:
        """Insert new stores in one transaction (the seed's bulk path). Returns how many."""
        now = utc_now()
        columns = [f for f in STORE_FIELDS if f not in ("id", "retailer")]
        with self.transaction():
            rev = self._next_rev()
            batch = []
            for row in rows:
                record = {c: row.get(c) for c in columns}
                record["status"] = record["status"] or "open"
                record["created_at"] = record["created_at"] or now
                record["updated_at"] = record["updated_at"] or record["created_at"]
                record["rev"] = rev
                batch.append(record)
            if batch:
                self.db["stores"].insert_all(batch, batch_size=2000)
        return len(batch)

    # --------------------------------------------------------------------------- scans
    SCAN_COLUMNS = ("store_id", "retailer_id", "brand", "category", "lon", "lat", "province", "city",
                    "scanned_at", "client_kind", "client_hash", "counted")

    def record_scan(self, store: dict, scanned_at: int, client_kind: str, client_hash: str,
                    dedup_window_s: int) -> bool:
        """Store one scan; returns whether it counts (not a bot, not a repeat within the window)."""
        # The repeat check reads outside the write lock (WAL readers never wait), so the lock is
        # held only for the one INSERT: scans from many workers queue for microseconds, not ms.
        repeat = self.conn.execute(
            "SELECT 1 FROM scans WHERE store_id = ? AND client_hash = ? AND scanned_at > ? LIMIT 1",
            (store["id"], client_hash, scanned_at - dedup_window_s)).fetchone()
        counted = client_kind != "bot" and repeat is None
        with self.transaction():
            self.conn.execute(
                f"INSERT INTO scans ({','.join(self.SCAN_COLUMNS)}) VALUES ({','.join('?' * 12)})",
                (store["id"], store["retailer_id"], store["brand"], store["category"], store["lon"],
                 store["lat"], store["province"], store["city"], scanned_at, client_kind, client_hash,
                 int(counted)))
        return counted

    def insert_scans(self, rows) -> int:
        """Bulk insert scan tuples in SCAN_COLUMNS order (the demo data)."""
        n = 0
        with self.transaction():
            cur = self.conn.executemany(
                f"INSERT INTO scans ({','.join(self.SCAN_COLUMNS)}) VALUES ({','.join('?' * 12)})", rows)
            n = cur.rowcount
        return n

    # --------------------------------------------------------------------------- analytics reads
    @staticmethod
    def _window(since: int | None, until: int | None) -> tuple[str, list]:
        sql, params = ["counted = 1"], []
        if since is not None:
            sql.append("scanned_at >= ?")
            params.append(since)
        if until is not None:
            sql.append("scanned_at < ?")
            params.append(until)
        return " AND ".join(sql), params

    @staticmethod
    def _store_filter(brands, retailers, categories) -> tuple[str, list]:
        sql, params = [], []
        for column, values in (("s.brand", brands), ("r.name", retailers), ("s.category", categories)):
            if values:
                sql.append(f"{column} IN ({','.join('?' * len(values))})")
                params += list(values)
        return (" AND " + " AND ".join(sql)) if sql else "", params

    def scans_by_place(self, since=None, until=None, brands=None, retailers=None, categories=None) -> list[tuple]:
        """(store_id, lon, lat, province, city, brand, count) of counted scans in a window.

        SQLite counts per store from the (store_id, counted, scanned_at) index, in index order;
        the store's place, brand and region come from the stores table (where it is now).
        """
        window, params = self._window(since, until)
        flt, fparams = self._store_filter(brands, retailers, categories)
        return self.conn.execute(
            "SELECT s.id, s.lon, s.lat, s.province, s.city, s.brand, c.n FROM"
            f" (SELECT store_id, count(*) AS n FROM scans WHERE {window} GROUP BY store_id) c"
            f" JOIN stores s ON s.id = c.store_id JOIN retailers r ON r.id = s.retailer_id WHERE 1 = 1{flt}",
            params + fparams).fetchall()

    def scans_by_hour(self, since=None, until=None, brands=None, retailers=None, categories=None) -> list[tuple]:
        """(hour start in UTC epoch seconds, count) of counted scans."""
        window, params = self._window(since, until)
        flt, fparams = self._store_filter(brands, retailers, categories)
        if not flt:
            return self.conn.execute(
                f"SELECT (scanned_at / 3600) * 3600 AS hour, count(*) FROM scans WHERE {window}"
                " GROUP BY hour ORDER BY hour", params).fetchall()
        window = window.replace("counted", "sc.counted").replace("scanned_at", "sc.scanned_at")
        return self.conn.execute(
            "SELECT (sc.scanned_at / 3600) * 3600 AS hour, count(*) FROM scans sc"
            " JOIN stores s ON s.id = sc.store_id JOIN retailers r ON r.id = s.retailer_id"
            f" WHERE {window}{flt} GROUP BY hour ORDER BY hour", params + fparams).fetchall()

    def scan_batches(self, batch_size: int = 500_000, after_id: int = 0) -> Iterator[list[tuple]]:
        """Every scan, in id order, as lists of tuples in SCAN_FIELDS order (keyset-paged)."""
        last = int(after_id)
        while True:
            rows = self.conn.execute(
                "SELECT id, store_id, retailer_id, brand, category, lon, lat, province, city, scanned_at,"
                " client_kind, client_hash, counted FROM scans WHERE id > ? ORDER BY id LIMIT ?",
                (last, batch_size)).fetchall()
            if not rows:
                return
            yield [tuple(r) for r in rows]
            last = rows[-1][0]

    def scan_time_range(self) -> tuple[int | None, int | None]:
        row = self.conn.execute("SELECT min(scanned_at), max(scanned_at) FROM scans WHERE counted = 1").fetchone()
        return row[0], row[1]

    def open_stores_table(self, brands=None, retailers=None, categories=None, since: str | None = None,
                          until: str | None = None) -> list[tuple]:
        """(id, lon, lat, brand, retailer, category, province, city) of open stores in a filter."""
        sql = ("SELECT s.id, s.lon, s.lat, s.brand, r.name, s.category, s.province, s.city FROM stores s"
               " JOIN retailers r ON r.id = s.retailer_id WHERE s.status = 'open'")
        params: list = []
        for column, values in (("s.brand", brands), ("r.name", retailers), ("s.category", categories)):
            if values:
                sql += f" AND {column} IN ({','.join('?' * len(values))})"
                params += list(values)
        if since:
            sql += " AND s.created_at >= ?"
            params.append(since)
        if until:
            sql += " AND s.created_at < ?"
            params.append(until)
        return self.conn.execute(sql, params).fetchall()

    def count_scans(self, counted_only: bool = False) -> int:
        sql = "SELECT count(*) FROM scans" + (" WHERE counted = 1" if counted_only else "")
        return self.conn.execute(sql).fetchone()[0]

    def delete_all_stores(self) -> None:
        """Remove every store, its history and its scans (re-seeding); retailers stay."""
        with self.transaction():
            self.conn.execute("DELETE FROM scans")
            self.conn.execute("DELETE FROM store_history")
            self.conn.execute("DELETE FROM stores")
            rev = self._next_rev()
            # Readers apply changes row by row; rows that vanished need a full reload instead.
            self.conn.execute(
                "INSERT INTO meta (key, value) VALUES ('reset_rev', ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value", (str(rev),))

    def find_store_ids(self, retailer_id: int, external_ids: Iterable[str]) -> dict[str, int]:
        """external_id → store id for those of a retailer's codes that exist."""
        codes = list(dict.fromkeys(external_ids))
        out: dict[str, int] = {}
        for start in range(0, len(codes), 500):
            chunk = codes[start:start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(
                f"SELECT external_id, id FROM stores WHERE retailer_id = ? AND external_id IN ({marks})",
                [retailer_id, *chunk])
            out.update({r[0]: r[1] for r in rows})
        return out

    def stores_of_retailer(self, retailer_id: int) -> list[dict]:
        return [dict(r) for r in self.conn.execute(_SELECT_STORE + " WHERE s.retailer_id = ? ORDER BY s.id",
                                                   (retailer_id,))]

    def insert_store(self, record: dict) -> int:
        """Insert one store (a dict of writable fields plus retailer_id); returns its id."""
        with self.transaction():
            rev = self._next_rev()
            now = utc_now()
            row = {f: record.get(f) for f in _WRITABLE}
            row.update(retailer_id=record["retailer_id"], created_at=now, updated_at=now, rev=rev,
                       status=record.get("status") or "open")
            cols = ",".join(row)
            cur = self.conn.execute(f"INSERT INTO stores ({cols}) VALUES ({','.join('?' * len(row))})",
                                    list(row.values()))
            return int(cur.lastrowid)

    def update_store(self, store_id: int, changes: dict) -> dict | None:
        """Change some fields of a store, keeping the old values in its history. Returns the store."""
        changes = {k: v for k, v in changes.items() if k in _WRITABLE}
        with self.transaction():
            before = self.conn.execute("SELECT * FROM stores WHERE id = ?", (store_id,)).fetchone()
            if before is None:
                return None
            if any(dict(before).get(k) != v for k, v in changes.items()):
                self._apply_changes(store_id, dict(before), changes, self._next_rev(), utc_now())
        return self.get_store(store_id)

    def _apply_changes(self, store_id: int, before: dict, changes: dict, rev: int, now: str) -> bool:
        """Within a transaction: keep the old values in the history, then update. False if nothing changed."""
        changed = {k: v for k, v in changes.items() if k in _WRITABLE and before.get(k) != v}
        if not changed:
            return False
        self.conn.execute(
            "INSERT INTO store_history (store_id, rev, changed_at, before) VALUES (?, ?, ?, ?)",
            (store_id, rev, now, json.dumps({k: before[k] for k in changed}, ensure_ascii=False)))
        sets = ", ".join(f"{k} = ?" for k in changed)
        self.conn.execute(f"UPDATE stores SET {sets}, updated_at = ?, rev = ? WHERE id = ?",
                          [*changed.values(), now, rev, store_id])
        return True

    def store_history(self, store_id: int) -> list[dict]:
        rows = self.conn.execute("SELECT rev, changed_at, before FROM store_history WHERE store_id = ?"
                                 " ORDER BY id", (store_id,))
        return [{"rev": r[0], "changed_at": r[1], "before": json.loads(r[2])} for r in rows]

    def bulk_upsert(self, retailer_id: int, inserts: list[dict], updates: list[tuple[int, dict]]) -> None:
        """Insert and update many stores in one transaction (an import): all or nothing."""
        now = utc_now()
        with self.transaction():
            rev = self._next_rev()
            if inserts:
                cols = [*_WRITABLE, "retailer_id", "created_at", "updated_at", "rev"]
                sql = f"INSERT INTO stores ({','.join(cols)}) VALUES ({','.join('?' * len(cols))})"
                self.conn.executemany(sql, (
                    [*(r.get(f) if f != "status" else (r.get(f) or "open") for f in _WRITABLE),
                     retailer_id, now, now, rev] for r in inserts))
            for store_id, changes in updates:
                before = dict(self.conn.execute("SELECT * FROM stores WHERE id = ?", (store_id,)).fetchone())
                self._apply_changes(store_id, before, changes, rev, now)

    def stores_by_ids_raw(self, store_ids: list[int]) -> dict[int, dict]:
        out = {}
        for start in range(0, len(store_ids), 500):
            chunk = store_ids[start:start + 500]
            rows = self.conn.execute(f"SELECT * FROM stores WHERE id IN ({','.join('?' * len(chunk))})", chunk)
            out.update({r["id"]: dict(r) for r in rows})
        return out

    # --------------------------------------------------------------------------- sessions
    def end_session(self, sid: str, expires_at: int) -> None:
        """Remember a signed-out session until ``expires_at`` (epoch s); forget expired ones."""
        with self.transaction():
            self.conn.execute("DELETE FROM ended_sessions WHERE expires_at < strftime('%s', 'now')")
            self.conn.execute("INSERT OR IGNORE INTO ended_sessions (sid, expires_at) VALUES (?, ?)",
                              (sid, int(expires_at)))

    def session_ended(self, sid: str) -> bool:
        return self.conn.execute("SELECT 1 FROM ended_sessions WHERE sid = ?", (sid,)).fetchone() is not None

    def ended_sessions(self) -> list[tuple[str, int]]:
        """(sid, expires_at) of every ended session still remembered (moved by migrate-data)."""
        return [tuple(r) for r in self.conn.execute("SELECT sid, expires_at FROM ended_sessions ORDER BY sid")]

    # --------------------------------------------------------------------------- whole tables
    def dump_table(self, table: str, batch_size: int = 50_000) -> Iterator[list[tuple]]:
        """Every row of a table in id order, canonical (see :func:`canonical_row`), in pages."""
        columns = ", ".join(TABLES[table])
        last = 0
        while True:
            rows = self.conn.execute(f"SELECT {columns} FROM {table} WHERE id > ? ORDER BY id LIMIT ?",
                                     (last, batch_size)).fetchall()
            if not rows:
                return
            yield [canonical_row(table, r) for r in rows]
            last = rows[-1][0]

    def load_table(self, table: str, rows: list[tuple]) -> int:
        """Insert canonical rows, ids kept (a migration; the caller holds the transaction)."""
        columns = TABLES[table]
        with self.transaction():
            self.conn.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", rows)
        return len(rows)

    def finish_load(self, rev: int, reset_rev: int) -> None:
        with self.transaction():
            for key, value in (("rev", rev), ("reset_rev", reset_rev)):
                self.conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)"
                                  " ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, str(value)))

    # --------------------------------------------------------------------------- retailers
    def create_retailer(self, name: str, domains: list[str], key_hash: str | None = None) -> int:
        with self.transaction():
            cur = self.conn.execute(
                "INSERT INTO retailers (name, domains, key_hash, created_at) VALUES (?, ?, ?, ?)",
                (name, json.dumps(sorted(set(domains))), key_hash, utc_now()),
            )
            return int(cur.lastrowid)

    def set_key_hash(self, table: str, principal_id: int, key_hash: str | None) -> bool:
        """Store a new key hash (rotation), or None with revoked_at set (revocation)."""
        if table not in ("retailers", "analysts"):
            raise ValueError(table)
        with self.transaction():
            cur = self.conn.execute(
                f"UPDATE {table} SET key_hash = ?, revoked_at = ? WHERE id = ?",
                (key_hash, None if key_hash else utc_now(), principal_id))
            return cur.rowcount == 1

    def principal_by_id(self, table: str, principal_id: int) -> dict | None:
        if table not in ("retailers", "analysts"):
            raise ValueError(table)
        if not 0 < int(principal_id) < 2**63:
            return None
        row = self.conn.execute(f"SELECT * FROM {table} WHERE id = ?", (int(principal_id),)).fetchone()
        if row is None:
            return None
        return _retailer(row) if table == "retailers" else dict(row)

    def create_analyst(self, name: str, key_hash: str) -> int:
        with self.transaction():
            cur = self.conn.execute("INSERT INTO analysts (name, key_hash, created_at) VALUES (?, ?, ?)",
                                    (name, key_hash, utc_now()))
            return int(cur.lastrowid)

    def set_retailer_domains(self, retailer_id: int, domains: list[str]) -> None:
        with self.transaction():
            self.conn.execute("UPDATE retailers SET domains = ? WHERE id = ?",
                              (json.dumps(sorted(set(domains))), retailer_id))

    def get_retailer(self, retailer_id: int) -> dict | None:
        return self.principal_by_id("retailers", retailer_id)

    def list_retailers(self) -> list[dict]:
        return [_retailer(r) for r in self.conn.execute("SELECT * FROM retailers ORDER BY id")]


def _retailer(row) -> dict | None:
    if row is None:
        return None
    out = dict(row)
    out["domains"] = json.loads(out["domains"])
    return out


def _statements(script: str) -> list[str]:
    """Split a script into statements, keeping a trigger's BEGIN … END body whole."""
    out, buf = [], ""
    for part in script.split(";"):
        buf += part + ";"
        if sqlite3.complete_statement(buf):
            if buf.strip(" \n;"):
                out.append(buf.strip())
            buf = ""
    if buf.strip(" \n;"):
        out.append(buf.strip())
    return out


def boxes_around(lon: float, lat: float, radius_m: float) -> list[tuple[float, float, float, float]]:
    """Lon/lat boxes ``(west, east, south, north)`` that together hold every point within
    ``radius_m`` great-circle metres of (lon, lat): split at the antimeridian, widened to every
    longitude when the circle reaches a pole."""
    ang = radius_m / EARTH_RADIUS_M
    if ang >= math.pi:
        return [(-180.0, 180.0, -90.0, 90.0)]
    dlat = math.degrees(ang)
    south, north = lat - dlat, lat + dlat
    if south <= -90 or north >= 90:
        return [(-180.0, 180.0, max(south, -90.0), min(north, 90.0))]
    dlon = math.degrees(math.asin(min(1.0, math.sin(ang) / math.cos(math.radians(lat)))))
    west, east = lon - dlon, lon + dlon
    if dlon >= 180:
        return [(-180.0, 180.0, south, north)]
    if west < -180:
        return [(west + 360, 180.0, south, north), (-180.0, east, south, north)]
    if east > 180:
        return [(west, 180.0, south, north), (-180.0, east - 360, south, north)]
    return [(west, east, south, north)]


def default_path() -> str:
    return os.path.join("instance", "o2o.db")
