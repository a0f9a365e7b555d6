"""The repository interface every storage backend implements.

Services take a repository and plain values; they never see SQL or a connection. Stores travel
as plain dicts with the contract's field names (:data:`STORE_FIELDS`).
"""

from __future__ import annotations

from typing import Iterable, Iterator, Protocol

# The contract's store fields, in the order exports list them.
STORE_FIELDS = (
    "id", "retailer_id", "external_id", "name", "brand", "retailer", "category", "lat", "lon",
    "address", "province", "city", "district", "hours", "phone", "online_url", "status",
    "created_at", "updated_at",
)

# What the in-memory index needs of each store.
INDEX_FIELDS = ("id", "lon", "lat", "brand", "retailer", "category", "status")


class StoreRepository(Protocol):
    """What the services need from a database."""

    # -- schema and housekeeping
    def migrate(self) -> int: ...
    def close(self) -> None: ...

    # -- change tracking: every write bumps a database-wide revision
    def current_rev(self) -> int: ...
    def sync_marks(self) -> tuple[int, int]: ...
    def index_rows(self, since_rev: int = 0) -> Iterator[tuple]: ...

    # -- reading stores
    def count_stores(self, status: str | None = None) -> int: ...
    def get_store(self, store_id: int) -> dict | None: ...
    def get_stores(self, store_ids: Iterable[int]) -> list[dict]: ...
    def iter_stores(self) -> Iterator[dict]: ...
    def brand_counts(self) -> list[tuple[str, int]]: ...

    # -- writing stores
    def insert_stores(self, rows: Iterable[dict]) -> int: ...

    # -- retailers
    def create_retailer(self, name: str, domains: list[str], key_hash: str | None = None) -> int: ...
    def get_retailer(self, retailer_id: int) -> dict | None: ...
    def list_retailers(self) -> list[dict]: ...


def open_repository(url: str) -> StoreRepository:
    """Open the backend a database URL names: ``sqlite:///PATH`` (the default) or ``postgresql://``."""
    if url.startswith("sqlite:"):
        from .sqlite import SqliteRepository

        return SqliteRepository.from_url(url)
    if url.startswith(("postgresql:", "postgres:")):
        raise NotImplementedError("the PostGIS backend is not built yet")
    raise ValueError(f"unsupported database URL {url!r}: use sqlite:///PATH or postgresql://…")
