"""The repository interface every storage backend implements.

Services take a repository and plain values; they never see SQL or a connection. Stores travel
as plain dicts with the contract's field names (:data:`STORE_FIELDS`).
"""

from __future__ import annotations

import json
from typing import ContextManager, Iterable, Iterator, Protocol

from .rows import EndedSession, HourCount, IndexRow, NameCount, OpenStore, PlaceCount, ProductPlaceCount, TimeRange

# The contract's store fields, in the order exports list them.
STORE_FIELDS = (
    "id", "retailer_id", "external_id", "name", "brand", "retailer", "category", "lat", "lon",
    "address", "province", "city", "district", "hours", "special_hours", "phone", "online_url", "status",
    "created_at", "updated_at",
)

# Every scan as the repository hands it out in bulk (exports, the scan lake, migrations):
# ``scanned_at`` is UTC seconds since the epoch, ``counted`` 0 or 1.
SCAN_FIELDS = ("id", "store_id", "retailer_id", "brand", "category", "lon", "lat", "province", "city",
               "scanned_at", "client_kind", "client_hash", "counted")

# Every table as a migration copies it, parents first: columns in order, ``id`` first.
TABLES: dict[str, tuple[str, ...]] = {
    "retailers": ("id", "name", "domains", "key_hash", "created_at", "revoked_at"),
    "analysts": ("id", "name", "key_hash", "created_at", "revoked_at"),
    "stores": ("id", "retailer_id", "external_id", "name", "brand", "category", "lat", "lon", "address",
               "province", "city", "district", "hours", "special_hours", "phone", "online_url", "status",
               "created_at", "updated_at", "rev", "created_by"),
    "store_history": ("id", "store_id", "rev", "changed_at", "before", "actor", "after"),
    "scans": SCAN_FIELDS,
    "users": ("id", "email", "retailer_id", "analyst_id", "role", "password_hash", "created_at", "last_sign_in_at",
              "disabled_at"),
    "setup_tokens": ("id", "user_id", "token_hash", "created_at", "valid_until", "used_at"),
    "api_keys": ("id", "retailer_id", "analyst_id", "name", "role", "key_hash", "created_at", "created_by",
                 "last_used_at", "revoked_at"),
    "products": ("id", "retailer_id", "sku", "title", "brand", "category", "price", "online_url", "gtin", "image_url",
                 "created_at", "updated_at"),
    "stock": ("id", "store_id", "product_id", "availability", "quantity", "price", "updated_at"),
    "product_scans": ("id", "scan_id", "product_id"),
    "searches": ("id", "searched_at", "h3", "kind", "words", "brand", "category", "product_id", "filters", "results",
                 "nearest_m"),
}
_JSON_COLUMNS = {("retailers", 2), ("store_history", 4), ("store_history", 6)}


def canonical_row(table: str, row) -> tuple:
    """A row as both backends hand it out: JSON as sorted, compact text; everything else as is.

    Times are already ISO 8601 UTC strings (scans: epoch seconds), ``counted`` 0 or 1."""
    if table not in ("retailers", "store_history"):
        return tuple(row)
    out = list(row)
    for t, i in _JSON_COLUMNS:
        if t == table and out[i] is not None:
            value = json.loads(out[i]) if isinstance(out[i], str) else out[i]
            out[i] = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return tuple(out)


# What the in-memory index needs of each store.
INDEX_FIELDS = ("id", "lon", "lat", "brand", "retailer", "category", "status")


class Schema(Protocol):
    """Creating and upgrading the schema, and the transaction every write runs in."""

    def migrate(self, target: int | None = None) -> int:
        """Bring the schema up to date (or to version ``target``); returns the version reached.
        Safe to run twice and from two processes at once."""

    def schema_version(self) -> int:
        """The schema version of the database (0: empty)."""

    def latest_version(self) -> int:
        """The newest schema version this code knows."""

    def startup_lock(self) -> ContextManager[None]:
        """Held while one process migrates and seeds; other processes wait for it."""

    def transaction(self) -> ContextManager["StoreRepository"]:
        """One unit of work: everything inside commits together, or nothing does.

        Nested calls join the outer transaction. A unique-key clash raises
        :class:`~o2o.storage.errors.Conflict`, a full disk :class:`~o2o.storage.errors.StorageFull`,
        a busy or unreachable database :class:`~o2o.storage.errors.Unavailable`; the original error
        is never hidden by a failed rollback."""

    def close(self) -> None:
        """Give back the connection(s); the repository is not used again."""

    def storage_full(self) -> bool:
        """Whether writes fail for want of space: this process saw one fail so and none succeed
        since (:data:`~o2o.storage.errors.health`), or (SQLite) the file cannot grow."""

    def analyze(self, tables: Iterable[str]) -> None:
        """Refresh the query planner's statistics of ``tables`` after a bulk write (seeding, an
        import of thousands of rows), so the next queries are planned for the data there is now
        rather than waiting for the server's own background analysis. Call it outside a transaction."""


