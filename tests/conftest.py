"""Fixtures: a fresh app on a temporary database, its client and CLI runner.

``app`` holds a small hand-made set of stores (fast, exact expectations); ``seeded_app`` holds
2,000 stores from the real generator (module-scoped: built once per module that asks).
"""

from __future__ import annotations

import itertools
import os
from contextlib import contextmanager

import pytest

from o2o.cli import register_commands
from o2o.storage import open_repository
from o2o.web import create_app

# Where the PostGIS tests find a server: a superuser connection to an existing database. Each
# test gets a database of its own, made from a template holding the PostGIS extension.
PG_ADMIN_URL = os.environ.get("O2O_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
_pg_counter = itertools.count()


def pytest_configure(config):
    config.addinivalue_line("markers", "both_backends: run the module's db_url tests on SQLite and on PostGIS")
    config.addinivalue_line("markers", "all_backends: run the module's db_url tests on SQLite, PostGIS and the "
                                       "in-memory fake")


def pytest_generate_tests(metafunc):
    """Modules marked ``both_backends`` run every test that uses ``db_url`` once per backend."""
    if "db_url" in metafunc.fixturenames and metafunc.definition.get_closest_marker("all_backends"):
        metafunc.parametrize("db_url", ["sqlite", "postgis", "memory"], indirect=True)
    elif "db_url" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_backends"):
        metafunc.parametrize("db_url", ["sqlite", "postgis"], indirect=True)


@pytest.fixture(autouse=True, scope="module")
def _stop_apps_of_the_module():
    """Every app a module made ends its background threads (change watcher, spool replayer,
    search-log writer) when the module ends: left running, the threads of a thousand test apps
    poll their databases until the process ends and starve the tests that follow."""
    import weakref

    from o2o.web.state import live_states

    before = weakref.WeakSet(live_states())
    yield
    for state in live_states():
        if state not in before and not state.keep_alive and not state.shut_down:
            state.shutdown()


def _pg_admin():
    import psycopg

    return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)


