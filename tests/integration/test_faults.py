"""Faults: the server killed in the middle of an atomic import, and a database locked by another writer.

Nothing is left half-written and the database stays sound: after a SIGKILL the import is wholly
absent (and a retry stores all of it); a write that cannot get the lock in time is a clean 503.
"""

from __future__ import annotations

import csv
import io
import signal
import sqlite3
import threading
import time
import urllib.error
import urllib.request

import pytest

from o2o.seed.stores import generate
from o2o.services import accounts
from o2o.storage import open_repository
from o2o.web import create_app

from .. import conftest
from ..conftest import bearer
from ..servers import kill, start_gunicorn

PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"


# ------------------------------------------------------------------ a database locked by another writer
@pytest.fixture
def locked_app(app, db_url):
    app = create_app({"DATABASE_URL": db_url, "SEED_STORES": 0, "SECRET_KEY": "t", "TESTING": True,
                      "TILES": "none", "DB_BUSY_TIMEOUT_MS": 300})
    return app


def _hold_write_lock(db_url):
    blocker = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")  # what a long writer (a backup, a bulk job) holds
    return blocker


def test_writes_fail_cleanly_with_503_while_another_writer_holds_the_lock(locked_app, db_url, keys):
    client = locked_app.test_client()
    before = conftest.sql(db_url, "SELECT count(*) FROM stores")[0][0]
    blocker = _hold_write_lock(db_url)
    try:
        t0 = time.perf_counter()
        r = client.get("/go/1", headers={"User-Agent": PHONE})
        waited = time.perf_counter() - t0
        # A scan never blocks a sale: the shopper is redirected, the scan spooled (test_outage.py).
        assert r.status_code == 302
        assert waited >= 0.25  # it waited for the lock before giving up
        r = client.post("/api/v1/stores", headers=bearer(keys["retailer"]), json={
            "external_id": "L1", "name": "锁住时的店", "brand": "Uniqlo", "category": "Apparel",
            "lat": 31.2, "lon": 121.4})
        assert r.status_code == 503
        # Readers are not blocked by a writer (WAL).
        assert client.get("/api/v1/stores/nearby?lat=31.23&lon=121.47&k=3").status_code == 200
        assert client.get("/api/v1/stores/1").status_code == 200
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert conftest.sql(db_url, "SELECT count(*) FROM stores")[0][0] == before
    assert client.get("/go/1", headers={"User-Agent": PHONE}).status_code == 302
    assert client.post("/api/v1/stores", headers=bearer(keys["retailer"]), json={
        "external_id": "L1", "name": "锁住时的店", "brand": "Uniqlo", "category": "Apparel",
        "lat": 31.2, "lon": 121.4}).status_code == 201
    assert conftest.sql(db_url, "PRAGMA integrity_check") == [("ok",)]


def test_a_short_lock_is_waited_out(app, db_url, keys):
    app = create_app({"DATABASE_URL": db_url, "SEED_STORES": 0, "SECRET_KEY": "t", "TESTING": True,
                      "TILES": "none", "DB_BUSY_TIMEOUT_MS": 5000})
    client = app.test_client()
    blocker = _hold_write_lock(db_url)
    release = threading.Timer(0.4, lambda: blocker.execute("COMMIT"))
    release.start()
    t0 = time.perf_counter()
    r = client.get("/go/2", headers={"User-Agent": PHONE})
    assert r.status_code == 302 and time.perf_counter() - t0 >= 0.3
    release.join()
    blocker.close()
    assert conftest.sql(db_url, "SELECT count(*) FROM scans")[0][0] == 1


# ------------------------------------------------------------------ SIGKILL in the middle of an atomic import
def _start(url: str):
    return start_gunicorn(url, workers=1, timeout_s=300, O2O_WRITES_PER_MINUTE="100000")


def _csv(n: int) -> bytes:
    stores = generate(n, 99).stores
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["external_id", "name", "brand", "category", "lon", "lat", "address", "hours"])
    for row in stores.itertuples():
        w.writerow([f"K{row.Index}", row.name, row.brand, row.category, row.lon, row.lat, row.address, row.hours])
    return out.getvalue().encode("utf-8")


