"""Shoppers' searches, kept privately, written without slowing the search that made them.

A view hands :meth:`SearchLog.note` what it knows (the kind, the point, the words and filters, how
many results, the distance to the nearest match): one append to a bounded in-process buffer, a few
microseconds. A background thread of the same process (started on first use, so each forked
worker has its own) takes the buffer every ``interval_s`` or ``batch`` searches and writes it in
one transaction, turning each point into its H3 cell at resolution 9 on the way (the point itself
is never stored; no address, browser or cookie ever reaches this module). When the buffer is full
the oldest searches are dropped and counted (``dropped``), never the search waited for.

The same thread resolves what the words were for (a brand or category the shopper typed rather
than filtered on) and, now and then, deletes searches older than the retention setting.
"""

from __future__ import annotations

import collections
import json
import logging
import os
import threading
import time
from typing import Callable

from ..threads import join_quietly

log = logging.getLogger(__name__)

PURGE_EVERY_S = 3600.0
MAX_WORDS = 100


class SearchLog:
    """One per app and process (see the module's description)."""

    def __init__(self, open_repo: Callable, retention_days: int = 365, capacity: int = 20_000,
                 batch: int = 1000, interval_s: float = 1.0):
        self.open_repo = open_repo
        self.retention_days = int(retention_days)
        self.capacity = int(capacity)
        self.batch = int(batch)
        self.interval_s = float(interval_s)
        self.dropped = 0
        self.written = 0
        self.failures = 0
        self._buffer: collections.deque = collections.deque(maxlen=self.capacity)
        self._pid = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._done = threading.Condition()
        self._rounds = 0
        self._last_purge = 0.0
        self._words: dict | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        return self.retention_days > 0

    # ------------------------------------------------------------------ the hot path
    def note(self, kind: str, lon: float | None, lat: float | None, words: str | None = None,
             brand: str | None = None, category: str | None = None, product_id: int | None = None,
             filters: dict | None = None, results: int = 0, nearest_m: float | None = None) -> None:
        """Keep one search (see the module's description); never blocks, never raises."""
        if self._pid != os.getpid():
            if not self.enabled or self._stopping.is_set():
                return
            self._start()
        buffer = self._buffer
        if len(buffer) >= self.capacity:
            self.dropped += 1
        buffer.append((int(time.time()), kind, lon, lat, words, brand, category, product_id, filters, results,
                       nearest_m))
        if len(buffer) >= self.batch:
            self._wake.set()

    # ------------------------------------------------------------------ the writer
    def _start(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            # A forked child inherits the parent's buffer and no thread: start afresh.
            self._buffer = collections.deque(maxlen=self.capacity)
            self._wake = threading.Event()
            self._done = threading.Condition()
            self._thread = threading.Thread(target=self._run, name="o2o-search-log", daemon=True)
            self._thread.start()
            self._pid = os.getpid()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Write what is buffered and end the writer thread (an app shutting down; a test's app).
        Searches noted afterwards are not written."""
        self._stopping.set()
        self._wake.set()
        join_quietly(self._thread, timeout_s, "the search log's writer")

    def _run(self) -> None:
        repo = None
        while True:
            self._wake.wait(self.interval_s)
            self._wake.clear()
            stopping = self._stopping.is_set()
            try:
                if repo is None:
                    repo = self.open_repo()
                self._write(repo)
                if time.time() - self._last_purge > PURGE_EVERY_S:
                    self._last_purge = time.time()
                    self.purge(repo)
            except Exception:  # noqa: BLE001 - a lost batch must never stop the thread
                self.failures += 1
                log.exception("search log: a batch could not be written")
                if repo is not None:
                    try:
                        repo.close()
                    except Exception:  # noqa: BLE001
                        pass
                    repo = None
            with self._done:
                self._rounds += 1
                self._done.notify_all()
            if stopping:
                if repo is not None:
                    try:
                        repo.close()
                    except Exception:  # noqa: BLE001
                        pass
                return

    def _write(self, repo) -> None:
        buffer = self._buffer
        while buffer:
            items = []
            while buffer and len(items) < 10 * self.batch:
                items.append(buffer.popleft())
            self.written += repo.insert_searches(self.rows(items, repo))

    def rows(self, items: list[tuple], repo=None) -> list[tuple]:
        """Noted searches → rows of the searches table (``SEARCH_COLUMNS``): the point turned into
        its resolution-9 cell, the words' brand or category filled in."""
        import numpy as np

        from ..geo import h3agg
        from ..storage.demand import CELL_RES

        located = [i for i, it in enumerate(items) if it[2] is not None and it[3] is not None]
        cells = {}
        if located:
            lon = np.array([items[i][2] for i in located], dtype=float)
            lat = np.array([items[i][3] for i in located], dtype=float)
            cells = dict(zip(located, h3agg.cells(lon, lat, CELL_RES).tolist()))
        out = []
        for i, (at, kind, _, _, words, brand, category, product_id, filters, results, nearest_m) in enumerate(items):
            words = (words or "").strip()[:MAX_WORDS] or None
            if words and (brand is None or category is None):
                said_brand, said_category = self.what_words_name(words, repo)
                brand = brand or said_brand
                category = category or said_category
            out.append((at, cells.get(i), kind, words, brand, category, product_id,
                        json.dumps(filters, ensure_ascii=False, sort_keys=True) if filters else None,
                        int(results), None if nearest_m is None else round(float(nearest_m), 1)))
        return out

    def what_words_name(self, words: str, repo=None) -> tuple[str | None, str | None]:
        """``(brand, category)`` the words name as a whole or word by word (优衣库, youyiku, uniqlo, 超市)."""
        if self._words is None:
            self._words = word_table(repo)
        from ..search.text import normalise

        folded = normalise(words)
        found = {}
        for token in [folded, folded.replace(" ", ""), *folded.split()]:
            for kind, name in self._words.get(token, ()):
                found.setdefault(kind, name)
        return found.get("brand"), found.get("category")

    # ------------------------------------------------------------------ for tests, benchmarks and the CLI
    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until everything noted so far is written (the thread runs one round at once)."""
        if self._pid != os.getpid():
            return True
        with self._done:
            target = self._rounds + 2  # a round under way may have started before the last note
            self._wake.set()
            while self._rounds < target:
                self._wake.set()
                if not self._done.wait(timeout_s):
                    return False
        return not self._buffer

    def purge(self, repo, now: float | None = None) -> int:
        """Delete searches older than the retention setting; how many."""
        if self.retention_days <= 0:
            return 0
        return purge(repo, self.retention_days, now)


def purge(repo, retention_days: int, now: float | None = None) -> int:
    """Delete the searches older than ``retention_days``; how many (one transaction)."""
    now = time.time() if now is None else now
    return repo.purge_searches(int(now - retention_days * 86400))


def word_table(repo=None) -> dict[str, list[tuple[str, str]]]:
    """Every way a shopper types a brand or category → ``[("brand"|"category", name)]``."""
    from ..seed.catalogue import BRANDS, CATEGORY_ZH
    from ..search.text import normalise, pinyin_forms, squash

    table: dict[str, list[tuple[str, str]]] = {}

    def add(kind, name, *forms):
        for form in forms:
            if not form:
                continue
            for key in {normalise(form), squash(normalise(form))}:
                entry = table.setdefault(key, [])
                if (kind, name) not in entry:
                    entry.append((kind, name))
            full = pinyin_forms(normalise(form))
            if full:
                table.setdefault(full[0], []).append((kind, name))

    names = {b.name: b.name_zh for b in BRANDS}
    if repo is not None:
        for name, _ in repo.brand_counts():
            names.setdefault(name, None)
    for name, zh in names.items():
        add("brand", name, name, zh)
    for name, zh in CATEGORY_ZH.items():
        add("category", name, name, zh)
    return table
