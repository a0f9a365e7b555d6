"""The search box on a phone: suggestions as the shopper types, with the keyboard and for a screen
reader (the WAI-ARIA combobox pattern), a place that flies the map there, and a search whose words
name a place moving the map to that place's stores."""

from __future__ import annotations

from pathlib import Path

import pytest

from .test_language_browser import assert_rendered_in

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
pytestmark = pytest.mark.browser


def _phone(browser, locale="zh-CN"):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                  locale=locale)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.js_errors = errors
    return context, page


def _open_finder(browser, live_server, locale="zh-CN"):
    """The finder on a phone at People's Square, its first list shown."""
    context, page = _phone(browser, locale)
    page.goto(live_server + "/?lat=31.2304&lon=121.4737&z=13")
    page.wait_for_selector("#results li", timeout=15_000)
    return context, page


def _centre(page):
    return page.evaluate("(() => { const c = window.o2oMap.getCenter(); return [c.lat, c.lng]; })()")


def test_suggestions_are_a_combobox_driven_by_the_keyboard(browser, live_server):
    context, page = _open_finder(browser, live_server)
    box = page.locator("#q")
    assert box.get_attribute("role") == "combobox" and box.get_attribute("aria-expanded") == "false"
    box.click()
    box.type("shang", delay=40)
    page.wait_for_selector(".suggestions li", timeout=5_000)
    assert box.get_attribute("aria-expanded") == "true"
    listbox = page.locator("#" + box.get_attribute("aria-controls"))
    assert listbox.get_attribute("role") == "listbox"
    options = listbox.locator("[role=option]")
    texts = options.all_inner_texts()
    assert any("上海市" in t for t in texts), texts
    # The count is announced; labels are in the page's language.
    page.wait_for_function("() => [...document.querySelectorAll('[role=status]')].some(e => /条建议/.test(e.textContent))")
    assert_rendered_in(page, "zh", "suggestions")
    page.screenshot(path=str(ARTIFACTS / "suggest-zh-phone.png"))
    # ↓ marks the first option for assistive technology; Esc closes the list.
    page.keyboard.press("ArrowDown")
    first = options.first
    assert box.get_attribute("aria-activedescendant") == first.get_attribute("id")
    assert first.get_attribute("aria-selected") == "true"
    page.keyboard.press("Escape")
    assert box.get_attribute("aria-expanded") == "false" and listbox.is_hidden()
    assert page.js_errors == []
    context.close()


def test_choosing_a_place_flies_the_map_there(browser, live_server):
    context, page = _open_finder(browser, live_server)
    page.locator("#q").type("hangzhou", delay=30)
    option = page.locator(".suggestions [role=option]", has_text="杭州市").first
    option.wait_for(timeout=5_000)
    index = page.locator(".suggestions [role=option]").all_inner_texts().index(option.inner_text())
    for _ in range(index + 1):
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    # (the flight takes under a second; wait until it has landed)
    page.wait_for_function("() => { const c = window.o2oMap.getCenter();"
                           " return c.lat > 29 && c.lat < 31 && c.lng > 118.8 && c.lng < 121; }", timeout=8_000)
    page.wait_for_timeout(1200)
    lat, lon = _centre(page)
    assert 29.0 < lat < 31.0 and 118.8 < lon < 121.0   # inside Hangzhou's box
    assert page.js_errors == []
    context.close()


def test_a_search_that_names_a_place_shows_its_stores(browser, live_server):
    context, page = _open_finder(browser, live_server)
    page.locator("#q").fill("优衣库 北京")
    page.locator("#search-form button[type=submit]").click()
    page.wait_for_function("() => Math.abs(window.o2oMap.getCenter().lat - 39.9) < 0.7", timeout=8_000)
    page.wait_for_timeout(500)
    addresses = page.locator("#results li").all_inner_texts()
    assert addresses and all("北京" in a for a in addresses), addresses[:3]
    page.screenshot(path=str(ARTIFACTS / "search-place-zh-phone.png"))
    assert page.js_errors == []
    context.close()


def test_suggestions_in_english(browser, live_server):
    context, page = _open_finder(browser, live_server, locale="en-US")
    page.locator("#q").type("youyi", delay=40)
    page.wait_for_selector(".suggestions li", timeout=5_000)
    kinds = page.locator(".suggestions .kind").all_inner_texts()
    assert "Brand" in kinds, kinds
    brand = page.locator(".suggestions .suggestion.brand").first
    assert brand.locator(".text").inner_text() == "Uniqlo" and brand.locator(".more").inner_text() == "优衣库"
    assert_rendered_in(page, "en", "suggestions")
    context.close()