class Changes(Protocol):
    """Change tracking: every store write bumps one database-wide revision."""

    def current_rev(self) -> int:
        """The revision of the last committed store write."""

    def sync_marks(self) -> tuple[int, int]:
        """``(revision, revision of the last wholesale reset)`` in one read."""

    def index_rows(self, since_rev: int = 0) -> Iterator[IndexRow]:
        """The stores (open or closed) written after revision ``since_rev``."""


class StoreReads(Protocol):
    """Reading stores (dicts with :data:`STORE_FIELDS`)."""

    def count_stores(self, status: str | None = None) -> int:
        """How many stores, or how many with ``status``."""

    def get_store(self, store_id: int) -> dict | None:
        """One store, or None (also for ids out of range)."""

    def get_stores(self, store_ids: Iterable[int]) -> list[dict]:
        """Stores by id in the order asked; unknown ids are left out."""

    def stores_by_ids_raw(self, store_ids: list[int]) -> dict[int, dict]:
        """Rows of the stores table itself (``rev`` included, no retailer name) by id."""

    def iter_stores(self) -> Iterator[dict]:
        """Every store in id order, a page at a time."""

    def stores_of_retailer(self, retailer_id: int) -> list[dict]:
        """A retailer's stores, open and closed, in id order."""

    def find_store_ids(self, retailer_id: int, external_ids: Iterable[str]) -> dict[str, int]:
        """``external_id → id`` for those of a retailer's store codes that exist."""

    def brand_counts(self) -> list[NameCount]:
        """Every brand with its number of open stores (0 when all are closed), by name."""

    def category_counts(self) -> list[NameCount]:
        """Every category with open stores and their number, by name."""

    def city_centres(self, limit: int = 60, brand: str | None = None) -> list[dict]:
        """Cities with the most open stores (of ``brand``): province, city, stores, mean lon/lat."""

    def nearest(self, lon: float, lat: float, k: int, radius_m: float | None = None,
                brands=None, retailers=None, categories=None) -> list[tuple[int, float]]:
        """``(id, great-circle metres)`` of the ``k`` nearest open stores in the filters, ties by id."""

    def store_history(self, store_id: int) -> list[dict]:
        """A store's changes, oldest first: ``{"rev", "changed_at", "before", "after", "actor"}`` (the
        values before and after, who made it; ``after`` and ``actor`` None for changes recorded before
        actors were)."""

    def store_creator(self, store_id: int) -> str | None:
        """Who registered a store (``actor`` of :meth:`StoreWrites.insert_store`), or None."""


class StoreWrites(Protocol):
    """Writing stores; each call is its own transaction unless inside :meth:`Schema.transaction`."""

    def insert_stores(self, rows: Iterable[dict]) -> int:
        """Insert new stores in bulk (the seed) under one new revision; returns how many."""

    def insert_store(self, record: dict, actor: str | None = None) -> int:
        """Insert one store (writable fields and ``retailer_id``), registered by ``actor`` (a person's
        e-mail or a key's name); returns its id."""

    def update_store(self, store_id: int, changes: dict, actor: str | None = None) -> dict | None:
        """Change writable fields, keeping the old and new values and ``actor`` in the history; the
        store, or None. Nothing changed: no new revision."""

    def bulk_upsert(self, retailer_id: int, inserts: list[dict], updates: list[tuple[int, dict]],
                    actor: str | None = None) -> None:
        """An import by ``actor``: insert and update many stores under one revision, all or nothing."""

    def delete_all_stores(self) -> None:
        """Remove every store, its history and its scans (re-seeding); retailers stay."""