def _post_import(base, key, body, result):
    req = urllib.request.Request(base + "/api/v1/stores/import?atomic=true", data=body, method="POST")
    req.add_header("Authorization", f"Bearer {key}")
    req.add_header("Content-Type", "text/csv")
    try:
        with urllib.request.urlopen(req, timeout=300) as r:
            result["status"] = r.status
    except urllib.error.HTTPError as e:
        result["status"] = e.code
    except OSError as e:  # the connection dies with the server: expected
        result["error"] = repr(e)


SLOW_SQLITE = """
CREATE TABLE IF NOT EXISTS fault_slow (n INTEGER);
CREATE TRIGGER fault_slow_insert AFTER INSERT ON stores BEGIN
    INSERT INTO fault_slow VALUES (length(hex(randomblob(3000000))));
END;
"""
SLOW_PG = """
CREATE FUNCTION fault_slow() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN PERFORM pg_sleep(0.003); RETURN NEW; END $$;
CREATE TRIGGER fault_slow BEFORE INSERT ON stores FOR EACH ROW EXECUTE FUNCTION fault_slow();
"""


def _import_in_progress(url: str) -> bool:
    """Whether the import's write transaction is open right now."""
    if url.startswith("sqlite:"):
        con = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
        try:
            con.execute("BEGIN IMMEDIATE")
            con.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:
            return True  # someone holds the write lock: the import's transaction
        finally:
            con.close()
    rows = conftest.sql(url, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                             " AND query ILIKE 'COPY stores%%' AND state = 'active'")
    return rows[0][0] > 0


@pytest.mark.parametrize("backend", ["sqlite", "postgis"])
def test_sigkill_during_an_atomic_import_stores_all_or_nothing(backend, tmp_path, request):
    url = request.getfixturevalue("pg_url") if backend == "postgis" else f"sqlite:///{tmp_path / 'kill.db'}"
    repo = open_repository(url)
    repo.migrate()
    rid, key = accounts.create_retailer(repo, "Kill Co", ["kill.tmall.com"])
    rev_before = repo.current_rev()
    repo.close()
    if backend == "sqlite":
        con = sqlite3.connect(url.removeprefix("sqlite:///"))
        con.executescript(SLOW_SQLITE)
        con.close()
    else:
        conftest.sql(url, SLOW_PG)
    body = _csv(1500)

    proc, base = _start(url)
    result: dict = {}
    poster = threading.Thread(target=_post_import, args=(base, key, body, result))
    poster.start()
    deadline = time.time() + 60
    while not _import_in_progress(url):
        assert time.time() < deadline and poster.is_alive(), f"the import never started writing: {result}"
        time.sleep(0.05)
    time.sleep(0.3)  # well inside the write: some rows are written, none committed
    kill(proc, signal.SIGKILL)
    poster.join(30)
    assert "status" not in result, result  # it really died mid-import

    if backend == "postgis":  # the server rolls back once it notices the client is gone
        deadline = time.time() + 30
        while _import_in_progress(url) and time.time() < deadline:
            time.sleep(0.1)
    repo = open_repository(url)
    assert repo.count_stores() == 0 and repo.current_rev() == rev_before  # none of it
    repo.close()
    if backend == "sqlite":
        assert conftest.sql(url, "PRAGMA integrity_check") == [("ok",)]
        conftest.sql(url, "DROP TRIGGER fault_slow_insert")
    else:
        conftest.sql(url, "DROP TRIGGER fault_slow ON stores")

    # After a restart the same import goes through whole.
    proc, base = _start(url)
    try:
        again: dict = {}
        _post_import(base, key, body, again)
        assert again.get("status") == 200, again
    finally:
        kill(proc)
    repo = open_repository(url)
    assert repo.count_stores() == 1500
    repo.close()
    if backend == "sqlite":
        assert conftest.sql(url, "PRAGMA integrity_check") == [("ok",)]
