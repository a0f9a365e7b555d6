"""/analytics in headless Chromium: sign in, layers switch, the time control moves, under 2 MB."""

from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
pytestmark = pytest.mark.browser


def test_analytics_page_layers_time_and_weight(page, live_server, analyst_key):
    sizes = {}
    page.on("response", lambda r: sizes.__setitem__(r.url, len(r.body())) if r.ok and r.request.method == "GET" else None)
    page.goto(live_server + "/analytics")
    page.fill("#key", analyst_key)
    page.click("button[type=submit]")
    page.wait_for_selector("path.leaflet-interactive", timeout=15_000)
    status = page.inner_text("#status")  # in Chinese, the default: "N scans in view"
    assert "视野内" in status and "次扫码" in status
    page.wait_for_timeout(500)
    first_view = sum(sizes.values())
    assert first_view < 2_000_000, f"the page with its data: {first_view} bytes"
    page.screenshot(path=str(ARTIFACTS / "analytics-scans.png"))

    # Hover shows a count.
    page.locator("path.leaflet-interactive").first.hover(force=True)
    page.wait_for_selector(".leaflet-tooltip", timeout=5_000)
    assert "次扫码" in page.inner_text(".leaflet-tooltip")  # "N scans"

    # The same counts as a smooth heat layer (leaflet.heat), then back to hexagons.
    page.select_option("#style", "heat")
    page.wait_for_selector("canvas.leaflet-heatmap-layer", timeout=5_000)
    page.select_option("#style", "hex")
    page.wait_for_selector("path.leaflet-interactive", timeout=5_000)

    # Switch to the store layer.
    page.check("input[name=layer][value=stores]")
    page.wait_for_function("() => document.getElementById('status').textContent.includes('家营业门店')", timeout=10_000)

    # Back to scans, a one-hour window, and move it.
    page.check("input[name=layer][value=scans]")
    page.select_option("#window", "1")
    before = page.inner_text("#time-label")
    page.focus("#time")
    page.keyboard.press("ArrowRight")
    page.wait_for_timeout(500)
    after = page.inner_text("#time-label")
    assert before != after and "→" in after
    page.click("#play")
    page.wait_for_timeout(1800)
    assert page.inner_text("#time-label") != after  # playback moves the window
    page.click("#play")

    # Tables: by city, and a row zooms the map there.
    page.click('[role="tab"][data-tab="city"]')  # 按城市, By city (the demand panel has its own)
    page.wait_for_selector("#table tbody tr.zoomable", timeout=10_000)
    zoom_before = page.evaluate("window.o2oMap.getZoom()")
    page.locator("#table tbody tr.zoomable").first.click()
    page.wait_for_timeout(800)
    assert page.evaluate("window.o2oMap.getZoom()") > zoom_before
    page.screenshot(path=str(ARTIFACTS / "analytics-city.png"))
    assert not page.js_errors
    heat = {u: n for u, n in sizes.items() if "/analytics/heatmap" in u}
    assert heat and max(heat.values()) < 1_000_000, max(heat.values())  # aggregated cells, never raw points


def test_analytics_page_needs_an_analyst(page, live_server, retailer_key):
    page.goto(live_server + "/analytics")
    page.fill("#key", retailer_key)
    page.click("button[type=submit]")
    assert "该密钥不是有效的分析师密钥" in page.content()  # "not a valid analyst key"
