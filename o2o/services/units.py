"""A use case as one unit of work: it reads what it decides on and writes inside one transaction.

On SQLite a write transaction holds the database's one write lock from its start, so two units
never interleave. PostgreSQL runs them side by side (READ COMMITTED): two registrations of the same
new store code may both find no store, and the second insert then clashes with the first on the
unique key. That :class:`~o2o.storage.errors.Conflict` means "someone got there first", so the
whole unit runs again and now finds the store the other one made.
"""

from __future__ import annotations

from typing import Callable, TypeVar

from ..storage.errors import Conflict

T = TypeVar("T")
ATTEMPTS = 3


def unit_of_work(repo, work: Callable[[], T], attempts: int = ATTEMPTS) -> T:
    """``work()`` in one transaction of ``repo``, run again (up to ``attempts`` times in all) when a
    concurrent writer took the same unique key first. Call it outside any transaction."""
    for attempt in range(1, attempts + 1):
        try:
            with repo.transaction():
                return work()
        except Conflict:
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")  # pragma: no cover
