"""The embedded backend: SQLite in WAL mode (the shared SQL is in :mod:`.core`).

One :class:`SqliteRepository` wraps one connection; a connection must stay on the thread that
opened it, so the web layer keeps one per thread. Every write runs in a transaction that also
bumps a database-wide revision number, and stamps the rows it touched with it: any process
reading the database learns what changed since its last look with one indexed query
(``index_rows(since_rev)``), which is how every worker's in-memory index stays fresh.
"""

from __future__ import annotations

import fcntl
import math
import os
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..geo.distance import EARTH_RADIUS_M, haversine_m
from .core import SCHEMA_VERSION_KEY, Dialect, SqlRepository, raise_named, utc_now  # noqa: F401
from .errors import Conflict, StorageFull, Unavailable, health
from .watch import MARK_KEYS, POLL_S, ChangeFeed

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
    CREATE TABLE store_history (id INTEGER PRIMARY KEY, store_id INTEGER NOT NULL REFERENCES stores(id),
                                rev INTEGER NOT NULL, changed_at TEXT NOT NULL, before TEXT NOT NULL);
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
    # 8: festival hours, dated exceptions to the daily hours (o2o.geo.hours.normalise_special).
    """
    ALTER TABLE stores ADD COLUMN special_hours TEXT;
    """,
    # 9: staff accounts (o2o.services.people): people with a role, their one-time set-up links,
    # named API keys, failed sign-ins; and who made each change to a store.
    """
    CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE,
                        retailer_id INTEGER REFERENCES retailers(id), analyst_id INTEGER REFERENCES analysts(id),
                        role TEXT NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')), password_hash TEXT,
                        created_at TEXT NOT NULL, last_sign_in_at TEXT, disabled_at TEXT,
                        CHECK ((retailer_id IS NULL) <> (analyst_id IS NULL)));
    CREATE INDEX users_retailer ON users (retailer_id);
    CREATE INDEX users_analyst ON users (analyst_id);
    CREATE TABLE setup_tokens (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id),
                               token_hash TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL,
                               valid_until INTEGER NOT NULL, used_at TEXT);
    CREATE TABLE api_keys (id INTEGER PRIMARY KEY, retailer_id INTEGER REFERENCES retailers(id),
                           analyst_id INTEGER REFERENCES analysts(id), name TEXT NOT NULL,
                           role TEXT NOT NULL CHECK (role IN ('editor', 'viewer')), key_hash TEXT NOT NULL UNIQUE,
                           created_at TEXT NOT NULL, created_by TEXT, last_used_at TEXT, revoked_at TEXT,
                           CHECK ((retailer_id IS NULL) <> (analyst_id IS NULL)));
    CREATE INDEX api_keys_retailer ON api_keys (retailer_id); CREATE INDEX api_keys_analyst ON api_keys (analyst_id);
    CREATE TABLE sign_in_failures (key TEXT PRIMARY KEY, failures INTEGER NOT NULL, window_start INTEGER NOT NULL,
                                   locked_until INTEGER NOT NULL DEFAULT 0);
    ALTER TABLE stores ADD COLUMN created_by TEXT;
    ALTER TABLE store_history ADD COLUMN actor TEXT; ALTER TABLE store_history ADD COLUMN after TEXT;
    """,
    # 10: products per retailer and their stock in stores (o2o.storage.products).
    """
    CREATE TABLE products (
        id INTEGER PRIMARY KEY,
        retailer_id INTEGER NOT NULL REFERENCES retailers(id),
        sku TEXT NOT NULL,
        title TEXT NOT NULL,
        brand TEXT NOT NULL,
        category TEXT,
        price REAL,
        online_url TEXT,
        gtin TEXT,
        image_url TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (retailer_id, sku)
    );
    CREATE TABLE stock (
        id INTEGER PRIMARY KEY,
        store_id INTEGER NOT NULL REFERENCES stores(id),
        product_id INTEGER NOT NULL REFERENCES products(id),
        availability TEXT NOT NULL CHECK (availability IN ('in_stock', 'limited', 'out_of_stock')),
        quantity INTEGER,
        price REAL,
        updated_at TEXT NOT NULL,
        UNIQUE (store_id, product_id)
    );
    CREATE INDEX stock_product ON stock (product_id, availability);
    """,
    # 11: which product a scan was for (/go/{store}?product={id}).
    """
    CREATE TABLE product_scans (id INTEGER PRIMARY KEY, scan_id INTEGER NOT NULL UNIQUE,
                                product_id INTEGER NOT NULL REFERENCES products(id));
    CREATE INDEX product_scans_product ON product_scans (product_id);
    """,
    # 12: shoppers' searches, kept privately (o2o.storage.demand): no address, browser or point.
    """
    CREATE TABLE searches (id INTEGER PRIMARY KEY, searched_at INTEGER NOT NULL, h3 INTEGER, kind TEXT NOT NULL,
                           words TEXT, brand TEXT, category TEXT, product_id INTEGER, filters TEXT,
                           results INTEGER NOT NULL, nearest_m REAL);
    CREATE INDEX searches_time ON searches (searched_at);
    """,
    # 13: the ids of scans replayed from a process's spool (kept while the database was away):
    # a scan replayed twice is stored once (o2o.services.spool).
    """
    CREATE TABLE spooled_scans (spool_id TEXT PRIMARY KEY);
    """,
    # 14: searches by cell with their nearest match, in order: demand at any resolution is one pass
    # over this covering index, no sort (o2o.storage.demand).
    """
    CREATE INDEX searches_cell ON searches (h3, nearest_m);
    """,
]

