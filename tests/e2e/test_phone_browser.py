"""A shopper on a phone (Chromium at 360 and 390 px, touch): no page scrolls sideways, the menu
reaches every page, the list is a sheet over the map that the thumb pulls up, every control is a
48 px target, and a tile server that cannot be reached leaves the offline basemap, not a blank map."""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from o2o.web import create_app

from .conftest import ARTIFACTS, _QuietHandler, browsing

PHONE = {"height": 800}
SHANGHAI = "lat=31.2304&lon=121.4737&z=14"


def _phone(browser, width=390, lang="zh-CN"):
    return browsing(browser, viewport={"width": width, **PHONE}, is_mobile=True, has_touch=True,
                    device_scale_factor=2, locale=lang)


def _a_store_and_brand(base, page):
    page.goto(f"{base}/?{SHANGHAI}")
    page.wait_for_selector("#results li")
    store_id = page.get_attribute("#results li >> nth=0", "data-id")
    page.goto(f"{base}/stores/{store_id}")
    brand_href = page.get_attribute(".crumbs a", "href")
    return f"/stores/{store_id}", brand_href


@pytest.mark.parametrize("width", [360, 390])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_page_is_wider_than_the_phone(browser, live_server, width, lang):
    with _phone(browser, width) as (context, page):
        store, brand = _a_store_and_brand(live_server, page)
        for path in ["/", f"/?{SHANGHAI}", store, brand, "/my", "/retailer", "/analytics"]:
            sep = "&" if "?" in path else "?"
            page.goto(f"{live_server}{path}{sep}lang={lang}")
            page.wait_for_load_state("load")
            page.wait_for_timeout(300)
            wide = page.evaluate("""() => {
                const w = document.documentElement.clientWidth;
                const over = [...document.querySelectorAll('body *')].filter(e => {
                    const r = e.getBoundingClientRect();
                    return r.width && r.right > w + 1 && getComputedStyle(e).position !== 'fixed'
                        && !e.closest('.leaflet-container, .brand-chips, .table-wrap, .tables');
                }).slice(0, 3).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right));
                return {scroll: document.documentElement.scrollWidth, width: w, over};
            }""")
            assert wide["scroll"] <= width and not wide["over"], (path, lang, wide)
        assert not page.js_errors


def test_the_phone_menu_reaches_every_page(browser, live_server):
    with _phone(browser) as (context, page):
        store, brand = _a_store_and_brand(live_server, page)
        destinations = {"/", "/my", "/retailer", "/analytics"}
        for start in ["/", store, brand, "/my"]:
            page.goto(live_server + start)
            nav = page.locator("#site-nav")
            assert not nav.is_visible()                      # folded away on a phone
            button = page.locator("#menu-button")
            box = button.bounding_box()
            assert box["width"] >= 48 and box["height"] >= 48
            button.click()
            assert button.get_attribute("aria-expanded") == "true" and nav.is_visible()
            hrefs = {a.get_attribute("href") for a in nav.locator("a").all()}
            assert destinations <= hrefs, (start, hrefs)
            for link in nav.locator("a").all():
                b = link.bounding_box()
                assert b["height"] >= 48 and b["width"] >= 200
            page.keyboard.press("Escape")
            assert not nav.is_visible()
        # and it takes the shopper there: from the home page to My 11.11
        page.goto(live_server + "/")
        page.click("#menu-button")
        page.click("#site-nav a[href='/my']")
        page.wait_for_url("**/my")
        assert page.locator("h1").inner_text() == "我的双11"
        assert not page.js_errors


