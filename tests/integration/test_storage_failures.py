"""Failures with names: a full disk is a 507 naming storage and /healthz says so; a taken name is a
one-line CLI message. On SQLite the disk fills for real (``PRAGMA max_page_count``); on PostGIS a
trigger raises the server's own ``disk_full`` (SQLSTATE 53100) where a full tablespace would.
"""

from __future__ import annotations

import sqlite3

import psycopg
import pytest

from o2o.storage import StorageFull, health, open_repository
from o2o.storage.errors import Conflict, Unavailable
from o2o.storage.postgis import named_error as pg_named_error
from o2o.storage.sqlite import SqliteRepository

from .. import conftest
from ..conftest import bearer

pytestmark = pytest.mark.both_backends

DISK_FULL_PG = """
CREATE FUNCTION o2o_test_disk_full() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full'; END $$;
CREATE TRIGGER o2o_test_disk_full BEFORE INSERT ON stores FOR EACH ROW EXECUTE FUNCTION o2o_test_disk_full();
"""


@pytest.fixture(autouse=True)
def _healthy_after():
    yield
    health.mark_written()  # the flag is this process's: leave it as the next test expects


def _csv(n: int) -> bytes:
    lines = ["external_id,name,brand,category,lon,lat,address"]
    for i in range(n):
        lines.append(f"F{i},满盘店{i},FullBrand,Apparel,{121.40 + (i % 60) * 0.002:.6f},"
                     f"{31.15 + (i // 60) * 0.002:.6f},上海市某路{i}号")
    return ("\n".join(lines) + "\n").encode()


def _fill_disk(app, db_url):
    """Make the next sizeable write fail for want of space; returns how to undo it."""
    if db_url.startswith("sqlite:"):
        conn = app.extensions["o2o"].repo().conn  # the test client's requests run on this thread
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")
        return lambda: conn.execute("PRAGMA max_page_count = 1073741823")
    conftest.sql(db_url, DISK_FULL_PG)
    return lambda: conftest.sql(db_url, "DROP TRIGGER o2o_test_disk_full ON stores")


def _import(client, keys, body):
    return client.post("/api/v1/stores/import?atomic=true", data=body,
                       headers={**bearer(keys["retailer"]), "Content-Type": "text/csv"})


def test_a_full_disk_is_a_507_naming_storage_and_healthz_reports_it(app, client, keys, db_url):
    before = conftest.sql(db_url, "SELECT count(*), (SELECT value FROM meta WHERE key = 'rev') FROM stores")
    undo = _fill_disk(app, db_url)
    try:
        r = _import(client, keys, _csv(3000))
        assert r.status_code == 507, r.get_data(as_text=True)
        error = r.get_json()["error"]
        assert error["code"] == "storage_full" and "storage is full" in error["message"]
        health_now = client.get("/healthz")
        assert health_now.status_code == 503 and health_now.get_json()["status"] == "storage_full"
        # Reads go on.
        assert client.get("/api/v1/stores/nearby?lat=31.23&lon=121.47&k=3").status_code == 200
        assert client.get("/api/v1/stores/1").status_code == 200
    finally:
        undo()
    # Nothing partial was stored, and once there is room the same import goes through whole.
    assert conftest.sql(db_url, "SELECT count(*), (SELECT value FROM meta WHERE key = 'rev') FROM stores") == before
    r = _import(client, keys, _csv(3000))
    assert r.status_code == 200 and r.get_json()["inserted"] == 3000
    assert client.get("/healthz").get_json()["status"] == "ok"
    if db_url.startswith("sqlite:"):
        assert conftest.sql(db_url, "PRAGMA integrity_check") == [("ok",)]


def test_cli_retailer_create_with_a_taken_name_says_so_in_one_line(runner):
    result = runner.invoke(args=["retailer", "create", "Fast Retailing", "--domain", "uniqlo.tmall.com"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == ["Error: a retailer named 'Fast Retailing' already exists"]


def test_a_taken_store_code_is_a_conflict_naming_the_key(app, db_url):
    repo = open_repository(db_url)
    rid = repo.list_retailers()[0]["id"]
    with pytest.raises(Conflict) as info:
        repo.insert_store({"retailer_id": rid, "external_id": "T001", "name": "x", "brand": "Uniqlo",
                           "category": "Apparel", "lon": 121.0, "lat": 31.0, "address": ""})
    repo.close()
    assert info.value.table == "stores" and info.value.columns == ("retailer_id", "external_id")


def test_an_unexpected_conflict_reaches_the_client_as_409(app, client, keys, monkeypatch):
    from o2o.services import registry

    def clash(*args, **kwargs):
        raise Conflict("stores", ("retailer_id", "external_id"))

    monkeypatch.setattr(registry, "unit_of_work", clash)
    r = client.post("/api/v1/stores", headers=bearer(keys["retailer"]), json={
        "external_id": "C1", "name": "冲突店", "brand": "Uniqlo", "category": "Apparel", "lat": 31.2, "lon": 121.4})
    assert r.status_code == 409
    assert r.get_json()["error"] == {"code": "conflict", "field": "external_id",
                                     "message": "external_id is already taken: another write stored the same "
                                                "value first"}


# ------------------------------------------------------------------ the transaction helper itself
def _stores(rid: int, n: int) -> list[dict]:
    return [{"retailer_id": rid, "external_id": f"S{i}", "name": f"店{i}" * 20, "brand": "B", "category": "C",
             "lon": 121.0 + i * 1e-4, "lat": 31.0, "address": "路" * 50} for i in range(n)]


def test_sqlite_rolls_back_itself_on_a_full_disk_and_the_original_error_is_kept(tmp_path):
    repo = SqliteRepository.connect(str(tmp_path / "full.db"))
    repo.migrate()
    rid = repo.create_retailer("R", ["r.tmall.com"])
    rev = repo.current_rev()
    pages = repo.conn.execute("PRAGMA page_count").fetchone()[0]
    repo.conn.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(StorageFull) as info:
        repo.insert_stores(_stores(rid, 3000))
    assert isinstance(info.value.__cause__, sqlite3.OperationalError)
    assert info.value.__cause__.sqlite_errorcode == sqlite3.SQLITE_FULL
    assert not repo.conn.in_transaction  # SQLite rolled back itself; no second ROLLBACK was tried
    assert health.full and repo.storage_full()
    assert repo.count_stores() == 0 and repo.current_rev() == rev
    repo.conn.execute("PRAGMA max_page_count = 1073741823")
    assert repo.insert_stores(_stores(rid, 3000)) == 3000
    assert not health.full and not repo.storage_full()
    repo.close()


def test_postgres_disk_full_and_unreachable_errors_have_names():
    assert isinstance(pg_named_error(psycopg.errors.DiskFull("could not extend file")), StorageFull)
    assert isinstance(pg_named_error(psycopg.OperationalError("connection refused")), Unavailable)
    assert pg_named_error(psycopg.errors.SyntaxError("oops")) is None
