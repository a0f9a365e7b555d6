"""A read replica: public reads go there once it has caught up; lag never hides a change."""

from __future__ import annotations

import sqlite3

import pytest

from o2o.storage.replica import ReplicaRouter
from o2o.web import create_app

from ..conftest import bearer, sql


def copy_database(src_url: str, dst_url: str) -> None:
    """What replication does, at once: the replica becomes a copy of the primary."""
    src = sqlite3.connect(src_url.removeprefix("sqlite:///"))
    dst = sqlite3.connect(dst_url.removeprefix("sqlite:///"))
    src.backup(dst)
    src.close()
    dst.close()


@pytest.fixture
def replicated(app, db_url, tmp_path, keys):
    replica_url = f"sqlite:///{tmp_path / 'replica.db'}"
    copy_database(db_url, replica_url)
    app = create_app({"DATABASE_URL": db_url, "READ_DATABASE_URL": replica_url, "SEED_STORES": 0,
                      "SECRET_KEY": "t", "TESTING": True, "TILES": "none"})
    return app, replica_url


def nearest_name(client, lat=31.2330, lon=121.4760):
    body = client.get(f"/api/v1/stores/nearby?lat={lat}&lon={lon}&k=1").get_json()
    return body["features"][0]["properties"]["name"]


def test_public_reads_come_from_a_caught_up_replica(replicated):
    app, replica_url = replicated
    sql(replica_url, "UPDATE stores SET name = '副本里的名字' WHERE external_id = 'T001'")  # only there
    client = app.test_client()
    assert nearest_name(client) == "副本里的名字"
    router = app.extensions["o2o"].raw_repo()
    assert isinstance(router, ReplicaRouter) and router.reads["replica"] > 0


def test_a_lagging_replica_never_hides_a_new_store(replicated, db_url, keys):
    app, replica_url = replicated
    client = app.test_client()
    assert nearest_name(client, 22.54, 114.06) != "深圳新店"
    r = client.post("/api/v1/stores", headers=bearer(keys["retailer"]), json={
        "external_id": "SZ1", "name": "深圳新店", "brand": "Uniqlo", "category": "Apparel",
        "lat": 22.54, "lon": 114.06})
    assert r.status_code == 201
    router = app.extensions["o2o"].raw_repo()
    before = dict(router.reads)
    assert nearest_name(client, 22.54, 114.06) == "深圳新店"  # the replica lacks it: the primary answered
    assert router.reads["primary"] > before["primary"]
    copy_database(db_url, replica_url)  # the replica catches up
    before = dict(router.reads)
    assert nearest_name(client, 22.54, 114.06) == "深圳新店"
    assert client.get("/api/v1/brands").status_code == 200
    assert router.reads["replica"] > before["replica"] and router.reads["primary"] == before["primary"]


class Fake:
    def __init__(self, rev, fail=False):
        self.rev, self.fail = rev, fail

    def sync_marks(self):
        return self.rev, 0

    def current_rev(self):
        if self.fail:
            raise OSError("replica down")
        return self.rev

    def brand_counts(self):
        return [("from", self)]

    def create_retailer(self, *a):
        return self


def test_routing_rules():
    primary, replica = Fake(5), Fake(4)
    router = ReplicaRouter(primary, replica)
    router.sync_marks()
    assert router.brand_counts()[0][1] is primary  # behind: the primary answers
    replica.rev = 5
    assert router.brand_counts()[0][1] is replica  # caught up
    assert router.create_retailer("x") is primary  # writes: always the primary
    primary.rev = 9
    router.current_rev()
    assert router.brand_counts()[0][1] is primary
    down = ReplicaRouter(Fake(1), Fake(1, fail=True))
    down.sync_marks()
    assert down.brand_counts()[0][1] is down.primary  # a replica that is down: the primary answers
