"""Failures with names: what a backend's own exceptions mean, in words the services and the web use.

Each backend turns its driver's exceptions into these (the original stays as ``__cause__``):

- :class:`Conflict`: a unique key already holds the value (a retailer's name, a store code);
- :class:`StorageFull`: the disk (or SQLite's ``max_page_count``) is full, nothing was written;
- :class:`Unavailable`: the database is locked, restarting or out of reach; worth a retry.

:data:`health` remembers the last storage-full failure of this process until a write succeeds,
so ``/healthz`` can say so.
"""

from __future__ import annotations

import threading
import time


class StorageError(Exception):
    """A failure of the storage layer that is not a defect of the code."""


class Conflict(StorageError):
    """A unique key clash: ``table``'s ``columns`` already hold the value written."""

    def __init__(self, table: str, columns: tuple[str, ...], detail: str = ""):
        self.table = table
        self.columns = tuple(columns)
        self.detail = detail
        super().__init__(f"{table} ({', '.join(self.columns)}) already holds this value"
                         + (f": {detail}" if detail else ""))


class StorageFull(StorageError):
    """The database could not grow (its disk is full): the write was rolled back whole."""


class Unavailable(StorageError):
    """The database is busy (locked by another writer), restarting or unreachable."""


class StorageHealth:
    """This process's view of the storage: full since when (epoch s), or not full."""

    def __init__(self):
        self._lock = threading.Lock()
        self.full_since: float | None = None

    def mark_full(self) -> None:
        with self._lock:
            if self.full_since is None:
                self.full_since = time.time()

    def mark_written(self) -> None:
        if self.full_since is not None:
            with self._lock:
                self.full_since = None

    @property
    def full(self) -> bool:
        return self.full_since is not None


health = StorageHealth()


def raise_named(exc: BaseException, named: Exception | None):
    """Raise the storage error a driver's error means (``exc`` as its cause), or ``exc`` itself."""
    if named is None:
        raise exc
    if isinstance(named, StorageFull):
        health.mark_full()
    raise named from exc
