"""An app's background threads end when it shuts down, on both backends.

Each process of a served app runs a change watcher, a scan-spool replayer and a search-log writer.
A process that makes many apps (the test suite; a worker reloaded by its server) must be able to end
them: left running, they poll their databases forever.
"""

from __future__ import annotations

import threading
import time

import pytest

from ..conftest import sql

pytestmark = pytest.mark.both_backends

NAMES = ("o2o-data-version", "o2o-listen", "o2o-spool", "o2o-search-log")


def _threads_of(before: set[threading.Thread]) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t not in before and t.name in NAMES and t.is_alive()]


def test_shutdown_ends_the_background_threads_and_the_app_still_answers(app, db_url):
    before = set(threading.enumerate())
    client = app.test_client()
    assert client.get("/api/v1/stores/nearby?lat=31.23&lon=121.47&q=Uniqlo").status_code == 200
    assert client.get("/go/1", headers={"User-Agent": "t"}).status_code in (302, 303)
    started = {t.name for t in _threads_of(before)}
    watcher = "o2o-listen" if db_url.startswith("postgresql") else "o2o-data-version"
    assert {watcher, "o2o-spool", "o2o-search-log"} <= started

    state = app.extensions["o2o"]
    state.shutdown()
    deadline = time.monotonic() + 5.0
    while _threads_of(before) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _threads_of(before) == []
    assert state.index_sync.feed.connected is False  # every read now asks the database

    # Still answers, reading the database itself; and starts no thread again.
    r = client.get("/api/v1/stores/nearby?lat=31.23&lon=121.47&q=Uniqlo")
    assert r.status_code == 200 and r.get_json()["features"]
    assert client.get("/go/1", headers={"User-Agent": "t2"}).status_code in (302, 303)
    assert _threads_of(before) == []


def test_the_search_log_writes_what_it_holds_when_it_stops(app, db_url):
    from o2o.web.demand import search_log

    client = app.test_client()
    assert client.get("/api/v1/stores/nearby?lat=31.23&lon=121.47&q=Uniqlo").status_code == 200
    log = search_log(app)
    log.interval_s = 60.0  # the writer would not look again for a minute: only stopping writes it
    client.get("/api/v1/stores/nearby?lat=31.24&lon=121.48&q=GAP")
    app.extensions["o2o"].shutdown()
    words = {row["words"] for row in sql(db_url, "SELECT words FROM searches", dicts=True)}
    assert {"Uniqlo", "GAP"} <= words
