"""Degrade, never block a sale: the database goes away and comes back.

On PostgreSQL, for real: a private server (``initdb`` in a temporary folder, its own port; the
shared server on 5432 is never touched) serves gunicorn with two workers; the server is stopped;
the public reads answer from memory, marked stale; 1,000 scans across the workers are all
redirected and spooled; the server starts again and every scan is stored exactly once (counted by
its spool id). On SQLite, the same for a database locked by another writer past the busy timeout.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from o2o.services import accounts
from o2o.storage import open_repository
from o2o.web import create_app

from .. import conftest
from ..servers import free_port, kill, start_gunicorn

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"
SHOP = "https://outage.tmall.com/"
READ_TIMEOUT_S = 5   # far above the 1 s the contract asks; a request that waits on the database takes 20 s


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(NoRedirect)


def _get(url, timeout=READ_TIMEOUT_S, headers=None):
    req = urllib.request.Request(url, headers={"Connection": "close", **(headers or {})})
    try:
        with _opener.open(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def _wait_for(check, timeout_s=60.0, every_s=0.1, what="condition"):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(every_s)
    pytest.fail(f"timed out waiting for {what}")


# ------------------------------------------------------------------ a private PostgreSQL server
class PrivatePostgres:
    """A throw-away PostgreSQL cluster in a temporary folder on a free port (run as ``postgres``)."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="o2o-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user:
            shutil.chown(self.dir, self.user, self.user)
        self._run(PG_BIN / "initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync",
                  "-E", "UTF8", "--locale=C")

    def _run(self, *argv, check=True):
        argv = [str(a) for a in argv]
        if self.user:
            argv = ["runuser", "-u", self.user, "--", *argv]
        return subprocess.run(argv, check=check, capture_output=True, text=True, timeout=120)

    def start(self):
        opts = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c shared_buffers=16MB")
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-o", opts, "-l", self.dir / "log", "-w", "-t", "60", "start")

    def stop(self):
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "-t", "60", "stop")

    def destroy(self):
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, database="postgres"):
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"


