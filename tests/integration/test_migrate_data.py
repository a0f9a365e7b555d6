"""Schema versions on both backends, and moving a whole database between them, losing nothing."""

from __future__ import annotations

import os
import subprocess
import time
import sys
from pathlib import Path

import pytest

from o2o.cli import register_commands
from o2o.services import accounts
from o2o.services.migration import MigrationError, migrate_data, table_checksums
from o2o.services.seeding import seed
from o2o.storage import open_repository
from o2o.storage.base import TABLES
from o2o.web import create_app

ROOT = Path(__file__).resolve().parents[2]


def flask(*args, url):
    env = {**os.environ, "O2O_DATABASE_URL": url, "O2O_SEED_STORES": "0", "O2O_SECRET_KEY": "t"}
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(params=["sqlite", "postgis"])
def any_url(request, tmp_path):
    if request.param == "postgis":
        return request.getfixturevalue("pg_url")
    return f"sqlite:///{tmp_path / 'old.db'}"


def test_db_upgrade_brings_an_older_schema_up_to_date(any_url):
    repo = open_repository(any_url)
    repo.migrate(target=2)
    rid = repo.create_retailer("Old Co", ["old.tmall.com"])
    repo.close()
    out = flask("db", "version", url=any_url)
    assert out.returncode == 0, out.stderr
    assert "schema version 2 (latest" in out.stdout
    out = flask("db", "upgrade", url=any_url)
    assert out.returncode == 0, out.stderr
    repo = open_repository(any_url)
    latest = repo.latest_version()
    assert f"upgraded from 2 to version {latest}" in out.stdout
    assert repo.schema_version() == latest and repo.get_retailer(rid)["name"] == "Old Co"
    repo.close()
    again = flask("db", "upgrade", url=any_url)
    assert f"already at version {latest}" in again.stdout


def test_the_app_creates_the_schema_of_a_new_database(any_url):
    create_app({"DATABASE_URL": any_url, "SEED_STORES": 0, "SECRET_KEY": "t"})
    repo = open_repository(any_url)
    assert repo.schema_version() == repo.latest_version()
    repo.close()


@pytest.fixture
def full_sqlite(tmp_path):
    """A SQLite database with something in every table: stores, scans, keys, history, products, stock."""
    url = f"sqlite:///{tmp_path / 'source.db'}"
    repo = open_repository(url)
    repo.migrate()
    seed(repo, 800, 4000, 42)
    rid, _ = accounts.create_retailer(repo, "Key Co", ["key.tmall.com"])
    accounts.create_analyst(repo, "Ana")
    first = repo.get_store(1)
    repo.update_store(1, {"name": first["name"] + "（新）", "hours": "09:00-21:00"}, actor="lin@key.example")
    repo.update_store(2, {"status": "closed"})
    from o2o.services import people

    org = people.Organisation("retailer", rid)
    people.invite(repo, "lin@key.example", org, "owner")  # a person and a set-up link
    people.create_key(repo, org, "nightly sync", "editor", "lin@key.example")
    repo.upsert_products(rid, [{"sku": "K1", "title": "钥匙扣", "brand": "Key", "price": 9.9,
                                "online_url": "https://key.tmall.com/k1"}])
    repo.set_stock([{"store_id": 3, "product_id": repo.find_product_ids(rid, ["K1"])["K1"],
                     "availability": "limited", "quantity": 2, "price": 8.5}])
    repo.record_product_scan(repo.get_store(3), repo.find_product_ids(rid, ["K1"])["K1"], int(time.time()), "phone",
                             "a-client", 1800)
    repo.end_session("signed-out-session", int(time.time()) + 3600)
    repo.insert_searches([(int(time.time()), 0x89309959d57ffff, "nearby", "优衣库", "Uniqlo", None, None,
                           '{"radius_km": 3}', 3, 120.5)])
    repo.close()
    return url


def test_sqlite_to_postgis_and_back_loses_nothing(full_sqlite, pg_url, tmp_path):
    source = open_repository(full_sqlite)
    want = table_checksums(source)
    source.close()
    assert all(n > 0 for n, _ in want.values())

    copies = migrate_data(full_sqlite, pg_url, batch_size=1000)
    assert {c.table: (c.rows, c.checksum) for c in copies} == want and all(c.verified for c in copies)
    pg = open_repository(pg_url)
    assert table_checksums(pg) == want
    assert pg.sync_marks() == open_repository(full_sqlite).sync_marks()
    assert pg.session_ended("signed-out-session")
    # Ids continue after the copied ones.
    new_id = pg.insert_store({"retailer_id": 1, "external_id": "NEW", "name": "新店", "brand": "Uniqlo",
                              "category": "Apparel", "lon": 121.0, "lat": 31.0, "address": "路1号"})
    assert new_id == want["stores"][0] + 1
    assert pg.create_retailer("Later Co", []) > 1
    pg.close()

    back = f"sqlite:///{tmp_path / 'back.db'}"
    migrate_data(pg_url, back)
    again = open_repository(back)
    got = table_checksums(again)
    assert got["scans"] == want["scans"] and got["store_history"] == want["store_history"]
    assert got["stores"][0] == want["stores"][0] + 1
    again.close()


def test_the_migrated_database_serves_the_same_answers(full_sqlite, pg_url):
    migrate_data(full_sqlite, pg_url)
    answers = []
    for url in (full_sqlite, pg_url):
        app = create_app({"DATABASE_URL": url, "SEED_STORES": 0, "SECRET_KEY": "t", "TILES": "none"})
        client = app.test_client()
        answers.append([client.get(f"/api/v1/stores/nearby?lat={lat}&lon={lon}&k=15").get_json()
                        for lat, lon in ((31.23, 121.47), (39.9, 116.4), (23.1, 113.3), (30.6, 104.1))]
                       + [client.get("/api/v1/brands").get_json(), client.get("/api/v1/stores/1").get_json()])
    assert answers[0] == answers[1]


def test_a_copy_that_does_not_read_back_the_same_is_rolled_back(full_sqlite, pg_url, monkeypatch):
    from o2o.storage.postgis import PostgisRepository

    real = PostgisRepository.load_table

    def lossy(self, table, rows):
        return real(self, table, rows[:-1] if table == "scans" else rows)

    monkeypatch.setattr(PostgisRepository, "load_table", lossy)
    with pytest.raises(MigrationError, match="scans: the copy differs"):
        migrate_data(full_sqlite, pg_url)
    monkeypatch.undo()
    pg = open_repository(pg_url)
    assert pg.count_stores() == 0 and pg.list_retailers() == [] and pg.count_scans() == 0
    pg.close()


def test_migrate_data_command(full_sqlite, pg_url):
    app = create_app({"DATABASE_URL": full_sqlite, "SEED_STORES": 0, "SECRET_KEY": "t"})
    register_commands(app)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["migrate-data", "--to", pg_url])
    assert result.exit_code == 0, result.output
    assert result.output.count("verified") == len(TABLES) and "stock" in result.output
    # A second run must not pile rows on top of the first.
    again = runner.invoke(args=["migrate-data", "--from", full_sqlite, "--to", pg_url])
    assert again.exit_code != 0 and "not empty" in again.output
    same = runner.invoke(args=["migrate-data", "--from", full_sqlite, "--to", full_sqlite])
    assert same.exit_code != 0 and "same database" in same.output
