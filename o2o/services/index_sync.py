"""Keeps a process's in-memory :class:`StoreIndex` in step with the database.

Every write to the database bumps its revision and stamps the changed stores with it. Before
answering a query, a process makes sure its index is at the database's revision; if another
process wrote since, it fetches just the changed stores and applies them to its index. So a
store registered through one gunicorn worker is found by the next search on any other worker,
with no restart and no message bus.

It reads the revision only when it may have moved: a :class:`~o2o.storage.watch.ChangeFeed`
(PostgreSQL ``LISTEN/NOTIFY``, SQLite ``PRAGMA data_version``, and this process's own commits)
says so, and the revision is re-read at least every second whatever it says. So a request costs
the database nothing, and a change is seen within the feed's bound (see :mod:`o2o.storage.watch`).
When the database cannot be reached, the index stays as it is and answers (stale, and saying so).
"""

from __future__ import annotations

import os
import threading

from ..geo.index import StoreIndex
from ..storage.base import StoreRepository
from ..storage.watch import ChangeFeed
from ..threads import join_quietly
from .memory_reads import StoreMirror


class IndexSync:
    """A :class:`StoreIndex` plus the database revision it reflects."""

    def __init__(self, index: StoreIndex | None = None, feed: ChangeFeed | None = None):
        self.index = index or StoreIndex()
        self.feed = feed or ChangeFeed()
        self.rev = -1
        self.generation = 0  # counts full reloads, so followers know to reload too
        self._lock = threading.Lock()
        self.listeners = []  # called with the changed store ids, or None after a full reload

    def load(self, repo: StoreRepository) -> None:
        """Build the index from every open store."""
        with self._lock:
            self._load(repo)

    def _load(self, repo: StoreRepository) -> None:
        rev = repo.current_rev()
        rows = [r for r in repo.index_rows(0) if r.status == "open"]
        columns = list(zip(*rows)) if rows else [[]] * 7
        self.index.load(*columns[:6])
        self.rev = rev
        self.generation += 1
        for listener in self.listeners:
            listener(None)

    def lag_s(self) -> float:
        """How old this index may be, in seconds (0 while the feed listens and the database answers)."""
        return self.feed.lag_s()

    def refresh(self, repo: StoreRepository, on_stale=None) -> StoreIndex:
        """Apply whatever changed in the database since the last look; returns the index. The
        revision is asked only when the feed moved (see the module); if the database cannot be
        reached, the index as it is (``on_stale()`` is called)."""
        rev, reset_rev = self.feed.read("sync_marks", repo.sync_marks, on_stale,
                                        default=(self.rev, 0) if self.rev >= 0 else None)
        if rev == self.rev:
            return self.index
        with self._lock:
            if self.rev < 0 or reset_rev > self.rev:
                self._load(repo)
            elif rev != self.rev:
                changed = []
                for sid, x, y, brand, retailer, category, status in repo.index_rows(self.rev):
                    self.index.upsert(sid, x, y, brand, retailer, category, is_open=(status == "open"))
                    changed.append(sid)
                self.rev = rev
                for listener in self.listeners:
                    listener(changed)
        return self.index


class SearchSync:
    """The text-search index of a process, built in the background and kept at the spatial
    index's revision.

    Building it (folding, pinyin, n-grams, the gazetteer) takes about a second for 30,000 stores,
    so the app does not wait for it at start-up: a thread builds it while the first requests are
    served, and a text search that arrives before it is ready waits for it. After that it follows
    the :class:`IndexSync` it is paired with: when the spatial index has moved to a newer revision,
    the stores changed since this index's revision are fetched and applied (a full reload when
    the database was reset, e.g. re-seeded).
    """

    def __init__(self, index_sync: IndexSync, open_repo, index=None, mirror: StoreMirror | None = None):
        from ..search.index import SearchIndex

        self.index_sync = index_sync
        self.open_repo = open_repo          # () -> a repository of its own, for the builder thread
        self.index = index or SearchIndex()
        self.mirror = mirror if mirror is not None else StoreMirror()  # every store's record, for outages
        self.rev = -1
        self.generation = -1
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self._pid = None
        self.thread: threading.Thread | None = None
        self.built_in_s: float | None = None
        self._stopped = False   # after stop(): no more background builds; a search builds itself

    @property
    def ready(self) -> bool:
        return self._ready.is_set() and self.rev >= 0 and self._pid == os.getpid()

    def start(self) -> None:
        """Build in a background thread (of this process: a forked worker starts its own)."""
        self._pid = os.getpid()
        self._ready.clear()
        self.thread = threading.Thread(target=self._build_own_repo, name="o2o-search-build", daemon=True)
        self.thread.start()

    def ensure_started(self) -> None:
        """Start the background build unless this process has one (cheap: called per request)."""
        if self._pid != os.getpid() and not self._stopped:
            with self._lock:
                if self._pid != os.getpid():
                    self.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Start no more background builds in this process, and wait (up to ``timeout_s``) for
        one under way to end: a thread left compiling beside another can trip CPython 3.11's
        compiler (gh-106905), and it holds a connection to a database that may be going away."""
        self._stopped = True
        join_quietly(self.thread, timeout_s, "the search index's build")

    def _build_own_repo(self) -> None:
        repo = self.open_repo()
        try:
            self.build(repo)
        except Exception:  # noqa: BLE001 - a failed build is retried by the next search
            import logging

            logging.getLogger(__name__).exception("building the search index failed")
            self._pid = None
            self._ready.set()
        finally:
            if not getattr(repo, "pooled", False):  # PostGIS: the pool is the whole process's
                repo.close()

    def build(self, repo: StoreRepository) -> None:
        """Build the whole index now, from every open store."""
        import time

        started = time.perf_counter()
        with self._lock:
            self._load_all(repo, self.index_sync.generation)
        self.built_in_s = time.perf_counter() - started
        self._pid = os.getpid()
        self._ready.set()
        self.index.warm()  # the word segmenter: after ready, so searches need not wait for it

    def _load_all(self, repo: StoreRepository, generation: int) -> None:
        """Every open store, at the revision read first (later changes are applied after)."""
        rev = repo.current_rev()
        stores = list(repo.iter_stores())
        self.index.load(stores)
        self.mirror.load(stores, repo.list_retailers())
        self.rev, self.generation = rev, generation

    def get(self, repo: StoreRepository, timeout_s: float = 120.0):
        """The index, up to date with the spatial index (call :meth:`IndexSync.refresh` first)."""
        self.ensure_started()
        ready = self._ready.is_set() if self._stopped and self.thread is None else self._ready.wait(timeout_s)
        if not ready or self.rev < 0:
            self.build(repo)
        return self.follow(repo)

    def follow(self, repo: StoreRepository):
        """Bring a built index (and the mirror) to the spatial index's revision; the index."""
        target_rev, generation = self.index_sync.rev, self.index_sync.generation
        if target_rev == self.rev and generation == self.generation:
            return self.index
        with self._lock:
            if generation != self.generation:
                self._load_all(repo, generation)
            elif target_rev > self.rev:
                changed = [row.id for row in repo.index_rows(self.rev)]
                found = {s["id"]: s for s in repo.get_stores(changed)}
                for sid in changed:
                    store = found.get(sid)
                    if store is None:
                        self.index.remove(sid)
                        self.mirror.remove(sid)
                    else:
                        self.index.upsert(store)
                        self.mirror.upsert(store)
                self.rev = max(self.rev, target_rev)
        return self.index
