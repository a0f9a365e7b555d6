"""The shopper's map in a real headless Chromium: clusters, zooming in, a store popup."""

import pytest

from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"

pytestmark = pytest.mark.browser


def _external_requests(page, base):
    seen = []
    page.on("request", lambda req: seen.append(req.url) if not req.url.startswith((base, "data:", "blob:")) else None)
    return seen


def test_map_shows_clusters_then_a_store_popup(page, live_server):
    external = _external_requests(page, live_server)
    page.goto(live_server + "/")  # no location permission: the country view with clusters (in Chinese)
    page.wait_for_selector(".server-cluster", timeout=15_000)
    assert page.locator(".server-cluster").count() > 3
    page.screenshot(path=str(ARTIFACTS / "finder-country.png"))

    # Click the biggest cluster, again and again, until the map is down at street level.
    for _ in range(10):
        if page.evaluate("window.o2oMap.getZoom()") >= 14:
            break
        biggest = page.evaluate("""() => {
            let best = null, n = -1;
            document.querySelectorAll('.marker-cluster').forEach(el => {
              const t = el.textContent;  // 950, 12K (English) or 1.2万 (Chinese)
              const v = parseFloat(t) * (t.includes('万') ? 10000 : /k/i.test(t) ? 1000 : 1);
              const r = el.getBoundingClientRect();
              if (v > n && r.top > 60 && r.left > 400) { n = v; best = el; }
            });
            document.querySelectorAll('[data-pick]').forEach(el => el.removeAttribute('data-pick'));
            if (best) { best.setAttribute('data-pick', '1'); }
            return n;
        }""")
        if biggest <= 0:
            break
        page.locator("[data-pick='1']").first.click()
        page.wait_for_timeout(900)
    assert page.evaluate("window.o2oMap.getZoom()") >= 10
    store_markers = page.locator(".leaflet-marker-icon:not(.marker-cluster)")
    assert store_markers.count() > 0
    store_markers.first.click()
    popup = page.locator(".leaflet-popup-content .popup")
    popup.wait_for(timeout=5_000)
    page.wait_for_timeout(400)  # let the popup's fade-in finish before the screenshot
    assert popup.locator("h3").inner_text().strip()
    assert popup.locator("a", has_text="导航").get_attribute("href").startswith("https://uri.amap.com/")
    assert "/go/" in popup.locator("a", has_text="去网店购买").get_attribute("href")
    page.screenshot(path=str(ARTIFACTS / "finder-popup.png"))
    assert "store=" in page.url and "z=" in page.url  # the view is in the URL, shareable
    assert not page.js_errors
    assert not external, f"requests left the app: {external[:5]}"


def test_located_shopper_gets_a_list_in_step_with_the_map(browser, live_server):
    context = browser.new_context(viewport={"width": 390, "height": 844}, geolocation={"latitude": 31.2304, "longitude": 121.4737},
                                  permissions=["geolocation"], is_mobile=True, has_touch=True, locale="en-US")
    page = context.new_page()
    page.goto(live_server + "/")
    page.wait_for_selector("#results li", timeout=15_000)
    assert "Nearest to you" in page.locator("#results-title").inner_text()
    dists = page.locator("#results li .dist").all_inner_texts()
    assert dists and all(d.endswith(("m", "km")) for d in dists)
    page.locator("#results li").first.click()
    page.locator(".leaflet-popup-content .popup").wait_for(timeout=5_000)
    page.screenshot(path=str(ARTIFACTS / "finder-phone.png"), full_page=True)
    context.close()


def test_brand_filter_from_the_url_is_applied(page, live_server):
    page.goto(live_server + "/?lat=31.23&lon=121.47&z=12&brand=Uniqlo")
    page.wait_for_selector("#results li", timeout=15_000)
    metas = page.locator("#results li .meta").all_inner_texts()
    assert metas and all(m.startswith("优衣库") for m in metas)  # Uniqlo, as Chinese shoppers know it


def test_store_page_map_renders_offline(page, live_server):
    page.goto(live_server + "/stores/1")
    page.wait_for_selector(".leaflet-marker-icon", timeout=10_000)
    page.screenshot(path=str(ARTIFACTS / "store-page.png"))
    assert not page.js_errors