class Scans(Protocol):
    """QR scans and the analytics reads over them."""

    def record_scan(self, store: dict, scanned_at: int, client_kind: str, client_hash: str,
                    dedup_window_s: int) -> bool | None:
        """Store one scan of ``store`` (its ``id``; place, brand and retailer as stored now); whether
        it counts (not a bot, not the same client within the window). None, and nothing stored,
        when the store is not (or no longer) open: decided in the same write."""

    def insert_scans(self, rows) -> int:
        """Insert scan tuples (:data:`SCAN_FIELDS` without ``id``) in bulk; returns how many."""

    def count_scans(self, counted_only: bool = False) -> int:
        """How many scans (only the counted ones)."""

    def scans_by_place(self, since=None, until=None, brands=None, retailers=None,
                       categories=None) -> list[PlaceCount]:
        """Counted scans per store in ``[since, until)`` (epoch s), the store's place as it is now."""

    def scans_by_hour(self, since=None, until=None, brands=None, retailers=None,
                      categories=None) -> list[HourCount]:
        """Counted scans per UTC hour in ``[since, until)``, hours in order, empty hours left out."""

    def scan_time_range(self) -> TimeRange:
        """First and last counted scan."""

    def scan_batches(self, batch_size: int = 500_000, after_id: int = 0) -> Iterator[list[tuple]]:
        """Every scan after ``after_id`` in id order, as lists of :data:`SCAN_FIELDS` tuples."""

    def open_stores_table(self, brands=None, retailers=None, categories=None, since: str | None = None,
                          until: str | None = None) -> list[OpenStore]:
        """Open stores in the filters, created in ``[since, until)`` (ISO UTC) when given."""


class TableCopy(Protocol):
    """Whole tables, for moving a database between backends (canonical rows, id order)."""

    def dump_table(self, table: str, batch_size: int = 50_000) -> Iterator[list[tuple]]:
        """Every row of ``table`` (a key of :data:`TABLES`) in id order, canonical, in pages."""

    def load_table(self, table: str, rows: list[tuple]) -> int:
        """Insert canonical rows with their ids; returns how many."""

    def finish_load(self, rev: int, reset_rev: int) -> None:
        """After loading: set the revision marks and let new ids follow the loaded ones."""


class Sessions(Protocol):
    """Web sessions ended before their time (signing out)."""

    def end_session(self, sid: str, expires_at: int) -> None:
        """Remember a signed-out session until ``expires_at`` (epoch s); forget expired ones."""

    def session_ended(self, sid: str) -> bool:
        """Whether the session was signed out."""

    def ended_sessions(self) -> list[EndedSession]:
        """Every ended session still remembered, by sid."""


class Principals(Protocol):
    """Retailers and analysts, and the hashes of their keys."""

    def create_retailer(self, name: str, domains: list[str], key_hash: str | None = None) -> int:
        """A new retailer (names are unique: :class:`~o2o.storage.errors.Conflict`); its id."""

    def get_retailer(self, retailer_id: int) -> dict | None:
        """A retailer: id, name, domains (a sorted list), key_hash, created_at, revoked_at."""

    def list_retailers(self) -> list[dict]:
        """Every retailer in id order."""

    def set_retailer_domains(self, retailer_id: int, domains: list[str]) -> None:
        """Replace a retailer's domains."""

    def create_analyst(self, name: str, key_hash: str) -> int:
        """A new analyst; its id."""

    def principal_by_id(self, table: str, principal_id: int) -> dict | None:
        """A retailer or analyst (``table``: ``retailers`` or ``analysts``) by id, or None."""

    def set_key_hash(self, table: str, principal_id: int, key_hash: str | None) -> bool:
        """Store a new key hash (rotation) or None with ``revoked_at`` set (revocation);
        whether the principal exists."""


