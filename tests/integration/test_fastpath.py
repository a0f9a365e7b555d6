"""The WSGI-level nearby path (o2o/web/fastpath.py) answers exactly as Flask does, or leaves the
request to Flask: side by side, on both backends, for the requests it takes and for the ones it
must not take. Its side effects (metrics, the request log, the search log) are Flask's too."""

from __future__ import annotations

import logging
import time
from urllib.parse import quote

import pytest
from werkzeug.test import Client

from o2o import metrics
from o2o.web.fastpath import FastNearby, parse

pytestmark = pytest.mark.both_backends

NEARBY = "/api/v1/stores/nearby"
HERE = "lat=31.2330&lon=121.4760"

# Requests the path answers itself.
TAKEN = [
    HERE,
    f"{HERE}&k=3",
    f"{HERE}&k=200",
    f"lon=121.4760&lat=31.2330&k=1",
    f"{HERE}&radius_km=1.5",
    f"{HERE}&radius_km=0.001",            # nothing within: the nearest beyond, and a message
    f"{HERE}&radius_km=0",
    f"{HERE}&brand=Uniqlo",
    f"{HERE}&brand=Uniqlo&brand=GAP&k=5",
    f"{HERE}&brand=Nobody",                # no store at all
    f"{HERE}&brand=Nobody&radius_km=2",
    f"{HERE}&category=Apparel&retailer={quote('Gap Inc.')}",
    f"{HERE}&brand={quote('优衣库')}",     # percent-encoded Chinese is ASCII on the wire
    f"{HERE}&brand=&category=&_=1700000000",  # empty filters and a cache buster: ignored
    "lat=39.9070&lon=116.3740&k=2",
    "lat=-33.8688&lon=151.2093&k=2",       # far from every store
    "lat=90&lon=-180&k=1",
]

# Requests it must leave to Flask (Flask's answer, whatever it is, is the one given).
LEFT = [
    f"{HERE}&q=Uniqlo",
    f"{HERE}&q=",
    f"{HERE}&crs=gcj02",
    f"{HERE}&crs=wgs84",
    f"{HERE}&k=0",
    f"{HERE}&k=201",
    f"{HERE}&k=020",
    f"{HERE}&k=2.0",
    f"{HERE}&k=abc",
    "lat=91&lon=121.476",
    "lat=31.233&lon=181",
    "lat=3.1e1&lon=121.476",
    "lat=31.233",
    "lon=121.476",
    "",
    f"{HERE}&lat=31.3",
    f"{HERE}&radius_km=-1",
    f"{HERE}&radius_km=101",
    f"{HERE}&radius_km=",
    f"{HERE}&radius_km=nan",
    f"{HERE}&brand=%20Uniqlo",
    f"{HERE}&brand=" + "x" * 201,
    "lat=%2031.233&lon=121.476",
    "lat=31.233&lon=121.476&k=%FF",
]


@pytest.fixture
def pair(app):
    fast = app.wsgi_app
    assert isinstance(fast, FastNearby)
    flask_only = Client(fast.flask)
    client = Client(app)
    # The change watcher listening, and every store's Feature cached (Flask's path caches them).
    client.get("/healthz")
    feed = app.extensions["o2o"].index_sync.feed
    deadline = time.monotonic() + 10
    while not feed.connected and time.monotonic() < deadline:
        time.sleep(0.02)
    assert feed.connected
    flask_only.get(f"{NEARBY}?{HERE}&k=200")
    return fast, client, flask_only


