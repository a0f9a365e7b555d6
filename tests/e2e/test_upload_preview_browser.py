"""The retailer console's upload preview in headless Chromium: choosing a file checks it (a dry run)
and shows how each column was understood, the first rows and every problem; an unknown column is
assigned to a field by hand; only "Import N stores" stores the file. And festival hours in the form."""

from __future__ import annotations

from pathlib import Path

import pytest

from o2o.services.sheets import XLSX_MIME
from o2o.storage.sqlite import SqliteRepository

from ..integration.test_import_excel import xlsx_bytes
from .conftest import live_server_db
from .test_accessibility_browser import AXE, _axe

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
pytestmark = pytest.mark.browser

HEADER = ["门店编码", "门店名称", "品牌", "品类", "经度", "纬度", "座机号码"]
ROWS = [["PV-1", "预览测试店1", "PreviewBrand", "Apparel", 120.1510, 30.2710, "0571-5550001"],
        ["PV-2", "预览测试店2", "PreviewBrand", "Apparel", 120.1530, 30.2720, "0571-5550002"],
        ["PV-3", "预览测试店3", "PreviewBrand", "Apparel", 120.1550, 999, "0571-5550003"]]


def _sign_in(page, live_server, key, lang="zh"):
    page.goto(live_server + "/retailer" + ("?lang=en" if lang == "en" else ""))
    page.fill("#key", key)
    page.click("button[type=submit]")
    page.wait_for_selector("#store-form")
    page.wait_for_function("() => window.o2oMap !== undefined")


def _preview(page) -> None:
    """Waits for the dry run's preview; a failed check says why (the console shows the API's reason)."""
    page.wait_for_selector("#upload-preview table.columns, #upload-preview .flash.error", timeout=30_000)
    assert page.locator("#upload-preview .flash.error").count() == 0, page.inner_text("#upload-preview")


def _stores(live_server, brand):
    repo = SqliteRepository.from_url(live_server_db[live_server])
    try:
        return sorted((s["external_id"], s["phone"], s["special_hours"]) for s in repo.iter_stores()
                      if s["brand"] == brand)
    finally:
        repo.close()


def test_preview_assign_an_unknown_column_to_phone_then_import(page, live_server, retailer_key):
    _sign_in(page, live_server, retailer_key)
    page.set_input_files("#upload-file", files=[{"name": "门店.xlsx", "mimeType": XLSX_MIME,
                                                 "buffer": xlsx_bytes(HEADER, ROWS)}])
    _preview(page)
    preview = page.locator("#upload-preview")
    # How each column was understood: the unknown one is named, and its select says "not imported".
    unknown = page.locator('#upload-preview select[data-header="座机号码"]')
    assert unknown.input_value() == ""
    assert page.locator('#upload-preview select[data-header="经度"]').input_value() == "lon"
    assert "座机号码" in page.inner_text("#upload-preview .flash.warn")
    # The first rows as the file has them, and every problem by row; nothing stored yet.
    assert "0571-5550001" in page.inner_text("#upload-preview table.first-rows")
    problems = page.inner_text("#upload-preview table.report:not(.columns):not(.first-rows)")
    assert "3" in problems and "lat" in problems
    assert page.inner_text("#upload-import") == "导入 2 家门店"
    assert _stores(live_server, "PreviewBrand") == []

    # Assign it to phone: the file is checked again with the mapping.
    unknown.select_option("phone")
    page.wait_for_function("""() => {
        const s = document.querySelector('#upload-preview select[data-header="座机号码"]');
        return s && s.value === 'phone' && !document.getElementById('upload-import').disabled
            && !document.querySelector('#upload-preview .flash.warn'); }""", timeout=15_000)
    assert "not imported" not in preview.inner_text()
    page.locator("#upload-preview table.columns").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "retailer-upload-preview.png"))
    assert _stores(live_server, "PreviewBrand") == []

    page.click("#upload-import")
    page.wait_for_selector("#upload-report .report-summary", timeout=15_000)
    assert "2" in page.inner_text("#upload-report .report-summary")
    assert _stores(live_server, "PreviewBrand") == [("PV-1", "0571-5550001", None), ("PV-2", "0571-5550002", None)]
    assert page.locator("#upload-preview table").count() == 0 and page.locator("#upload-import").is_disabled()
    assert not page.js_errors


def test_preview_in_english(page, live_server, retailer_key):
    _sign_in(page, live_server, retailer_key, lang="en")
    rows = [["EN-1", "Preview EN", "PreviewBrandEn", "Apparel", 120.1610, 30.2810, "0571-5550009"]]
    page.set_input_files("#upload-file", files=[{"name": "stores.xlsx", "mimeType": XLSX_MIME,
                                                 "buffer": xlsx_bytes(HEADER, rows)}])
    _preview(page)
    assert page.inner_text("#upload-import") == "Import 1 store"
    assert "Checked, nothing stored yet: 1 to add" in page.inner_text("#upload-preview .preview-summary")
    assert "How the columns were understood" in page.inner_text("#upload-preview")
    assert not page.js_errors


def test_festival_hours_from_the_store_form_show_on_the_store_page(page, live_server, retailer_key):
    _sign_in(page, live_server, retailer_key)
    page.evaluate("window.o2oMap.setView([30.2900, 120.1900], 17, {animate: false})")
    page.wait_for_timeout(300)
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.fill("#f-name", "节日测试店")
    page.fill("#f-brand", "FestivalBrowserBrand")
    page.fill("#f-hours", "10:00-22:00")
    page.fill("#f-external_id", "FB-1")
    page.fill("#f-special_hours", "2099-11-10 25:00-02:00")
    page.click("#save")
    page.wait_for_selector("#form-error:not([hidden])")
    assert "special_hours" in page.inner_text("#form-error")   # the reason, naming the field
    page.fill("#f-special_hours", "2099-11-12 休息\n2099-11-10 10:00-02:00")
    page.click("#save")
    page.wait_for_selector("#store-table tr.just-saved", timeout=10_000)
    assert _stores(live_server, "FestivalBrowserBrand") == [
        ("FB-1", None, "2099-11-10 10:00-02:00; 2099-11-12 closed")]
    href = page.locator("#store-table tr.just-saved a").first.get_attribute("href")
    page.goto(live_server + href)
    details = page.inner_text(".store-details")
    assert "节日营业时间" in details and "11月10日 10:00–次日02:00" in details and "11月12日 休息" in details
    assert not page.js_errors


@pytest.mark.skipif(not AXE.exists(), reason="no axe-core: scripts/setup.sh --test installs the npm devDependencies")
def test_the_preview_passes_axe_wcag21_aa(browser, live_server, retailer_key):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN",
                                  bypass_csp=True)  # the app's CSP rightly refuses the injected axe script
    page = context.new_page()
    page.js_errors = []
    _sign_in(page, live_server, retailer_key)
    rows = [["AX-1", "无障碍店", "AxeBrand", "Apparel", 120.1710, 30.2910, "0571-5550100"],
            ["AX-2", "无障碍店2", "AxeBrand", "Apparel", 120.1730, 30.2920, "x"]]
    page.set_input_files("#upload-file", files=[{"name": "门店.xlsx", "mimeType": XLSX_MIME,
                                                 "buffer": xlsx_bytes(HEADER, rows)}])
    _preview(page)
    violations = _axe(page)
    context.close()
    assert not violations, violations
