"""The brand page's map in Chromium: the brand's stores come from the vector tiles (server-side
clusters drawn with plain Leaflet), not a store list clustered in the browser."""

from __future__ import annotations

import requests

from .conftest import ARTIFACTS

COUNT_POINTS = """() => Array.from(document.querySelectorAll('#map_brand .leaflet-marker-icon')).reduce(
    (n, el) => n + (el.classList.contains('tile-cluster') ? Number(el.textContent) : 1), 0)"""


def test_the_brand_map_shows_every_store_of_the_brand_from_the_tiles(live_server, page):
    brand = requests.get(live_server + "/api/v1/brands", timeout=10).json()[0]
    tiles = []
    page.on("request", lambda r: tiles.append(r.url) if "/tiles/stores/" in r.url else None)
    page.goto(f"{live_server}/brands/{brand['slug']}")
    html = page.content()
    assert "markercluster" not in html  # no clustering in the browser, no store list in the page
    page.wait_for_selector("#map_brand .tile-cluster", timeout=15_000)
    # The map is fitted to the brand's stores, so the tiles in view hold all of them.
    page.wait_for_function(f"() => ({COUNT_POINTS})() === {brand['stores']}", timeout=15_000)
    assert tiles and all("brand=" in url for url in tiles)
    page.screenshot(path=str(ARTIFACTS / "brand-map.png"))

    zoom = page.evaluate("map_brand.getZoom()")
    page.locator("#map_brand .tile-cluster").first.click()  # a cluster zooms in
    page.wait_for_function(f"() => map_brand.getZoom() > {zoom}", timeout=5_000)
    assert not page.js_errors


def test_a_store_on_the_brand_map_opens_a_popup_linking_to_its_page(live_server, page):
    brand = requests.get(live_server + "/api/v1/brands", timeout=10).json()[-1]  # the smallest brand
    page.goto(f"{live_server}/brands/{brand['slug']}?lang=en")
    page.wait_for_selector("#map_brand .leaflet-marker-icon", timeout=15_000)
    store = requests.get(live_server + "/api/v1/stores/nearby", params={
        "lat": 31.23, "lon": 121.47, "k": 1, "brand": brand["name"]}, timeout=10).json()["features"][0]
    lon, lat = store["geometry"]["coordinates"]
    page.evaluate(f"map_brand.setView([{lat}, {lon}], 17)")  # every store on its own from zoom 17
    page.wait_for_selector("#map_brand .leaflet-marker-icon:not(.tile-cluster)", timeout=15_000)
    page.locator("#map_brand .leaflet-marker-icon:not(.tile-cluster)").first.click(force=True)
    link = page.wait_for_selector(".leaflet-popup-content a", timeout=5_000)
    assert link.get_attribute("href").startswith("/stores/") and link.inner_text() == "Store page"
    assert not page.js_errors