class People(Protocol):
    """Staff accounts (people with a role in a retailer or an analysts' organisation), their one-time
    set-up links, named API keys, and failed sign-ins (:mod:`o2o.services.people`). A person or key
    belongs to exactly one of ``retailer_id`` and ``analyst_id``; the other is None."""

    def list_analysts(self) -> list[dict]:
        """Every analysts' organisation in id order: id, name, key_hash, created_at, revoked_at."""

    def create_user(self, email: str, role: str, retailer_id: int | None, analyst_id: int | None) -> int:
        """A new person without a password (e-mails are unique: :class:`~o2o.storage.errors.Conflict`)."""

    def get_user(self, user_id: int) -> dict | None:
        """A person: id, email, retailer_id, analyst_id, role, password_hash, created_at,
        last_sign_in_at, disabled_at (ISO UTC or None)."""

    def user_by_email(self, email: str) -> dict | None:
        """The person with this (lower-case) e-mail, or None."""

    def users_of(self, retailer_id: int | None = None, analyst_id: int | None = None) -> list[dict]:
        """An organisation's people in id order."""

    def update_user(self, user_id: int, changes: dict) -> bool:
        """Set some of role, password_hash, last_sign_in_at, disabled_at; whether the person exists."""

    def add_setup_token(self, user_id: int, token_hash: str, valid_until: int) -> int:
        """A set-up link's hash, valid until ``valid_until`` (epoch s); its id."""

    def setup_token(self, token_hash: str) -> dict | None:
        """id, user_id, token_hash, created_at, valid_until (epoch s), used_at (ISO or None)."""

    def use_setup_token(self, token_id: int) -> bool:
        """Mark a link used; False if it was used already (so only one of two racing uses wins)."""

    def create_api_key(self, retailer_id: int | None, analyst_id: int | None, name: str, role: str,
                       key_hash: str, created_by: str | None) -> int:
        """A named API key (its hash); its id."""

    def set_api_key_hash(self, key_id: int, key_hash: str) -> None:
        """Replace a key's hash (the key is made once its id is known)."""

    def api_key(self, key_id: int) -> dict | None:
        """id, retailer_id, analyst_id, name, role, key_hash, created_at, created_by, last_used_at,
        revoked_at."""

    def api_keys_of(self, retailer_id: int | None = None, analyst_id: int | None = None) -> list[dict]:
        """An organisation's named keys in id order, revoked ones too."""

    def revoke_api_key(self, key_id: int, at: str) -> bool:
        """Revoke a key at ``at`` (ISO UTC); whether it was active."""

    def touch_api_key(self, key_id: int, at: str) -> None:
        """Note a key's use at ``at`` (ISO UTC)."""

    def count_sign_in_failure(self, key: str, now: int, window_s: int) -> int:
        """Count a failed sign-in for ``key`` at ``now`` (epoch s); the failures within the window
        (one that began more than ``window_s`` ago starts afresh), atomically."""

    def lock_sign_in(self, key: str, until: int) -> None:
        """Lock ``key`` until ``until`` (epoch s) and start its count afresh."""

    def sign_in_lock(self, key: str) -> int:
        """Until when ``key`` is locked (epoch s; 0: never)."""

    def clear_sign_in_failures(self, key: str) -> None:
        """Forget ``key``'s failures (after a right password)."""


class Products(Protocol):
    """Products per retailer (``sku`` unique per retailer) and their stock in stores
    (:mod:`o2o.storage.products`). Every write bumps :meth:`catalogue_rev`."""

    def catalogue_rev(self) -> int:
        """A counter every product or stock write raises (0: none yet): caches compare it."""

    def catalogue_marks(self) -> tuple[int, int]:
        """``(catalogue_rev, products_rev)`` in one read: the second rises with product writes only."""

    def stock_marks(self, product_id: int) -> tuple[int, int, int]:
        """``(the product's stock mark, rev, reset_rev)`` in one read: the first moves with every write
        of a stock line of that product (and only then), the others as in :meth:`Changes.sync_marks`."""

    def upsert_products(self, retailer_id: int, rows: Iterable[dict]) -> int:
        """Insert or update (by ``sku``) the retailer's products, in one transaction; how many rows.

        Each row: ``sku``, ``title``, ``brand``, optional ``category``, ``price``, ``online_url``,
        ``gtin``, ``image_url`` (a missing field is written as null)."""

    def get_product(self, product_id: int) -> dict | None:
        """One product (``id``, ``retailer_id``, the fields above, ``created_at``, ``updated_at``), or None."""

    def get_products(self, product_ids: Iterable[int]) -> list[dict]:
        """Products by id in the order asked; unknown ids are left out."""

    def list_products(self, retailer_id: int | None = None) -> list[dict]:
        """Every product (of one retailer), by id."""

    def find_product_ids(self, retailer_id: int, skus: Iterable[str]) -> dict[str, int]:
        """Product ids of a retailer's skus; unknown skus are left out."""

    def count_products(self) -> int:
        """How many products."""

    def set_stock(self, rows: Iterable[dict], replace_stores: Iterable[int] = ()) -> int:
        """In one transaction: remove every stock line of ``replace_stores``, then write the lines
        (``store_id``, ``product_id``, ``availability``, optional ``quantity``, ``price``,
        ``updated_at``; a line already there is overwritten, the last of a repeated pair wins).
        Returns how many lines were written."""

    def insert_stock(self, rows: Iterable[tuple]) -> int:
        """Bulk-load new stock lines ``(store_id, product_id, availability, quantity, price, updated_at)``
        (none of them there yet: the seed, benchmarks) in one transaction; how many."""

    def stock_of_product(self, product_id: int, availability: Iterable[str] | None = None) -> list[dict]:
        """The stock lines of one product (only those with one of ``availability``), by store id."""

    def stocked_stores(self, product_id: int) -> list[tuple]:
        """``(store_id, lon, lat, availability, quantity, price, updated_at)`` of every open store
        that has the product ``in_stock`` or ``limited``, by store id."""

    def stock_of_store(self, store_id: int) -> list[dict]:
        """The stock lines of one store, by product id."""

    def count_stock(self) -> int:
        """How many stock lines."""

    def record_product_scan(self, store: dict, product_id: int, scanned_at: int, client_kind: str,
                            client_hash: str, dedup_window_s: int) -> bool | None:
        """:meth:`Scans.record_scan`, and which product it was for, in one transaction."""

    def product_scan_counts(self) -> dict[int, int]:
        """Counted scans per product id."""

    def insert_product_scans(self, rows: Iterable[tuple]) -> int:
        """Bulk-add ``(scan_id, product_id)`` pairs (the seed's product scans) in one transaction; how many."""

    def product_scans_by_place(self, since=None, until=None, brands=None, retailers=None, categories=None,
                               products=None) -> list[ProductPlaceCount]:
        """Counted scans of products in ``[since, until)`` (epoch s) per product and district (the
        store's place as it is now), filters on the store, ``products`` on the product ids. Any order."""

    def product_scans_by_hour(self, since=None, until=None, brands=None, retailers=None, categories=None,
                              products=None) -> list[HourCount]:
        """Counted scans of products per UTC hour, hours in order, empty hours left out."""


