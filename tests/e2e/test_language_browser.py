"""The pages in headless Chromium on a phone, in Chinese and in English: what is rendered once
the scripts have run (the results list, the status line, popups, the retailer's table) is in the
page's language, store data aside (marked translate="no")."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..integration.test_language import foreign_words

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
pytestmark = pytest.mark.browser

# The text and label attributes a reader meets, outside store data and outside the page's scripts
# and styles: each text node whose element is rendered (options of a <select> count), and the
# placeholder, title, aria-label and alt attributes, and button values.
RENDERED = """() => {
  const skip = (el) => el.closest('[translate="no"], script, style, noscript, template, head');
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement, text = n.nodeValue.trim();
    if (!text || !el || skip(el)) continue;
    if (!el.getClientRects().length && !el.closest('select')) continue;  // not rendered
    texts.push(text);
  }
  document.querySelectorAll('[placeholder], [title], [aria-label], [alt], input[type=button], input[type=submit]').forEach((el) => {
    if (skip(el)) return;
    ['placeholder', 'title', 'aria-label', 'alt'].forEach((a) => { if (el.getAttribute(a)) texts.push(el.getAttribute(a)); });
    if (el.matches('input[type=button], input[type=submit]') && el.value) texts.push(el.value);
  });
  return {texts: texts, lang: document.documentElement.lang, title: document.title};
}"""


def assert_rendered_in(page, lang: str, where: str) -> list[str]:
    seen = page.evaluate(RENDERED)
    assert seen["lang"] == ("zh-CN" if lang == "zh" else "en"), where
    wrong = [(t, foreign_words(t, lang)) for t in seen["texts"] if foreign_words(t, lang)]
    assert not wrong, f"{where} ({lang}): {wrong[:8]}"
    return seen["texts"]


def _context(browser, lang: str, how: str):
    """A phone (390 px wide) that asks for ``lang`` by its browser language or by ?lang=."""
    locale = {"zh": "zh-CN", "en": "en-US"}[lang] if how == "locale" else {"zh": "en-US", "en": "zh-CN"}[lang]
    return browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale=locale,
                               geolocation={"latitude": 31.2304, "longitude": 121.4737}, permissions=["geolocation"])


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("how", ["locale", "query"])
def test_the_finder_renders_in_one_language(browser, live_server, lang, how):
    context = _context(browser, lang, how)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(live_server + ("/?lang=" + lang if how == "query" else "/"))
    page.wait_for_selector("#results li", timeout=15_000)
    page.wait_for_function("() => document.getElementById('status').textContent.trim() !== ''", timeout=10_000)
    page.wait_for_timeout(300)
    texts = assert_rendered_in(page, lang, "finder")
    title = page.inner_text("#results-title")
    assert title == ("离你最近" if lang == "zh" else "Nearest to you")
    status = page.inner_text("#status")
    assert ("家门店" in status) if lang == "zh" else ("in view" in status), status
    assert any(t.endswith(("m", "km")) for t in page.locator("#results li .dist").all_inner_texts())
    meta = page.locator("#results li .meta").first.inner_text()
    assert meta.split(" · ")[1] in texts  # the category is a label, translated
    # A store's popup: labels and buttons in the language, names left alone.
    page.locator("#results li").first.click()
    page.wait_for_selector(".leaflet-popup-content .popup", timeout=5_000)
    page.wait_for_timeout(400)
    popup = assert_rendered_in(page, lang, "finder popup")
    assert ("导航" if lang == "zh" else "Navigate") in popup and ("去网店购买" if lang == "zh" else "Buy online") in popup
    page.screenshot(path=str(ARTIFACTS / f"language-finder-{lang}-{how}.png"), full_page=True)
    # Zoomed out to the country: clusters (12K / 1.2万) and the status of the whole view.
    page.evaluate("window.o2oMap.setView([34.5, 108.0], 5, {animate: false})")
    page.wait_for_selector(".server-cluster", timeout=15_000)
    page.wait_for_timeout(600)
    assert_rendered_in(page, lang, "finder, whole country")
    assert not errors
    context.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_retailer_console_renders_in_one_language(browser, live_server, retailer_key, lang):
    context = _context(browser, lang, "locale")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(live_server + "/retailer")
    assert_rendered_in(page, lang, "retailer sign-in")
    page.fill("#key", retailer_key)
    page.click("button[type=submit]")
    page.wait_for_selector("#store-form")
    page.wait_for_function("() => window.o2oMap !== undefined && document.getElementById('store-count').textContent !== ''",
                           timeout=10_000)
    page.wait_for_timeout(300)
    texts = assert_rendered_in(page, lang, "retailer console")
    assert ("新门店" if lang == "zh" else "New store") in texts
    if page.locator("#store-table tbody tr").count():  # (the other browser test may have added a store)
        page.locator("#store-table tbody tr button").first.click()
        page.wait_for_timeout(300)
        texts = assert_rendered_in(page, lang, "retailer console, editing")
        assert ("保存修改" if lang == "zh" else "Save changes") in texts
    # A rejected file: the report's summary and headings in the language.
    csv = "external_id,name,brand,category,lat,lon\nX1,x,y,Apparel,999,91\n"
    page.set_input_files("#upload-file", files=[{"name": "x.csv", "mimeType": "text/csv", "buffer": csv.encode()}])
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#upload-report .report-summary", timeout=10_000)
    summary = page.inner_text("#upload-report .report-summary")
    assert ("拒绝 1 行" in summary) if lang == "zh" else ("1 rejected" in summary), summary
    # The row's reason comes from the API, which answers in the page's language (field names stay).
    why = page.inner_text("#upload-report table.report tbody td:nth-child(3)")
    assert why == ("lat 必须在 -90 到 90 之间" if lang == "zh" else "lat must be between -90 and 90"), why
    page.screenshot(path=str(ARTIFACTS / f"language-retailer-{lang}.png"), full_page=True)
    assert not errors
    context.close()


def test_the_language_switch_keeps_the_view(browser, live_server):
    context = _context(browser, "zh", "locale")
    page = context.new_page()
    page.goto(live_server + "/?lat=31.2304&lon=121.4737&z=14&category=Apparel")
    page.wait_for_selector("#results li", timeout=15_000)
    assert page.inner_text(".lang-switch") == "English"
    page.evaluate("window.o2oMap.setView([30.2741, 120.1551], 13, {animate: false})")  # on to Hangzhou
    page.wait_for_function("() => location.search.includes('lat=30.27')", timeout=5_000)
    page.click(".lang-switch")
    page.wait_for_selector("#results li", timeout=15_000)
    assert page.evaluate("document.documentElement.lang") == "en"
    assert "lat=30.27" in page.url  # the view as it was when switching, not as the page began
    assert page.input_value("#category") == "Apparel"  # the filter (an English value) survived
    assert page.inner_text(".lang-switch") == "中文"
    # Remembered: the next page, without ?lang=, is English too.
    page.goto(live_server + "/my")
    assert page.evaluate("document.documentElement.lang") == "en"
    context.close()
