"""The read path learns of changes by notification, not by asking the database per request.

PostgreSQL ``LISTEN/NOTIFY`` and SQLite's ``PRAGMA data_version`` (o2o.storage.watch): searches
read no revision while the feed listens; a change made by another process is seen without that
(the safety net is switched off here, so nothing but the notification can deliver it); this
process's own writes are seen at once; a listener whose connection is cut reconnects and looks
again. The bound across gunicorn workers is tested in test_workers.py.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from .. import conftest

pytestmark = pytest.mark.both_backends

ROOT = Path(__file__).resolve().parents[2]
NEAR_SZ = "/api/v1/stores/nearby?lat=22.54&lon=114.06&k=1"


def _listening(app, client):
    """The app's feed, once its watcher listens (started by the first request)."""
    client.get("/healthz")
    feed = app.extensions["o2o"].index_sync.feed
    deadline = time.monotonic() + 30
    while not feed.connected:
        assert time.monotonic() < deadline, "the change watcher never started listening"
        time.sleep(0.01)
    feed.safety_s = 3600.0  # no safety-net re-reads: only the feed can deliver a change
    return feed


def _first_name(client):
    return client.get(NEAR_SZ).get_json()["features"][0]["properties"]["name"]


def test_searches_read_no_revision_while_the_feed_listens(app, client, monkeypatch):
    feed = _listening(app, client)
    client.get(NEAR_SZ)
    repo_class = type(app.extensions["o2o"].raw_repo())
    calls = []
    real = repo_class.sync_marks
    monkeypatch.setattr(repo_class, "sync_marks", lambda self: (calls.append(1), real(self))[1])
    for i in range(50):
        assert client.get(f"/api/v1/stores/nearby?lat=31.23&lon={121.40 + i / 1000:.3f}&k=5").status_code == 200
    assert calls == [] and feed.connected


def _insert_elsewhere(db_url: str, external_id: str, name: str) -> None:
    """Another process writes (so no commit hook of this one can tell)."""
    code = ("import sys; from o2o.storage import open_repository; r = open_repository(sys.argv[1]);"
            "rid = r.list_retailers()[0]['id'];"
            "r.insert_stores([{'retailer_id': rid, 'external_id': sys.argv[2], 'name': sys.argv[3], 'brand': 'Uniqlo',"
            " 'category': 'Apparel', 'lon': 114.06, 'lat': 22.54, 'address': '深圳市福田区',"
            " 'online_url': 'https://uniqlo.tmall.com/', 'status': 'open'}]); r.close()")
    subprocess.run([sys.executable, "-c", code, db_url, external_id, name], check=True, cwd=ROOT)


def _wait_for_name(client, name, timeout_s=20.0) -> float:
    started = time.monotonic()
    while _first_name(client) != name:
        assert time.monotonic() - started < timeout_s, f"{name} never appeared"
        time.sleep(0.005)
    return time.monotonic() - started


def test_a_change_by_another_process_arrives_by_notification(app, client, db_url):
    _listening(app, client)
    assert _first_name(client) != "通知来的店"
    _insert_elsewhere(db_url, "N1", "通知来的店")
    waited = _wait_for_name(client, "通知来的店")
    print(f"seen {waited * 1000:.0f} ms after the writing process exited")


def test_a_write_of_this_process_is_read_at_once(app, client, db_url, keys):
    _listening(app, client)
    r = client.post("/api/v1/stores", headers=conftest.bearer(keys["retailer"]), json={
        "external_id": "RYOW", "name": "自己写的店", "brand": "Uniqlo", "category": "Apparel",
        "lat": 22.54, "lon": 114.06, "online_url": "https://test.tmall.com/"})
    assert r.status_code == 201
    assert _first_name(client) == "自己写的店"  # no waiting: the commit moved this process's feed


def test_a_listener_that_loses_its_connection_reconnects_and_looks_again(app, client, db_url):
    feed = _listening(app, client)
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite's watcher has no server connection to lose")
    watcher = feed.watcher
    before = watcher.reconnects
    conftest.sql(db_url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database()"
                         " AND query ILIKE 'LISTEN%%'")
    deadline = time.monotonic() + 30
    while watcher.reconnects == before or not feed.connected:
        assert time.monotonic() < deadline, "the listener did not reconnect"
        time.sleep(0.01)
    _insert_elsewhere(db_url, "N2", "重连后的店")
    _wait_for_name(client, "重连后的店")