DIALECT = Dialect(
    name="sqlite", param="?", iso="{}", epoch="{}", from_epoch="?", as_int="{}", true="1",
    hour="({} / 3600) * 3600", text_order="",
    has_meta="SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
    for_update="", max_in=10_000)


def path_from_url(url: str) -> str:
    """``sqlite:///relative/path.db`` → ``relative/path.db``; ``sqlite:////abs.db`` → ``/abs.db``."""
    if not url.startswith("sqlite:///"):
        raise ValueError(f"not a sqlite URL: {url!r} (expected sqlite:///PATH)")
    path = url[len("sqlite:///"):]
    return path or ":memory:"


def named_error(exc: sqlite3.Error) -> Exception | None:
    """What a SQLite error means for the storage layer, or None (a defect: left as it is)."""
    text = str(exc)
    if isinstance(exc, sqlite3.IntegrityError) and text.startswith("UNIQUE constraint failed:"):
        qualified = [c.strip().split(".", 1) for c in text.split(":", 1)[1].split(",")]
        return Conflict(qualified[0][0], tuple(c[-1] for c in qualified))
    code = getattr(exc, "sqlite_errorcode", None)
    if code == sqlite3.SQLITE_FULL or "database or disk is full" in text:
        return StorageFull("the database's disk is full: nothing was written")
    if isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text):
        return Unavailable(text)
    return None