@pytest.fixture(scope="module")
def private_pg():
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"no PostgreSQL binaries in {PG_BIN}")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: initdb refuses root")
    server = PrivatePostgres()
    try:
        server.start()
        import psycopg

        with psycopg.connect(server.url(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE o2o")
        with psycopg.connect(server.url("o2o"), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION postgis")
        yield server
    finally:
        server.destroy()


@pytest.mark.slow
def test_postgres_outage_reads_from_memory_and_every_scan_is_stored_exactly_once(private_pg, tmp_path):
    url = private_pg.url("o2o")
    repo = open_repository(url)
    repo.migrate()
    conftest.fill(repo)
    rid, key = accounts.create_retailer(repo, "Outage Co", ["outage.tmall.com"])
    store_id = repo.insert_store({"retailer_id": rid, "external_id": "OUT1", "name": "停电店", "brand": "Uniqlo",
                                  "category": "Apparel", "lat": 31.2335, "lon": 121.4765, "online_url": SHOP,
                                  "address": "上海市黄浦区停电路1号", "hours": "00:00-24:00"})
    repo.close()
    proc, base = start_gunicorn(url, workers=2, O2O_SPOOL_DIR=str(tmp_path / "spool"))
    try:
        # Every worker has what it answers from in an outage (built in the background by its first request).
        def all_ready():
            with ThreadPoolExecutor(8) as pool:
                seen = list(pool.map(lambda _: json.loads(_get(base + "/healthz", timeout=60)[2]), range(16)))
            ready = {b["worker"]: b["memory"]["ready"] for b in seen}
            return len(ready) >= 2 and all(ready.values())
        _wait_for(all_ready, what="both workers' memory")
        reads = ["/api/v1/stores/nearby?lat=31.2335&lon=121.4765&k=5", "/api/v1/stores/nearby?lat=31.23&lon=121.47&q=uniqlo",
                 "/api/v1/stores?bbox=121.4,31.1,121.6,31.3&zoom=14", f"/api/v1/stores/{store_id}", "/api/v1/brands",
                 "/api/v1/places?q=shanghai", "/api/v1/suggest?q=you", f"/stores/{store_id}", "/"]
        with ThreadPoolExecutor(4) as pool:  # as a serving worker has: its templates compiled, its modules loaded
            assert {r[0] for r in pool.map(lambda p: _get(base + p, timeout=60), reads * 4)} == {200}

        private_pg.stop()

        def read(path):
            return path, _get(base + path)

        # Every read is answered at once; within the staleness bound (each worker's listener learns
        # that its connection is gone; under load that can take a moment) every one says how stale.
        deadline = time.monotonic() + 15
        while True:
            with ThreadPoolExecutor(8) as pool:
                answers = list(pool.map(read, reads * 4))
            for path, (status, headers, body) in answers:
                assert status == 200, (path, status, body[:300])
            unmarked = [path for path, (_, headers, _) in answers if "X-O2O-Stale-Seconds" not in headers]
            if not unmarked or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert not unmarked, f"answered from memory without saying so: {unmarked}"
        for path, (status, headers, body) in answers:
            assert int(headers["X-O2O-Stale-Seconds"]) >= 1 and headers["Warning"].startswith("110"), (path, headers)
        body = json.loads(dict(answers)[reads[0]][2])
        assert [f["properties"]["name"] for f in body["features"]][0] == "停电店"
        assert _get(base + "/healthz")[0] == 503  # /healthz says the database is away

        # A write fails fast and says when to retry.
        req = urllib.request.Request(base + "/api/v1/stores", method="POST", data=b'{"external_id": "X"}',
                                     headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
        try:
            urllib.request.urlopen(req, timeout=READ_TIMEOUT_S)
            pytest.fail("a write succeeded without a database")
        except urllib.error.HTTPError as e:
            assert e.code == 503 and e.headers["Retry-After"]

        def scan(i):
            status, headers, _ = _get(f"{base}/go/{store_id}", headers={"User-Agent": f"{PHONE} client/{i}"})
            return status, headers.get("Location", "")
        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(scan, range(1000)))
        assert [s for s, _ in results].count(302) == 1000, {s for s, _ in results}
        assert all(loc.startswith(SHOP) and f"o2o_store={store_id}" in loc for _, loc in results)
        spooled = sum(1 for f in (tmp_path / "spool").iterdir() for _ in open(f, "rb"))
        assert spooled == 1000

        private_pg.start()

        def stored():
            return conftest.sql(url, "SELECT count(*) FROM scans WHERE store_id = ?", (store_id,))[0][0] >= 1000
        _wait_for(stored, timeout_s=90, every_s=0.25, what="the spooled scans to be replayed")
        _wait_for(lambda: not any((tmp_path / "spool").iterdir()), what="the spool files to be removed")
        rows = conftest.sql(url, "SELECT count(*), (SELECT count(*) FROM spooled_scans),"
                                 " (SELECT count(DISTINCT spool_id) FROM spooled_scans) FROM scans WHERE store_id = ?",
                            (store_id,))
        assert tuple(rows[0]) == (1000, 1000, 1000)  # every scan once, none twice
        # Back to normal: answers are fresh again and scans are written directly.
        _wait_for(lambda: "X-O2O-Stale-Seconds" not in _get(base + reads[0])[1], what="fresh answers")
        assert scan(1001)[0] == 302
        assert conftest.sql(url, "SELECT count(*) FROM scans WHERE store_id = ?", (store_id,))[0][0] == 1001
    finally:
        try:
            kill(proc)
        except subprocess.TimeoutExpired:  # a loaded machine: the graceful exit took longer than kill() waits
            kill(proc, signal.SIGKILL)


def test_a_replay_interrupted_half_way_stores_nothing_twice(tmp_path):
    """The spool's replay crashes after some scans are stored; replayed again, the rest go in and
    none is stored twice (their spool ids)."""
    from o2o.services.spool import ScanSpool

    url = f"sqlite:///{tmp_path / 'o2o.db'}"
    repo = open_repository(url)
    repo.migrate()
    conftest.fill(repo)
    spool = ScanSpool(tmp_path / "spool")
    for i in range(20):
        assert spool.keep(1, 1_700_000_000 + i, "phone", f"h{i}")
    real = repo.replay_scan
    calls = []

    def dies_after_8(*args):
        calls.append(args)
        if len(calls) == 9:
            raise RuntimeError("the process died here")
        return real(*args)
    repo.replay_scan = dies_after_8
    with pytest.raises(RuntimeError):
        spool.replay(repo)
    repo.replay_scan = real
    assert repo.count_scans() == 8
    assert spool.replay(repo) == 12
    assert repo.count_scans() == 20
    assert spool.replay(repo) == 0 and not any((tmp_path / "spool").iterdir())
    repo.close()


def test_a_full_spool_still_redirects_and_counts_the_drop(tmp_path):
    from o2o.services.spool import ScanSpool

    spool = ScanSpool(tmp_path / "spool", max_bytes=400)
    kept = [spool.keep(1, 1_700_000_000, "phone", f"h{i}") for i in range(10)]
    assert kept.count(True) >= 2 and kept[-1] is False
    assert spool.dropped == kept.count(False)


# ------------------------------------------------------------------ SQLite: locked past the busy timeout
def test_sqlite_locked_scans_are_redirected_spooled_and_stored_once(db_url, tmp_path):
    repo = open_repository(db_url)
    repo.migrate()
    conftest.fill(repo)
    repo.close()
    app = create_app({"DATABASE_URL": db_url, "SEED_STORES": 0, "SECRET_KEY": "t", "TESTING": True,
                      "TILES": "none", "DB_BUSY_TIMEOUT_MS": 100, "SPOOL_DIR": str(tmp_path / "spool")})
    client = app.test_client()
    assert client.get("/api/v1/stores/nearby?lat=31.23&lon=121.47&k=1").status_code == 200
    blocker = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock past the busy timeout
    try:
        for i in range(30):
            r = client.get("/go/1", headers={"User-Agent": f"{PHONE} client/{i}"})
            assert r.status_code == 302 and r.headers["Location"].startswith("https://uniqlo.tmall.com/")
        assert conftest.sql(db_url, "SELECT count(*) FROM scans")[0][0] == 0
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    _wait_for(lambda: conftest.sql(db_url, "SELECT count(*) FROM scans")[0][0] >= 30, what="the replay")
    _wait_for(lambda: not any((tmp_path / "spool").iterdir()), what="the spool files to be removed")
    assert conftest.sql(db_url, "SELECT count(*), (SELECT count(*) FROM spooled_scans) FROM scans") == [(30, 30)]
