"""My 11.11 in headless Chromium: follow brands, see their nearest stores; the home map marks them."""

from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
pytestmark = pytest.mark.browser


def test_follow_brands_and_see_their_nearest_stores(browser, live_server):
    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="en-US",
                                  geolocation={"latitude": 31.2304, "longitude": 121.4737}, permissions=["geolocation"])
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(live_server + "/my")
    page.click("#brand-chips button:has-text('Uniqlo')")
    page.wait_for_selector("#results li", timeout=10_000)
    metas = page.locator("#results li .meta").all_inner_texts()
    assert metas and all(m.startswith("Uniqlo") for m in metas)
    dists = page.locator("#results li .dist").all_inner_texts()
    metres = [float(d.split()[0]) * (1000 if d.endswith("km") else 1) for d in dists]
    assert metres == sorted(metres)
    page.screenshot(path=str(ARTIFACTS / "my.png"))

    # The follow survives a reload (localStorage) and the home map marks the brand.
    page.goto(live_server + "/?lat=31.2304&lon=121.4737&z=13&brand=Uniqlo")
    page.wait_for_selector("#results li.followed", timeout=10_000)
    page.wait_for_selector(".leaflet-marker-icon.followed-marker", timeout=10_000)
    assert not errors
    context.close()
