"""Storage: one :class:`StoreRepository` interface, one module per backend. The only SQL lives here."""

from .base import STORE_FIELDS, StoreRepository, database_unavailable, open_repository

__all__ = ["STORE_FIELDS", "StoreRepository", "database_unavailable", "open_repository"]
