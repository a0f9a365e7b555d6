"""A local, durable spool for QR scans the database could not take, replayed exactly once.

When a scan cannot be written (the database is unreachable, or SQLite stays locked past its busy
timeout), ``/go`` still sends the shopper to the shop: the sale must not wait for the database.
The scan goes to this spool instead:

- **durable**: one JSON line per scan, appended to a file of this process's own
  (``scans-{pid}-{n}.jsonl`` in the spool directory) and ``fsync``'d before the 302 is answered;
- **bounded**: at most ``max_bytes`` of spool per process (``O2O_SPOOL_MAX_MB``, default 64 MB, about
  300,000 scans); past that the shopper is still redirected and the scan is counted in
  :attr:`ScanSpool.dropped` (and logged) instead of kept;
- **exactly once**: each scan carries a random id (``sid``); replaying writes the id in the same
  transaction as the scan (:meth:`~o2o.storage.core.SqlRepository.replay_scan`), so a replay that
  dies half-way and runs again skips what it stored. A torn last line (a crash mid-append) is
  skipped.

A background thread per process (:meth:`ScanSpool.ensure_started`) replays every
``REPLAY_EVERY_S`` once the database answers: its own file (closed and renamed first, so new scans
go to a new one) and any file left by a process that is gone (claimed by renaming it, so two
processes never replay the same file at once).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import uuid
from pathlib import Path

from ..storage.errors import StorageError
from ..threads import join_quietly

REPLAY_EVERY_S = 0.5
log = logging.getLogger("o2o.spool")


def spool_dir_for(database_url: str, instance_dir: str | Path) -> Path:
    """Where a database's spool lives: beside a SQLite file, else in the instance folder (one folder
    per database, so two apps on two databases never replay each other's scans)."""
    if database_url.startswith("sqlite:///") and database_url != "sqlite:///:memory:":
        return Path(database_url[len("sqlite:///"):] + ".spool")
    digest = hashlib.blake2b(database_url.encode(), digest_size=6).hexdigest()
    return Path(instance_dir) / "spool" / digest


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ScanSpool:
    """This process's spool of scans (see the module's description)."""

    def __init__(self, directory: str | Path, max_bytes: int = 64 * 1024 * 1024):
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.kept = 0          # scans spooled by this process
        self.dropped = 0       # scans not kept: the spool was full
        self.replayed = 0      # scans stored by this process's replays
        self._lock = threading.Lock()
        self._file = None
        self._path: Path | None = None
        self._bytes = 0        # this process's spool bytes not yet replayed
        self._serial = 0
        self._pid = None
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self.thread: threading.Thread | None = None

    # ------------------------------------------------------------------------------ keeping
    def keep(self, store_id: int, scanned_at: int, client_kind: str, client_hash: str,
             product_id: int | None = None) -> bool:
        """Append one scan, durably (fsync'd) before returning; False if the spool is full."""
        line = json.dumps({"sid": uuid.uuid4().hex, "store": int(store_id), "at": int(scanned_at),
                           "kind": client_kind, "hash": client_hash, "product": product_id},
                          separators=(",", ":")).encode() + b"\n"
        with self._lock:
            if self._bytes + len(line) > self.max_bytes:
                self.dropped += 1
                log.error("scan spool full (%d bytes): a scan of store %s was not kept", self._bytes, store_id)
                return False
            if self._file is None or self._pid != os.getpid():
                self._open()
            self._file.write(line)
            self._file.flush()
            os.fsync(self._file.fileno())
            self._bytes += len(line)
            self.kept += 1
        self._wake.set()
        return True

    def _open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._pid = os.getpid()
        self._serial += 1
        self._path = self.directory / f"scans-{self._pid}-{uuid.uuid4().hex[:8]}-{self._serial}.jsonl"
        self._file = open(self._path, "ab", buffering=0)

    def pending(self) -> int:
        """Bytes of this process's spool not replayed yet."""
        return self._bytes

    # ------------------------------------------------------------------------------ replaying
    def ensure_started(self, open_repo) -> None:
        """Start this process's replay thread unless it has one (cheap: called per request; a
        forked gunicorn worker starts its own)."""
        if self._thread_pid == os.getpid():
            return
        with self._lock:
            if self._thread_pid == os.getpid():
                return
            self._thread_pid = os.getpid()
            if self._pid != os.getpid():  # the parent's file is the parent's
                self._file, self._path, self._bytes = None, None, 0
            self.thread = threading.Thread(target=self._run, args=(open_repo,), name="o2o-spool", daemon=True)
            self.thread.start()

    _thread_pid = None

    def stop(self, timeout_s: float = 5.0) -> None:
        """End the replay thread (an app shutting down; a test's app). Spooled scans stay in their
        files, for the next process to replay."""
        self._stopping.set()
        self._wake.set()
        join_quietly(self.thread, timeout_s, "the scan spool's replayer")
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file, self._path = None, None

    def _run(self, open_repo) -> None:
        repo = None
        try:
            while not self._stopping.is_set():
                self._wake.wait(REPLAY_EVERY_S)
                self._wake.clear()
                if self._stopping.is_set():
                    break
                try:
                    if not self._claimable():
                        continue
                    if repo is None:
                        repo = open_repo()
                    self.replay(repo)
                except StorageError:
                    pass  # still unreachable or locked: next time
                except Exception:  # noqa: BLE001 - keep the thread alive; the files stay for the next try
                    log.exception("replaying the scan spool failed")
        finally:
            if repo is not None:
                try:
                    repo.close()
                except Exception:  # noqa: BLE001
                    pass

    def _claimable(self) -> list[Path]:
        if not self.directory.exists():
            return []
        mine = os.getpid()
        out = []
        for path in self.directory.iterdir():
            name = path.name
            if name.startswith("scans-") and name.endswith(".jsonl"):
                pid = int(name.split("-")[1])
                if pid == mine or not _alive(pid):
                    out.append(path)          # ours, or left by a process that is gone
            elif name.startswith("replay-") and name.endswith(".jsonl"):
                pid = int(name.split("-")[1])
                if pid == mine or not _alive(pid):
                    out.append(path)
        return sorted(out)

    def replay(self, repo, dedup_window_s: int | None = None) -> int:
        """Store every claimable spooled scan once; returns how many were new. Raises the storage
        error that stopped it (the rest stays spooled)."""
        from .scans import DEDUP_WINDOW_S

        window = DEDUP_WINDOW_S if dedup_window_s is None else dedup_window_s
        stored = 0
        for path in self._claimable():
            claimed = self._claim(path)
            if claimed is None:
                continue
            for record in _records(claimed):
                if repo.replay_scan(record["sid"], record["store"], record["at"], record["kind"], record["hash"],
                                    window, record.get("product")):
                    stored += 1
            size = claimed.stat().st_size
            claimed.unlink()
            if claimed.name.split("-")[1] == str(os.getpid()):
                with self._lock:
                    self._bytes = max(0, self._bytes - size)
        self.replayed += stored
        if stored:
            log.warning("replayed %d spooled scans", stored)
        return stored

    def _claim(self, path: Path) -> Path | None:
        """Take ``path`` for this process: our current file is closed first (new scans start a new
        one); another's is renamed to ``replay-{our pid}-…`` (whoever renames first has it)."""
        mine = os.getpid()
        with self._lock:
            if path == self._path:
                self._file.close()
                self._file, self._path = None, None
        if path.name.startswith(f"replay-{mine}-"):
            return path
        original = path.name.split("-", 2)[2] if path.name.startswith("replay-") else path.name
        target = path.with_name(f"replay-{mine}-{original}")
        try:
            os.rename(path, target)
        except FileNotFoundError:
            return None  # another process took it
        return target


def _records(path: Path):
    with open(path, "rb") as fh:
        for line in fh:
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a line torn by a crash while it was appended: never fsync'd, never redirected
            if isinstance(record, dict) and "sid" in record:
                yield record