def _no_postgis(reason: str):
    """Skip, saying why; under scripts/test.sh (O2O_REQUIRE_POSTGIS=1), where set-up has just
    installed and started PostgreSQL, a missing server is a failure instead."""
    if os.environ.get("O2O_REQUIRE_POSTGIS") == "1":
        pytest.fail(f"PostGIS is required here but unavailable: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgis_template():
    """A template database with PostGIS, or a skip saying why there is none."""
    try:
        import psycopg
    except ImportError:  # pragma: no cover
        _no_postgis("psycopg is not installed (scripts/test.sh installs it)")
    try:
        admin = _pg_admin()
    except psycopg.OperationalError as exc:
        _no_postgis(f"no PostgreSQL at {PG_ADMIN_URL} ({str(exc).strip().splitlines()[0]}); "
                    "scripts/test.sh installs and starts it, or set O2O_TEST_POSTGRES")
    if admin.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'").fetchone() is None:
        admin.close()
        _no_postgis("PostgreSQL has no PostGIS extension (Debian: postgresql-15-postgis-3; scripts/test.sh installs it)")
    name = f"o2o_tmpl_{os.getpid()}"
    admin.execute(f"DROP DATABASE IF EXISTS {name}")
    admin.execute(f"CREATE DATABASE {name}")
    with psycopg.connect(_url_for(name), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION postgis")
    yield name
    admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.close()


def _url_for(database: str) -> str:
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{database}"


@contextmanager
def pg_database(template: str):
    """A fresh, empty PostGIS database made from ``template``; dropped on exit."""
    from o2o.storage.postgis import close_pools

    name = f"o2o_test_{os.getpid()}_{next(_pg_counter)}"
    with _pg_admin() as admin:
        admin.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    url = _url_for(name)
    try:
        yield url
    finally:
        close_pools(url)
        with _pg_admin() as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def pg_url(postgis_template):
    """A fresh, empty PostGIS database for one test."""
    with pg_database(postgis_template) as url:
        yield url


def sql(db_url: str, query: str, params=(), dicts: bool = False) -> list:
    """Run raw SQL on a test database of either backend (``?`` placeholders); commits."""
    if db_url.startswith("sqlite:"):
        import sqlite3

        con = sqlite3.connect(db_url.removeprefix("sqlite:///"))
        if dicts:
            con.row_factory = sqlite3.Row
        try:
            cur = con.execute(query, params)
            rows = cur.fetchall() if cur.description else []
            con.commit()
        finally:
            con.close()
        return [dict(r) for r in rows] if dicts else [tuple(r) for r in rows]
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(db_url, autocommit=True) as con:
        cur = con.cursor(row_factory=dict_row) if dicts else con.cursor()
        cur.execute(query.replace("?", "%s"), params)
        return cur.fetchall() if cur.description else []

# Hand-made stores near People's Square, Shanghai, and one in Beijing.
STORES = [
    # name, brand, category, lon, lat, status, hours
    ("优衣库(来福士店)", "Uniqlo", "Apparel", 121.4760, 31.2330, "open", "10:00-22:00"),
    ("优衣库(南京东路店)", "Uniqlo", "Apparel", 121.4840, 31.2370, "open", "10:00-22:00"),
    ("GAP(新世界店)", "GAP", "Apparel", 121.4720, 31.2350, "open", "10:00-22:00"),
    ("海尔(黄浦专卖店)", "Haier", "Home Appliances", 121.4900, 31.2250, "open", "09:00-21:00"),
    ("国美电器(徐家汇店)", "Gome", "Electronics", 121.4370, 31.1950, "open", "09:30-21:30"),
    ("银泰百货(武林店)", "Intime", "Department Store", 120.1650, 30.2740, "open", "10:00-22:00"),
    ("优衣库(西单店)", "Uniqlo", "Apparel", 116.3740, 39.9070, "open", "10:00-22:00"),
    ("优衣库(已闭店)", "Uniqlo", "Apparel", 121.4755, 31.2320, "closed", "10:00-22:00"),
    ("<script>alert(1)</script>店", "GAP", "Apparel", 121.4600, 31.2300, "open", "10:00-22:00"),
]
RETAILERS = {"Uniqlo": "Fast Retailing", "GAP": "Gap Inc.", "Haier": "Haier Group",
             "Gome": "Gome Retail", "Intime": "Intime Retail"}
DOMAINS = {"Uniqlo": "uniqlo.tmall.com", "GAP": "gap.tmall.com", "Haier": "haier.tmall.com",
           "Gome": "gome.tmall.com", "Intime": "intime.tmall.com"}


def fill(repo) -> dict[str, int]:
    """Insert the hand-made stores; returns retailer ids by brand."""
    ids = {}
    for brand, retailer in RETAILERS.items():
        ids[brand] = repo.create_retailer(retailer, [DOMAINS[brand]])
    rows = []
    for i, (name, brand, cat, lon, lat, status, hours) in enumerate(STORES, start=1):
        rows.append({
            "retailer_id": ids[brand], "external_id": f"T{i:03d}", "name": name, "brand": brand,
            "category": cat, "lon": lon, "lat": lat, "address": f"测试路{i}号 <b>bold</b>",
            "province": "上海市", "city": "上海市", "district": "黄浦区", "hours": hours,
            "phone": "021-6000000" + str(i), "online_url": f"https://{DOMAINS[brand]}/",
            "status": status,
        })
    repo.insert_stores(rows)
    return ids


@pytest.fixture
def db_url(request, tmp_path):
    """The test's database URL: SQLite in a temporary folder, or (``both_backends``) PostGIS too."""
    if getattr(request, "param", "sqlite") == "postgis":
        return request.getfixturevalue("pg_url")
    if getattr(request, "param", "sqlite") == "memory":
        return f"memory://{request.node.nodeid}"
    return f"sqlite:///{tmp_path / 'o2o.db'}"


@pytest.fixture
def app(db_url):
    app = filled_app(db_url)
    register_commands(app)
    yield app
    app.extensions["o2o"].shutdown()


def filled_app(db_url: str, **config):
    """An app (as a server makes it) on ``db_url`` migrated and filled with the hand-made stores;
    ``config`` adds settings (``FAST_NEARBY=False``, ``SIGN_INS_PER_MINUTE=3``, …). The caller
    shuts it down (``app.extensions["o2o"].shutdown()``; the ``app`` fixture does)."""
    repo = open_repository(db_url)
    repo.migrate()
    fill(repo)
    repo.close()
    return create_app({"DATABASE_URL": db_url, "SEED_STORES": 0, "SECRET_KEY": "test", "TESTING": True,
                       "TILES": "none", **config})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(scope="module")
def seeded_app(tmp_path_factory):
    path = tmp_path_factory.mktemp("seeded") / "o2o.db"
    app = create_app({"DATABASE_URL": f"sqlite:///{path}", "SEED_STORES": 2000, "SEED_SCANS": 0,
                      "SECRET_KEY": "test", "TESTING": True, "TILES": "none"})
    register_commands(app)
    yield app
    app.extensions["o2o"].shutdown()


@pytest.fixture
def keys(app, db_url):
    """API keys: two retailers (test.tmall.com and other.tmall.com) and an analyst."""
    from o2o.services import accounts

    repo = open_repository(db_url)
    rid, rkey = accounts.create_retailer(repo, "Test Co", ["test.tmall.com", "shop.test.com"])
    oid, okey = accounts.create_retailer(repo, "Other Co", ["other.tmall.com"])
    aid, akey = accounts.create_analyst(repo, "Ana")
    repo.close()
    return {"retailer": rkey, "retailer_id": rid, "other": okey, "other_id": oid, "analyst": akey}


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}
