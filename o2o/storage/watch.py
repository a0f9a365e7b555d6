"""Learning that the database changed without asking it on every request, and not waiting on it
when it is gone.

Each serving process keeps one :class:`ChangeFeed` per database: a counter that moves whenever
the data its caches depend on (``meta``'s ``rev``, ``reset_rev`` and ``catalogue_rev``) may have
changed. A request compares its caches with that counter, in memory, and reads the database's
marks only when the counter moved (or the last read is older than the safety net,
:data:`SAFETY_S`). What moves the counter:

- **PostgreSQL**: a thread of each process ``LISTEN``s on :data:`CHANNEL`; every transaction
  that bumps a revision sends ``NOTIFY`` inside itself, so the notification is delivered when it
  commits, to every listening process. When the listening connection is lost the feed says so
  (:attr:`ChangeFeed.connected` false: every request reads the marks, as before, until it is
  back) and the thread reconnects; on reconnecting the counter moves once, because notifications
  sent meanwhile are lost.
- **SQLite**: a thread polls ``PRAGMA data_version`` on a connection of its own every
  :data:`POLL_S` (a few µs: it reads a counter in shared memory); when another connection has
  committed, it reads the marks once, and moves the counter if they changed (scans, which are
  most commits, leave them alone).
- **this process**: a write that bumped a revision moves the counter the moment it commits
  (:func:`changed_here`), so a process always reads its own writes.

Staleness bound: a change committed elsewhere is seen by the next request that starts after
the notification arrives (milliseconds on PostgreSQL) or after the next poll (≤ 50 ms on SQLite);
if a notification is lost while the connection stays up, the safety net catches it within
:data:`SAFETY_S` (1 s). Each feed tells how old its knowledge may be: :meth:`ChangeFeed.lag_s`.

:class:`Breaker` is the process's circuit breaker per database: after a connection failure,
queries fail at once (:class:`~o2o.storage.errors.Unavailable`) instead of each waiting for a
connection timeout, and the web layer answers reads from memory; the watcher thread, or one probe
per :data:`Breaker.cooldown_s`, closes it again when the database answers.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref

from .errors import Unavailable

CHANNEL = "o2o_changes"
SAFETY_S = 1.0        # the marks are re-read at least this often, whatever the notifications say
POLL_S = 0.05         # SQLite: how often the watcher looks at data_version
RECONNECT_S = 0.5     # PostgreSQL: how often the watcher tries to reconnect while the server is away
MARK_KEYS = ("rev", "reset_rev", "catalogue_rev")

log = logging.getLogger("o2o.watch")

_feeds: "weakref.WeakSet[ChangeFeed]" = weakref.WeakSet()


def changed_here() -> None:
    """A write of this process committed a new revision: every feed of the process moves now."""
    for feed in list(_feeds):
        feed.signal()


class ChangeFeed:
    """What this process knows of the database's changes (see the module's description)."""

    def __init__(self, safety_s: float = SAFETY_S):
        self.safety_s = safety_s
        self.version = 0              # moved by every change signal
        self.connected = False        # a watcher is listening right now (else every read asks)
        self.signals = 0
        self._cache: dict[str, tuple[int, float, object]] = {}
        self._lock = threading.Lock()
        self.last_ok = time.monotonic()   # the last time the marks were read, or known current
        self.failing_since: float | None = None
        self.watcher = None
        self._pid = None
        _feeds.add(self)

    def signal(self) -> None:
        with self._lock:
            self.version += 1
            self.signals += 1

    def listening(self) -> None:
        """A watcher listens from now on (what was read before is read again: the counter moves)."""
        self.connected = True
        self.signal()

    def lost(self) -> None:
        """The watcher lost the database: from now on, what this process knows ages."""
        if self.connected:
            self.last_ok = time.monotonic()
        self.connected = False

    def read(self, name: str, fetch, on_stale=None, default=None):
        """``fetch()``'s value, read again only when the feed moved since the last read, no watcher
        is listening, or the last read is older than the safety net. If the database cannot be
        reached, the last value read or else ``default`` (``on_stale()`` is called), or the error
        when there is neither."""
        now = time.monotonic()
        version = self.version
        hit = self._cache.get(name)
        if hit is not None and hit[0] == version and self.connected and now - hit[1] < self.safety_s:
            return hit[2]
        try:
            value = fetch()
        except Unavailable:
            if hit is None and default is None:
                raise
            if self.failing_since is None:
                self.failing_since = now
            if on_stale is not None:
                on_stale()
            return hit[2] if hit is not None else default
        self._cache[name] = (version, now, value)
        self.last_ok = now
        self.failing_since = None
        return value

    def forget(self) -> None:
        """Drop what was read (the next reads ask the database)."""
        self._cache.clear()

    def lag_s(self) -> float:
        """How old this process's knowledge of the database may be, in seconds: 0 while a watcher
        listens and nothing failed; else the time since the marks were last read (or the watcher
        last knew them current). What ``X-O2O-Stale-Seconds`` and the metrics report."""
        now = time.monotonic()
        if self.connected and self.failing_since is None:
            return 0.0
        return max(0.0, now - self.last_ok)

    def ensure_watching(self, start) -> None:
        """Start this process's watcher with ``start(feed)`` unless it has one (cheap: per request;
        a forked gunicorn worker starts its own)."""
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self.connected = False
            self._cache.clear()
        self.watcher = start(self)

    def stop(self) -> None:
        """End this process's watcher (an app shutting down): from now on every read asks."""
        with self._lock:
            self._pid = os.getpid()  # never started again in this process
        watcher, self.watcher = self.watcher, None
        if watcher is not None and hasattr(watcher, "stop"):
            watcher.stop()  # it ends within its poll (SQLite) or its wait for notifications (1 s)
        self.lost()


class Breaker:
    """A circuit breaker for one database in one process (see the module's description)."""

    def __init__(self, cooldown_s: float = 1.0):
        self.cooldown_s = cooldown_s
        self.open_since: float | None = None
        self.watched = False           # a watcher thread probes: requests never wait to probe
        self._probe_at = 0.0
        self._lock = threading.Lock()
        self.trips = 0

    @property
    def is_open(self) -> bool:
        return self.open_since is not None

    def check(self) -> bool:
        """Before using the database: whether to try (False: fail at once). While open, one caller
        per cool-down probes, unless a watcher does that."""
        if self.open_since is None:
            return True
        if self.watched:
            return False
        with self._lock:
            now = time.monotonic()
            if now >= self._probe_at:
                self._probe_at = now + self.cooldown_s
                return True
        return False

    def failed(self) -> None:
        with self._lock:
            if self.open_since is None:
                self.open_since = time.monotonic()
                self._probe_at = self.open_since + self.cooldown_s
                self.trips += 1
                log.warning("database unreachable: answering from memory, failing writes fast")

    def succeeded(self) -> None:
        if self.open_since is not None:
            with self._lock:
                if self.open_since is not None:
                    self.open_since = None
                    log.warning("database reachable again")

    def refuse(self):
        return Unavailable("the database is unreachable (the circuit breaker is open; retrying in the background)")


_breakers: dict[tuple[str, int], Breaker] = {}


def breaker_for(url: str) -> Breaker:
    """This process's breaker for ``url``."""
    key = (url, os.getpid())
    found = _breakers.get(key)
    if found is None:
        found = _breakers.setdefault(key, Breaker())
    return found
