"""Reads from a replica, writes and the revision from the primary, never an answer older than known.

With ``O2O_READ_DATABASE_URL`` set (a streaming replica of the primary, or any copy kept up to date
with it), each app process sends its heavy public reads there: the rows that refresh its index,
the stores that fill a nearby or viewport answer, brand and city lists, text search and the
analytics. The revision is always read from the primary (one row), and a read goes to the replica
only when the replica has replayed at least that revision; while it lags, the read goes to the
primary instead. So replica lag never hides a change: a store registered through any server is
still found by the next search on every other server.

Everything else (writes, and the reads a write depends on, such as a retailer's own stores or an
import's current rows) goes to the primary.
"""

from __future__ import annotations

from contextlib import contextmanager

from .base import StoreRepository

# Reads that may come from a caught-up replica.
REPLICA_READS = frozenset({
    "index_rows", "get_stores", "city_centres", "brand_counts", "category_counts",
    "iter_stores", "nearest", "scans_by_place", "scans_by_hour", "scan_time_range", "open_stores_table",
    "count_scans",
})


class ReplicaRouter:
    """A repository that is a primary plus a read replica (see the module's description)."""

    def __init__(self, primary: StoreRepository, replica: StoreRepository):
        self.primary = primary
        self.replica = replica
        self._seen_rev = 0        # the newest revision this process has seen on the primary
        self._replica_rev = -1    # the replica's revision when last asked
        self.reads = {"primary": 0, "replica": 0}
        self._in_transaction = 0  # a unit of work reads what it decides on from the primary

    @contextmanager
    def transaction(self):
        """The primary's transaction; every read inside it goes to the primary too."""
        with self.primary.transaction():
            self._in_transaction += 1
            try:
                yield self
            finally:
                self._in_transaction -= 1

    # The revision: always the primary's.
    def sync_marks(self) -> tuple[int, int]:
        marks = self.primary.sync_marks()
        self._seen_rev = max(self._seen_rev, marks[0])
        return marks

    def current_rev(self) -> int:
        rev = self.primary.current_rev()
        self._seen_rev = max(self._seen_rev, rev)
        return rev

    def reader(self) -> StoreRepository:
        """The replica if it holds every revision seen so far, else the primary."""
        if self._in_transaction:
            return self.primary
        if self._replica_rev < self._seen_rev:
            try:
                self._replica_rev = self.replica.current_rev()
            except Exception:  # a replica that is down is no reason to fail: the primary answers
                self._replica_rev = -1
                return self.primary
        return self.replica if self._replica_rev >= self._seen_rev else self.primary

    def close(self) -> None:
        self.primary.close()
        self.replica.close()

    def __getattr__(self, name):
        if name in REPLICA_READS:
            def read(*args, **kwargs):
                target = self.reader()
                self.reads["replica" if target is self.replica else "primary"] += 1
                return getattr(target, name)(*args, **kwargs)
            return read
        return getattr(self.primary, name)