class SqliteRepository(SqlRepository):
    """The embedded store repository."""

    # ANALYZE reads at most about this many rows of each index (an estimate, as PostgreSQL samples):
    # a whole pass over a 30-million-line stock table would take a minute.
    ANALYZE_PREFIX = "PRAGMA analysis_limit = 2000"

    dialect = DIALECT
    MIGRATIONS = MIGRATIONS

    def __init__(self, conn: sqlite3.Connection, path: str = ":memory:"):
        self.conn = conn
        self.path = path

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
        if path != ":memory:":
            conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA busy_timeout={int(timeout_s * 1000)}")
        return cls(conn, path)

    def close(self) -> None:
        self.conn.close()

    # --------------------------------------------------------------------------- primitives
    def _query(self, sql: str, params=(), one: bool = False, dicts: bool = False):
        try:
            cur = self.conn.execute(sql, params)
            rows = [cur.fetchone()] if one else cur.fetchall()
        except sqlite3.Error as exc:
            raise_named(exc, named_error(exc))
        if dicts:
            names = [d[0] for d in cur.description]
            rows = [None if r is None else dict(zip(names, r)) for r in rows]
        return rows[0] if one else rows

    def _execute(self, sql: str, params=()):
        try:
            return self.conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise_named(exc, named_error(exc))

    def _executemany(self, sql: str, rows) -> None:
        try:
            self.conn.executemany(sql, rows)
        except sqlite3.Error as exc:
            raise_named(exc, named_error(exc))

    def _insert_many(self, table: str, columns: tuple[str, ...], rows) -> int:
        count = [0]

        def counted():
            for row in rows:
                count[0] += 1
                yield row

        self._executemany(f"INSERT INTO {table} ({','.join(columns)}) VALUES ({','.join('?' * len(columns))})",
                          counted())
        return count[0]

    def _run_script(self, script: str) -> None:
        for statement in _statements(script):
            self._execute(statement)

    @contextmanager
    def transaction(self):
        """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on any error: a unit of work is all or nothing.

        SQLite rolls a transaction back itself on some errors (a full disk): then there is
        nothing left to roll back, and the error that caused it is the one raised."""
        if self.conn.in_transaction:
            yield self  # nested: the outer transaction decides
            return
        self._execute("BEGIN IMMEDIATE")
        try:
            yield self
            self._execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:
                try:
                    self.conn.execute("ROLLBACK")
                except sqlite3.Error:  # pragma: no cover - never hide the error that got us here
                    pass
            raise
        self._committed()

    def watch_changes(self, feed: ChangeFeed) -> "DataVersionWatcher | None":
        """Start this process's watcher thread for ``feed`` (see :class:`DataVersionWatcher`)."""
        if self.path == ":memory:":
            return None
        watcher = DataVersionWatcher(self.path, feed)
        watcher.start()
        return watcher

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

    def storage_full(self) -> bool:
        """Also true when the file has reached its page limit or its disk has under 1 MB left."""
        if health.full:
            return True
        pages, limit, free = (self._query(f"PRAGMA {p}", one=True)[0]
                              for p in ("page_count", "max_page_count", "freelist_count"))
        if pages >= limit and free == 0:
            return True
        if self.path == ":memory:":
            return False
        disk = os.statvfs(os.path.dirname(os.path.abspath(self.path)))
        return disk.f_bavail * disk.f_frsize < 1 << 20

    # --------------------------------------------------------------------------- k-nearest (R*Tree)
    def nearest(self, lon: float, lat: float, k: int, radius_m: float | None = None,
                brands=None, retailers=None, categories=None) -> list[tuple[int, float]]:
        """(id, great-circle metres) of the k nearest open stores, from the R*Tree.

        Searches a box that holds the circle of radius r, keeps the candidates truly within r
        (exact sphere distances), and widens r fourfold until k are found or r reaches the limit.
        """
        flt, fparams = self._filters(brands, retailers, categories)
        join = " JOIN retailers r ON r.id = s.retailer_id" if retailers else ""
        limit = math.pi * EARTH_RADIUS_M if radius_m is None else float(radius_m)
        r = min(limit, 2000.0)
        while True:
            rows = []
            for west, east, south, north in boxes_around(lon, lat, r):
                rows += self._query(
                    "SELECT s.id, s.lon, s.lat FROM stores_rtree t JOIN stores s ON s.id = t.id" + join +
                    " WHERE t.max_lon >= ? AND t.min_lon <= ? AND t.max_lat >= ? AND t.min_lat <= ?"
                    " AND s.status = 'open'" + flt, [west, east, south, north, *fparams])
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


class DataVersionWatcher(threading.Thread):
    """A process's watcher of a SQLite file: every :data:`~.watch.POLL_S` it reads ``PRAGMA
    data_version`` on a connection of its own (which changes when any other connection commits,
    in this process or another); when it changed, it reads the revision marks, and moves the feed
    if they moved (most commits are scans, which leave them alone). See :mod:`.watch`."""

    QUERY = f"SELECT key, value FROM meta WHERE key IN ({','.join('?' * len(MARK_KEYS))}) ORDER BY key"

    def __init__(self, path: str, feed: ChangeFeed, poll_s: float = POLL_S):
        super().__init__(name="o2o-data-version", daemon=True)
        import weakref

        self.path, self.poll_s = path, poll_s
        self._feed = weakref.ref(feed)  # an app that is gone (a test's) takes its watcher with it
        self.stopping = threading.Event()

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        conn, version, marks = None, None, None
        while not self.stopping.is_set():
            feed = self._feed()
            if feed is None or not os.path.exists(self.path):
                break
            try:
                if conn is None:
                    conn = sqlite3.connect(self.path, timeout=1.0, isolation_level=None, check_same_thread=False)
                now = conn.execute("PRAGMA data_version").fetchone()[0]
                if now != version:
                    seen = conn.execute(self.QUERY, MARK_KEYS).fetchall()
                    if seen != marks:
                        feed.signal()
                    version, marks = now, seen
                    if not feed.connected:
                        feed.listening()  # whatever was read before the watch began is read again
            except sqlite3.Error:
                feed.lost()
                if conn is not None:
                    conn.close()
                conn, version, marks = None, None, None
            del feed
            self.stopping.wait(self.poll_s)
        feed = self._feed()
        if feed is not None:
            feed.lost()
        if conn is not None:
            conn.close()