def _both(fast, client, flask_only, query: str, headers: dict | None = None, **kw):
    """The same request to the app and to Flask alone, in the same minute (``open_now`` and the
    ETag follow the minute); returns (answered here?, fast response, Flask's response)."""
    for _ in range(3):
        minute = int(time.time() // 60)
        before = fast.answered
        got = client.get(f"{NEARBY}?{query}", headers=headers, **kw)
        want = flask_only.get(f"{NEARBY}?{query}", headers=headers, **kw)
        if int(time.time() // 60) == minute:
            return fast.answered - before == 1, got, want
    raise AssertionError("three minute boundaries in a row")


def _same(got, want, what: str = "") -> None:
    assert got.status_code == want.status_code, what
    assert got.get_data() == want.get_data(), what
    assert sorted(got.headers.items()) == sorted(want.headers.items()), what


def test_the_requests_it_takes_get_flasks_answer_byte_for_byte(pair):
    fast, client, flask_only = pair
    for query in TAKEN:
        # Flask's path first, so that stores not seen yet (a far query) are in the cache.
        flask_only.get(f"{NEARBY}?{query}")
        taken, got, want = _both(fast, client, flask_only, query, headers={"X-Request-Id": "same-id-1"})
        assert taken, query
        assert got.status_code == 200, query
        _same(got, want, query)


HEADERS = [
    {"Accept-Encoding": "gzip, deflate, br, zstd"},
    {"Accept-Encoding": "br"},
    {"Accept-Encoding": "gzip"},
    {"Accept-Encoding": "zstd;q=0, br;q=0, gzip;q=0"},
    {"Accept-Language": "en-US,en;q=0.9"},
    {"Host": "shop.example.cn:8443"},
    {"Cookie": "o2o_lang=en; session=not-a-session"},
    {"X-Request-Id": "has spaces"},     # replaced by a new id: compared by its form below
]


def test_headers_that_change_the_answer_change_it_the_same_way(pair):
    fast, client, flask_only = pair
    query = f"{HERE}&k=20"
    for headers in HEADERS:
        taken, got, want = _both(fast, client, flask_only, query, headers={"X-Request-Id": "hdr", **headers})
        assert taken, headers
        if headers.get("X-Request-Id") == "has spaces":
            a, b = got.headers["X-Request-Id"], want.headers["X-Request-Id"]
            assert a != "has spaces" and len(a) == len(b) == 32
            got.headers["X-Request-Id"] = b
        _same(got, want, str(headers))
        if "Accept-Encoding" in headers and "q=0" not in headers["Accept-Encoding"]:
            assert got.headers["Content-Encoding"] and got.headers["ETag"].endswith(
                ':' + got.headers["Content-Encoding"] + '"')


def test_https_answers_carry_hsts_and_https_links(pair):
    fast, client, flask_only = pair
    taken, got, want = _both(fast, client, flask_only, HERE, headers={"X-Request-Id": "tls"},
                             base_url="https://o2o.example.cn")
    assert taken
    _same(got, want)
    assert "Strict-Transport-Security" in got.headers
    assert b'"go_url":"https://o2o.example.cn/go/' in got.get_data()


def test_the_requests_it_leaves_get_flasks_answer(pair):
    fast, client, flask_only = pair
    for query in LEFT:
        taken, got, want = _both(fast, client, flask_only, query, headers={"X-Request-Id": "same-id-2"})
        assert not taken, query
        _same(got, want, query)
        assert got.status_code in (200, 400), (query, got.get_data(as_text=True))


def test_conditional_head_key_holder_and_post_requests_are_left_to_flask(pair):
    fast, client, flask_only = pair
    tag = client.get(f"{NEARBY}?{HERE}").headers["ETag"]
    before = fast.answered
    assert client.get(f"{NEARBY}?{HERE}", headers={"If-None-Match": tag}).status_code == 304
    assert client.head(f"{NEARBY}?{HERE}").status_code == 200
    keyed = client.get(f"{NEARBY}?{HERE}", headers={"Authorization": "Bearer nope"})
    assert keyed.status_code == 200 and keyed.headers["Cache-Control"] == "no-store" and "ETag" not in keyed.headers
    assert client.post(f"{NEARBY}?{HERE}").status_code == 405
    assert fast.answered == before


def test_a_store_not_yet_cached_goes_to_flask_which_caches_it(app):
    client = Client(app)
    fast = app.wsgi_app
    client.get("/healthz")
    feed = app.extensions["o2o"].index_sync.feed
    deadline = time.monotonic() + 10
    while not feed.connected and time.monotonic() < deadline:
        time.sleep(0.02)
    app.extensions["o2o"].features.clear()
    before = fast.answered
    assert client.get(f"{NEARBY}?{HERE}&k=3").status_code == 200
    assert fast.answered == before          # Flask read the stores
    assert client.get(f"{NEARBY}?{HERE}&k=3").status_code == 200
    assert fast.answered == before + 1      # now from memory


def test_a_change_is_seen_by_the_path_as_by_flask(app, pair):
    """A store moved by a write: the next answer here has it where Flask has it."""
    fast, client, flask_only = pair
    first = client.get(f"{NEARBY}?{HERE}&k=1").get_json()["features"][0]
    sid = first["id"]
    repo = app.extensions["o2o"].raw_repo()
    repo.update_store(sid, {"name": "优衣库(改名店)"})
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        client.get(f"{NEARBY}?{HERE}&k=1")          # Flask's path re-reads the changed store
        got = client.get(f"{NEARBY}?{HERE}&k=1").get_json()["features"][0]
        if got["properties"]["name"] == "优衣库(改名店)":
            break
        time.sleep(0.05)
    assert got["properties"]["name"] == "优衣库(改名店)"
    taken, a, b = _both(fast, client, flask_only, f"{HERE}&k=1", headers={"X-Request-Id": "c"})
    assert taken
    _same(a, b)


def _count(endpoint: str) -> float:
    return metrics.REGISTRY.get_sample_value(
        "o2o_http_request_duration_seconds_count", {"endpoint": endpoint, "method": "GET", "status": "2xx"}) or 0.0


def test_its_answers_are_counted_logged_and_kept_in_the_search_log(pair, caplog):
    from o2o.web.demand import search_log

    fast, client, flask_only = pair
    counted = _count("api.nearby")
    before = fast.answered
    caplog.set_level(logging.INFO, logger="o2o.request")
    client.get(f"{NEARBY}?{HERE}&brand=GAP", headers={"X-Request-Id": "fast-log-1"})
    assert fast.answered == before + 1
    assert _count("api.nearby") - counted == 1
    lines = [r for r in caplog.records if r.name == "o2o.request" and getattr(r, "request_id", "") == "fast-log-1"]
    assert len(lines) == 1
    assert (lines[0].path, lines[0].status, lines[0].endpoint) == (NEARBY, 200, "api.nearby")
    held = list(search_log(fast.app)._buffer)
    assert any(row[1] == "nearby" and row[5] == "GAP" for row in held), held


def test_the_parser_reads_what_nearby_params_reads():
    q = parse("lat=31.5&lon=-121.25&k=7&radius_km=2.5&brand=A&brand=B&category=C&x=1")
    assert (q.lat, q.lon, q.k, q.radius_km, q.brand, q.category, q.retailer) == (
        31.5, -121.25, 7, 2.5, ["A", "B"], ["C"], [])
    assert parse("lat=1&lon=2").k == 20
    assert parse("lat=1&lon=2&q=x") is None
    assert parse("lat=1") is None
    assert parse("lat=1&lon=2&lon=3") is None
    assert parse("lat=1&lon=2&brand=%E4%BC%98%E8%A1%A3%E5%BA%93").brand == ["优衣库"]


def test_it_can_be_switched_off(tmp_path):
    from tests.conftest import filled_app

    app = filled_app(f"sqlite:///{tmp_path / 'off.db'}", FAST_NEARBY=False)
    try:
        assert not isinstance(app.wsgi_app, FastNearby)
        assert app.test_client().get(f"{NEARBY}?{HERE}").status_code == 200
    finally:
        app.extensions["o2o"].shutdown()


# ----------------------------------------------------------------------------- /ogc items
ITEMS = "/ogc/collections/stores/items"
BOX = "bbox=121.40,31.18,121.55,31.28"

ITEMS_TAKEN = [
    "",
    "f=json",
    BOX,
    f"{BOX}&limit=2",
    f"{BOX}&limit=2&offset=2",
    f"{BOX}&limit=2&offset=4",          # past the end: no next link
    f"limit=3&offset=3&f=json",
    f"{BOX}&brand=Uniqlo",
    f"{BOX}&category=Apparel&limit=1",
    f"brand={quote('Gap Inc.')}",          # a brand no store has: nothing matched
    f"retailer={quote('Gap Inc.')}&f=json",
    "bbox=0,0,1,1",                        # an empty box
    "limit=1000",
]

ITEMS_LEFT = [
    "f=html",
    "lang=en",
    "datetime=2026-11-11T00:00:00Z",
    "crs=http://www.opengis.net/def/crs/OGC/1.3/CRS84",
    "bbox=121.40,31.18,0,121.55,31.28,0",  # six numbers: Flask reads them
    "bbox=121.5,31.2,121.4,31.3",          # min after max: Flask's 400
    "bbox=1,2,3",
    "limit=0",
    "limit=1001",
    "limit=01",
    "offset=-1",
    "offset=100000001",                    # past ItemsParams' bound: Flask's 400
    "limit=2&limit=3",
    "nonsense=1",
    "brand=",
    "brand=%20GAP",
    "f=xml",
]


def _both_items(fast, client, flask_only, query: str, headers: dict | None = None, **kw):
    """As _both, within one second (the page's timeStamp) and one minute (its ETag)."""
    for _ in range(5):
        second = int(time.time())
        before = fast.answered
        got = client.get(f"{ITEMS}?{query}", headers=headers, **kw)
        want = flask_only.get(f"{ITEMS}?{query}", headers=headers, **kw)
        if int(time.time()) == second:
            return fast.answered - before == 1, got, want
    raise AssertionError("five second boundaries in a row")


def test_ogc_pages_it_takes_get_flasks_answer_byte_for_byte(pair):
    fast, client, flask_only = pair
    for query in ITEMS_TAKEN:
        flask_only.get(f"{ITEMS}?{query}")   # the pager made, the stores of the page cached
        taken, got, want = _both_items(fast, client, flask_only, query, headers={"X-Request-Id": "ogc-1"})
        assert taken, query
        assert got.status_code == 200, query
        _same(got, want, query)
        assert got.headers["Content-Crs"] and got.headers["Access-Control-Allow-Origin"] == "*"


def test_ogc_pages_follow_the_accept_header_and_host_as_flask_does(pair):
    fast, client, flask_only = pair
    flask_only.get(f"{ITEMS}?{BOX}")
    for headers, taken_expected in [
        ({"Accept": "application/geo+json"}, True),
        ({"Accept": "application/json"}, True),
        ({"Accept": "*/*"}, True),
        ({"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}, False),  # a browser: HTML
        ({"Accept-Encoding": "gzip, br"}, True),
        ({"Host": "gis.example.cn"}, True),
    ]:
        taken, got, want = _both_items(fast, client, flask_only, f"{BOX}&limit=3",
                                       headers={"X-Request-Id": "ogc-2", **headers})
        assert taken is taken_expected, headers
        _same(got, want, str(headers))
    # The language cookie keys the ETag: Flask's (clients that keep no cookie jar, which would
    # write over the header).
    plain, plain_flask = Client(fast.app, use_cookies=False), Client(fast.flask, use_cookies=False)
    for cookie in ("lang=en", "lang=zh; other=1"):
        taken, got, want = _both_items(fast, plain, plain_flask, f"{BOX}&limit=3",
                                       headers={"X-Request-Id": "c", "Cookie": cookie})
        assert not taken, cookie
        _same(got, want, cookie)
    for headers, taken_expected in []:
        assert taken is taken_expected, headers
        _same(got, want, str(headers))
    # the next link pages on, and the fast path follows it like Flask
    nxt = [link["href"] for link in client.get(f"{ITEMS}?{BOX}&limit=2").get_json()["links"] if link["rel"] == "next"]
    assert nxt and "offset=2" in nxt[0]


def test_ogc_pages_it_leaves_get_flasks_answer(pair):
    fast, client, flask_only = pair
    flask_only.get(f"{ITEMS}?{BOX}")
    for query in ITEMS_LEFT:
        taken, got, want = _both_items(fast, client, flask_only, query, headers={"X-Request-Id": "ogc-3"})
        assert not taken, query
        _same(got, want, query)
        assert got.status_code in (200, 400), (query, got.get_data(as_text=True))


def test_it_reads_the_clock_the_flask_view_reads(pair, monkeypatch):
    """open_now on the fast path follows api.now_beijing, as Flask's view does (one clock)."""
    from datetime import datetime

    from o2o.geo.hours import BEIJING
    from o2o.web import api

    fast, client, flask_only = pair
    for hour, expected in ((3, False), (12, True)):   # the hand-made stores open 10:00-22:00
        monkeypatch.setattr(api, "now_beijing", lambda h=hour: datetime(2026, 11, 13, h, 0, tzinfo=BEIJING))
        before = fast.answered
        first = client.get(f"{NEARBY}?{HERE}&k=1").get_json()["features"][0]
        assert fast.answered == before + 1
        assert first["properties"]["open_now"] is expected, hour
