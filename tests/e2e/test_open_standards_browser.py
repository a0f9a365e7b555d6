"""The directory and the OGC API's HTML pages in Chromium: no WCAG 2.1 AA violation (axe-core) and
nothing wider than a 390 px phone, in Chinese and English."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from .test_accessibility_browser import AXE, SIZES, _axe, _readable

pytestmark = pytest.mark.browser

PAGES = ["/directory", f"/directory/{quote('上海市')}", f"/directory/{quote('上海市')}/{quote('上海市')}",
         "/ogc?f=html", "/ogc/conformance?f=html", "/ogc/collections?f=html", "/ogc/collections/stores?f=html",
         "/ogc/collections/stores/items?f=html&limit=50", "/ogc/collections/products/items?f=html"]


@pytest.mark.skipif(not AXE.exists(), reason="no axe-core: scripts/setup.sh --test installs the npm devDependencies")
@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_directory_and_open_data_pages_pass_axe_and_fit_a_phone(browser, live_server, size, lang):
    context = browser.new_context(viewport=SIZES[size], is_mobile=size == "phone", bypass_csp=True,
                                  locale="zh-CN" if lang == "zh" else "en-US")
    page = context.new_page()
    found, errors = {}, []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        first_store = None
        for path in PAGES:
            response = page.goto(f"{live_server}{path}{'&' if '?' in path else '?'}lang={lang}")
            assert response.status == 200, path
            if size == "phone":
                assert page.evaluate("document.documentElement.scrollWidth") <= SIZES["phone"]["width"], path
            violations = _axe(page)
            if violations:
                found[f"{path} ({size}, {lang})"] = violations
            if first_store is None and "/items" in path:
                first_store = page.get_attribute(".items-table tbody a", "href")
        page.goto(f"{live_server}{first_store}&lang={lang}")   # one item's page
        violations = _axe(page)
        if violations:
            found[f"an item ({size}, {lang})"] = violations
    finally:
        context.close()
    assert not found, "axe-core WCAG 2.1 AA violations:" + _readable(found)
    assert not errors
