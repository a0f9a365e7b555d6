"""/analytics' Products tab in headless Chromium (issue 15): the most scanned products per region, the
hourly chart of product scans, the CSV exports; in Chinese and English, at 1400 and 390 px."""

from __future__ import annotations

import pytest

from .conftest import ARTIFACTS, live_server_db
from .test_accessibility_browser import AXE, _axe, _readable

pytestmark = pytest.mark.browser
T0 = 1_794_326_400  # 2026-11-11T00:00:00+08:00


@pytest.fixture(scope="module")
def scanned_product(live_server):
    """Five counted scans of one product's shelf label in a Shanghai store."""
    from o2o.storage.sqlite import SqliteRepository

    repo = SqliteRepository.from_url(live_server_db[live_server])
    store = next(s for s in repo.iter_stores() if s["status"] == "open" and s["city"] == "上海市")
    repo.upsert_products(store["retailer_id"], [{"sku": "E2E-SCAN-1", "title": "测试扫码商品", "brand": store["brand"],
                                                 "category": store["category"], "price": 99.0}])
    pid = repo.find_product_ids(store["retailer_id"], ["E2E-SCAN-1"])["E2E-SCAN-1"]
    for i in range(5):
        assert repo.record_product_scan(store, pid, T0 + i * 600, "phone", f"e2e-shopper-{i}", 1800)
    repo.close()
    return pid


@pytest.mark.parametrize("lang,width", [("zh", 1400), ("en", 390)])
def test_the_products_tab_shows_the_most_scanned_products(browser, live_server, analyst_key, scanned_product,
                                                           lang, width):
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN" if lang == "zh" else "en-US",
                                  bypass_csp=True)  # for the injected axe script
    page = context.new_page()
    page.set_default_timeout(90_000)   # a loaded machine (the whole suite on 2 cores) is slow, not wrong
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{live_server}/analytics?lang={lang}")
        page.fill("#key", analyst_key)
        page.click("button[type=submit]")
        page.wait_for_selector("#table tbody tr.zoomable", timeout=60_000)   # the province table
        page.click("[data-tab=products]")
        link = page.locator(f"#table tbody a[href='/products/{scanned_product}']")
        link.wait_for(timeout=60_000)
        assert link.inner_text() == "测试扫码商品"
        row = page.locator("#table tbody tr", has=page.locator(f"a[href='/products/{scanned_product}']"))
        assert row.locator("td").first.inner_text() == "上海市"
        assert page.locator("#product-chart").is_visible()
        total = page.inner_text("#product-total")
        assert ("次" if lang == "zh" else "scans") in total, total
        assert "/api/v1/analytics/products?" in page.get_attribute("#x-table-csv", "href")
        assert "by=hour" in page.get_attribute("#x-product-series-csv", "href")
        assert page.locator("#x-table-geojson").is_hidden()
        page.select_option("#product-level", "district")
        page.wait_for_selector("#table thead th:has-text('%s')" % ("区县" if lang == "zh" else "District"))
        page.locator(".tables").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / f"analytics-products-{lang}-{width}.png"))
        if AXE.exists():  # WCAG 2.1 AA with the Products tab open
            found = _axe(page)
            assert not found, _readable({f"/analytics Products tab ({lang}, {width} px)": found})
        page.click("[data-tab=province]")                      # back to the region tables
        page.wait_for_selector("#table tbody tr.zoomable", timeout=60_000)
        assert page.locator("#product-extra").is_hidden() and page.locator("#x-table-geojson").is_visible()
        assert not errors, errors
    finally:
        context.close()
