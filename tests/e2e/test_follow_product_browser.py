"""My 11.11 follows a product (issue 15), in headless Chromium on a 390 px phone: "Follow" on the
product's page, then /my lists it with the nearest store that has it in stock, in Chinese and in
English; unfollowing takes it off."""

from __future__ import annotations

import pytest

from o2o.geo.distance import haversine_m

from .conftest import ARTIFACTS, live_server_db
from .test_accessibility_browser import AXE, _axe, _readable

pytestmark = pytest.mark.browser
HERE = (121.4737, 31.2304)  # lon, lat: People's Square, Shanghai


@pytest.fixture(scope="module")
def followed_product(live_server):
    """A product in stock at two open Uniqlo stores in Shanghai (limited at the nearer one)."""
    from o2o.storage.sqlite import SqliteRepository

    repo = SqliteRepository.from_url(live_server_db[live_server])
    stores = sorted((s for s in repo.iter_stores() if s["brand"] == "Uniqlo" and s["status"] == "open"
                     and s["city"] == "上海市"), key=lambda s: haversine_m(*HERE, s["lon"], s["lat"]))[:2]
    assert len(stores) == 2, "the seed has Uniqlo stores in Shanghai"
    rid = stores[0]["retailer_id"]
    repo.upsert_products(rid, [{"sku": "E2E-FOLLOW-1", "title": "优衣库 测试羽绒服 M码", "brand": "Uniqlo",
                                "category": "Apparel", "price": 499.0,
                                "online_url": "https://uniqlo.tmall.com/item.htm?id=e2e"}])
    pid = repo.find_product_ids(rid, ["E2E-FOLLOW-1"])["E2E-FOLLOW-1"]
    repo.set_stock([{"store_id": stores[0]["id"], "product_id": pid, "availability": "limited", "quantity": 2,
                     "price": 459.0},
                    {"store_id": stores[1]["id"], "product_id": pid, "availability": "in_stock", "quantity": 9}])
    repo.close()
    return {"id": pid, "nearest": stores[0]}


def _wait_for_stock(page, row):
    try:
        row.locator(".stock").wait_for(timeout=60_000)
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "my-followed-product-failed.png"))
        raise AssertionError(f"no stock shown: {page.inner_text('.followed-products')!r}") from None


def test_follow_a_product_and_see_the_nearest_store_with_it_on_a_phone(browser, live_server, followed_product):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                  locale="zh-CN", geolocation={"latitude": HERE[1], "longitude": HERE[0]},
                                  permissions=["geolocation"], bypass_csp=True)  # for the injected axe script
    page = context.new_page()
    page.set_default_timeout(90_000)   # a loaded machine (the whole suite on 2 cores) is slow, not wrong
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{live_server}/products/{followed_product['id']}")
        button = page.locator("#follow-product")
        button.wait_for(state="visible")
        assert button.get_attribute("aria-pressed") == "false" and "关注" in button.inner_text()
        button.click()
        assert button.get_attribute("aria-pressed") == "true" and "已关注" in button.inner_text()
        box = button.bounding_box()
        assert box["height"] >= 44 and box["x"] + box["width"] <= 390

        page.goto(f"{live_server}/my")
        row = page.locator(f"#product-results li[data-product='{followed_product['id']}']")
        _wait_for_stock(page, row)
        assert row.locator(".title").inner_text() == "优衣库 测试羽绒服 M码"
        assert row.locator(".where a").inner_text() == followed_product["nearest"]["name"]
        assert row.locator(".stock").inner_text() == "少量库存" and "¥459" in row.inner_text()
        assert "已关注 1 件商品" in page.inner_text("#product-status")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(ARTIFACTS / "my-followed-product-390.png"))
        if AXE.exists():  # WCAG 2.1 AA with a followed product listed (the empty state: test_accessibility_browser)
            found = _axe(page)
            assert not found, _readable({"/my with a followed product": found})

        page.goto(f"{live_server}/my?lang=en")
        _wait_for_stock(page, row)
        assert row.locator(".stock").inner_text() == "Limited stock"
        assert "1 followed product" in page.inner_text("#product-status")

        row.locator("button.unfollow").click()
        assert page.locator("#product-results li").count() == 0
        assert "Follow a product on its page" in page.inner_text("#product-status")
        page.goto(f"{live_server}/products/{followed_product['id']}?lang=en")
        page.locator("#follow-product").wait_for(state="visible")
        assert page.get_attribute("#follow-product", "aria-pressed") == "false"
        assert not errors, errors
    finally:
        context.close()
