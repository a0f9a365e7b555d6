"""Storage: one :class:`StoreRepository` interface (split by concern in :mod:`.base`), one SQL core
(:mod:`.core`) with a module per backend, and an in-memory fake (:mod:`.memory`). The only SQL lives here."""

from .base import STORE_FIELDS, StoreRepository, database_unavailable, open_repository
from .errors import Conflict, StorageError, StorageFull, Unavailable, health

__all__ = ["STORE_FIELDS", "Conflict", "StorageError", "StorageFull", "StoreRepository", "Unavailable",
           "database_unavailable", "health", "open_repository"]
