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
BUILDS = ("o2o-search-build", "o2o-product-search-build")  # one-shot: they may be done already


def _threads_of(before: set[threading.Thread], names=NAMES + BUILDS) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t not in before and t.name in names and t.is_alive()]


def _wait_for_the_end(before) -> None:
    """The watchers end within their poll or their wait for notifications (1 s)."""
    deadline = time.monotonic() + 5.0
    while _threads_of(before) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _threads_of(before) == []


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
    _wait_for_the_end(before)
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


def test_shutdown_waits_for_the_index_builds_and_searches_still_answer(app, db_url):
    """The one-shot builds of the text and product search indexes are joined, not left running
    beside whatever the process does next (two threads compiling at once can trip CPython 3.11's
    compiler, gh-106905); afterwards a search builds its index itself, in the request."""
    from o2o.web.products import catalogue_cache

    before = set(threading.enumerate())
    client = app.test_client()
    assert client.get("/healthz").status_code in (200, 503)  # the first request starts both builds
    state = app.extensions["o2o"]
    catalogue = catalogue_cache(app)
    assert state.search_sync.thread is not None and catalogue.thread is not None
    state.shutdown()
    # No waiting here: shutdown() itself waited for them.
    assert not state.search_sync.thread.is_alive() and not catalogue.thread.is_alive()
    _wait_for_the_end(before)

    r = client.get("/api/v1/stores/nearby?q=%E4%BC%98%E8%A1%A3%E5%BA%93&lat=31.23&lon=121.47")
    assert r.status_code == 200, r.get_data(as_text=True)
    r = client.get("/api/v1/products?q=a")
    assert r.status_code == 200, r.get_data(as_text=True)
    assert _threads_of(before) == []


def test_an_app_shut_down_before_any_request_builds_its_indexes_in_the_request(app):
    before = set(threading.enumerate())
    app.extensions["o2o"].shutdown()
    _wait_for_the_end(before)
    client = app.test_client()
    r = client.get("/api/v1/stores/nearby?q=Uniqlo&lat=31.23&lon=121.47")
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.get_json()["features"]
    assert client.get("/api/v1/products?q=a").status_code == 200
    assert _threads_of(before) == []