def test_the_list_is_a_sheet_the_thumb_pulls_up(browser, live_server):
    with _phone(browser) as (context, page):
        page.goto(f"{live_server}/?{SHANGHAI}")
        page.wait_for_selector("#results li")
        sheet = page.locator("#sheet")
        handle = page.locator("#sheet-handle")
        map_box = page.locator("#map").bounding_box()
        assert sheet.get_attribute("data-sheet") == "peek"
        peek_top = sheet.bounding_box()["y"]
        assert peek_top > map_box["y"] + map_box["height"] / 2      # most of the map shows
        assert page.locator("#results li >> nth=0").bounding_box()["y"] < 800  # the nearest peeks in
        handle.tap()
        page.wait_for_timeout(400)
        assert sheet.get_attribute("data-sheet") == "half" and handle.get_attribute("aria-expanded") == "true"
        # dragged up to the top with a finger (pointer events), it opens fully
        box = handle.bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 20)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] / 2, 60, steps=12)
        page.mouse.up()
        page.wait_for_timeout(400)
        assert sheet.get_attribute("data-sheet") == "full"
        assert sheet.bounding_box()["y"] < peek_top - 300
        page.screenshot(path=str(ARTIFACTS / "phone-sheet.png"))
        # choosing a store brings the map back with the store's popup open
        name = page.locator("#results li >> nth=1").get_attribute("data-id")
        page.locator("#results li >> nth=1").click()
        page.wait_for_timeout(600)
        assert sheet.get_attribute("data-sheet") == "peek"
        page.wait_for_timeout(1000)   # markers that arrive as the map moves do not close it
        assert page.locator(".leaflet-popup").count() == 1
        assert f"store={name}" in page.url
        # 48 px targets for the controls a thumb uses
        for selector in ["#q", "#search-form button", "#category", "#city", "#locate", "#sheet-handle",
                         "#menu-button", ".leaflet-control-zoom-in", ".lang-switch"]:
            b = page.locator(selector).bounding_box()
            assert b["height"] >= 44 and b["width"] >= 44, (selector, b)
        for selector in ["#q", "#search-form button", "#category", "#city", "#locate", "#sheet-handle", "#menu-button"]:
            assert page.locator(selector).bounding_box()["height"] >= 48, selector
        assert not page.js_errors


def test_zoom_is_allowed(browser, live_server):
    with _phone(browser) as (context, page):
        for path in ["/", "/my"]:
            page.goto(live_server + path)
            viewport = page.get_attribute("meta[name=viewport]", "content")
            assert "user-scalable=no" not in viewport.replace(" ", "") and "maximum-scale=1" not in viewport


@pytest.fixture(scope="module")
def dead_tiles_server(tmp_path_factory):
    """The app configured with a tile server that cannot be reached (as on an intranet)."""
    path = tmp_path_factory.mktemp("deadtiles") / "o2o.db"
    app = create_app({"DATABASE_URL": f"sqlite:///{path}", "SEED_STORES": 300, "SEED_SCANS": 0,
                      "SECRET_KEY": "test", "TILES": "http://127.0.0.1:9/{z}/{x}/{y}.png"})
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.mark.parametrize("page_kind", ["finder", "store", "brand", "my"])
def test_tiles_that_fail_fall_back_to_the_offline_basemap(browser, dead_tiles_server, page_kind):
    with _phone(browser) as (context, page):
        page.goto(f"{dead_tiles_server}/?lat=31.2304&lon=121.4737&z=5")
        page.wait_for_selector("#results li")
        if page_kind == "store":
            page.goto(dead_tiles_server + "/stores/" + page.get_attribute("#results li >> nth=0", "data-id"))
        elif page_kind == "my":
            page.goto(dead_tiles_server + "/my")
        elif page_kind == "brand":  # its stores come from the app's own vector tiles: still drawn
            slug = page.evaluate("fetch('/api/v1/brands').then(r => r.json()).then(b => b[0].slug)")
            page.goto(dead_tiles_server + "/brands/" + slug)
            page.wait_for_selector("#map_brand .tile-cluster", timeout=15000)
        # the outlines drawn (SVG paths in the map), the tile layer gone, a note saying so
        page.wait_for_selector(".leaflet-container.offline-basemap", timeout=15000)
        page.wait_for_selector(".basemap-note", timeout=5000)
        assert "离线地图" in page.locator(".basemap-note").inner_text()
        page.wait_for_function("Number(document.querySelector('.offline-basemap').dataset.outlinesProvinces) > 30"
                               " && document.querySelector('.leaflet-overlay-pane canvas')", timeout=15000)
        assert page.locator(".leaflet-tile-pane img").count() == 0
        assert "离线底图" in page.locator(".leaflet-control-attribution").inner_text()
        page.screenshot(path=str(ARTIFACTS / f"phone-fallback-{page_kind}.png"))
        assert not page.js_errors


def test_the_offline_outlines_are_light_enough_for_a_phone(live_server):
    import gzip

    import requests

    def packed(path):
        r = requests.get(live_server + path)
        assert r.status_code == 200, path
        return len(gzip.compress(r.content, 6))

    # all of China's provinces, drawn first (measured 64 KB; 146 KB before)
    assert packed("/geodata/provinces.geojson") < 80_000
    # cities come for the view: what a phone at zoom 7 over Shanghai asks for (the map snaps the box)
    assert packed("/geodata/cities.geojson?bbox=115,25,125,35") < 60_000
    assert requests.get(live_server + "/geodata/cities.geojson?bbox=70,15,135,55").status_code == 400
