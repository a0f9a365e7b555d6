"""Fixtures: a fresh app on a temporary database, its client and CLI runner.

``app`` holds a small hand-made set of stores (fast, exact expectations); ``seeded_app`` holds
2,000 stores from the real generator (module-scoped: built once per module that asks).
"""

from __future__ import annotations

import pytest

from o2o.cli import register_commands
from o2o.storage.sqlite import SqliteRepository
from o2o.web import create_app

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


def fill(repo: SqliteRepository) -> dict[str, int]:
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
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'o2o.db'}"


@pytest.fixture
def app(db_url):
    repo = SqliteRepository.from_url(db_url)
    repo.migrate()
    fill(repo)
    repo.close()
    app = create_app({"DATABASE_URL": db_url, "SEED_STORES": 0, "SECRET_KEY": "test", "TESTING": True,
                      "TILES": "none"})
    register_commands(app)
    return app


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
    return app


@pytest.fixture
def keys(app, db_url):
    """API keys: two retailers (test.tmall.com and other.tmall.com) and an analyst."""
    from o2o.services import accounts

    repo = SqliteRepository.from_url(db_url)
    rid, rkey = accounts.create_retailer(repo, "Test Co", ["test.tmall.com", "shop.test.com"])
    oid, okey = accounts.create_retailer(repo, "Other Co", ["other.tmall.com"])
    aid, akey = accounts.create_analyst(repo, "Ana")
    repo.close()
    return {"retailer": rkey, "retailer_id": rid, "other": okey, "other_id": oid, "analyst": akey}


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}