class Demand(Protocol):
    """Shoppers' searches, kept privately (:mod:`o2o.storage.demand`): time, H3 cell (resolution 9),
    kind, words, brand, category, product, filters, results, distance to the nearest match."""

    def insert_searches(self, rows) -> int:
        """Insert search tuples (:data:`~o2o.storage.demand.SEARCH_COLUMNS` order) in one
        transaction; how many."""

    def count_searches(self) -> int:
        """How many searches are kept."""

    def demand_cells(self, res: int, since=None, until=None, brands=None, categories=None,
                     product_id=None) -> list[tuple[int, int, int]]:
        """``(cell, searches, unmet)`` per H3 cell at ``res`` (the parent of each search's cell) of
        the located searches in ``[since, until)`` (epoch s) for these brands/categories/product;
        unmet: the nearest match farther than 5 km, or none. In no particular order."""

    def demand_by_hour(self, since=None, until=None, brands=None, categories=None,
                       product_id=None) -> list[tuple[int, int, int]]:
        """``(hour, searches, unmet)`` per UTC hour (epoch s) of the located searches, in order."""

    def search_batches(self, batch_size: int = 500_000, after_id: int = 0) -> Iterator[list[tuple]]:
        """Every search after ``after_id`` in id order, as lists of ``SEARCH_FIELDS`` tuples."""

    def purge_searches(self, before: int) -> int:
        """Delete the searches made before ``before`` (epoch s), in one transaction; how many."""


class StoreRepository(Schema, Changes, StoreReads, StoreWrites, Scans, TableCopy, Sessions, Principals,
                      People, Products, Demand, Protocol):
    """Everything the services and the web layer need from a database; every backend implements it."""


def interface_methods() -> list[str]:
    """The names of every method of :class:`StoreRepository`, across its parts."""
    parts = [c for c in StoreRepository.__mro__ if c not in (object, Protocol) and c.__module__ == __name__]
    return sorted({name for part in parts for name in vars(part) if not name.startswith("_")})


def database_unavailable(err: BaseException) -> bool:
    """A database that is locked, restarting or out of reach (worth a retry: a 503), as opposed
    to a bug (a 500)."""
    import sqlite3

    from .errors import Unavailable

    if isinstance(err, Unavailable):
        return True
    if isinstance(err, sqlite3.OperationalError):
        text = str(err).lower()
        return "locked" in text or "busy" in text
    if type(err).__module__.startswith(("psycopg", "psycopg_pool")):
        from .postgis import database_unavailable as pg_unavailable

        return pg_unavailable(err)
    return False


def open_repository(url: str, busy_timeout_ms: int | None = None) -> StoreRepository:
    """Open the backend a database URL names: ``sqlite:///PATH`` (the default) or ``postgresql://``.

    ``busy_timeout_ms``: how long a SQLite write waits for another writer's lock before failing
    (the web layer turns that failure into a 503)."""
    if url.startswith("sqlite:"):
        from .sqlite import SqliteRepository

        if busy_timeout_ms is None:
            return SqliteRepository.from_url(url)
        return SqliteRepository.from_url(url, timeout_s=busy_timeout_ms / 1000)
    if url.startswith(("postgresql:", "postgres:", "postgresql+", "postgres+")):
        from .postgis import PostgisRepository

        return PostgisRepository.from_url(url)
    if url.startswith("memory:"):
        from .memory import MemoryRepository

        return MemoryRepository.from_url(url)
    raise ValueError(f"unsupported database URL {url!r}: use sqlite:///PATH or postgresql://…")
