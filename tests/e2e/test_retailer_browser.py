"""The retailer console in headless Chromium: sign in, drop a pin, save, find it on the shopper map."""

from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
pytestmark = pytest.mark.browser


def test_sign_in_drop_a_pin_save_and_see_it_on_the_shopper_map(page, live_server, retailer_key):
    page.goto(live_server + "/retailer")
    page.fill("#key", "o2o_r_1_wrongwrongwrongwrongwrong")
    page.click("button[type=submit]")
    assert "该密钥不是有效的商家密钥" in page.content()  # "not a valid retailer key", in Chinese (the default)
    page.fill("#key", retailer_key)
    page.click("button[type=submit]")
    page.wait_for_selector("#store-form")
    page.wait_for_function("() => window.o2oMap !== undefined")  # the page's script has run

    # Zoom the map to a street in Hangzhou and drop the pin by clicking the map's centre.
    page.evaluate("window.o2oMap.setView([30.2600, 120.1700], 17, {animate: false})")
    page.wait_for_timeout(300)
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    lat = float(page.input_value("#f-lat"))
    lon = float(page.input_value("#f-lon"))
    assert abs(lat - 30.26) < 0.001 and abs(lon - 120.17) < 0.001

    # Typing coordinates moves the pin; the fields and the pin stay in step.
    page.fill("#f-lat", "30.260500")
    page.dispatch_event("#f-lat", "input")
    pin = page.evaluate("(() => { let p = null; window.o2oMap.eachLayer(l => { if (l.dragging && l.getLatLng) p = l.getLatLng(); }); return p; })()")
    assert abs(pin["lat"] - 30.2605) < 1e-6

    page.fill("#f-name", "浏览器测试店 <b>bold</b>")
    page.fill("#f-brand", "BrowserBrand")
    page.fill("#f-hours", "10:00-22:00")
    page.fill("#f-external_id", "BT-1")
    page.click("#save")
    page.wait_for_selector("#store-table tr.just-saved", timeout=10_000)
    row = page.locator("#store-table tr.just-saved")
    assert "浏览器测试店 <b>bold</b>" in row.inner_text()  # shown as text, not markup
    assert "杭州市" in row.inner_text()
    assert page.locator("#close-store").is_hidden()  # the form is back to "new store"
    page.wait_for_timeout(600)  # let the map settle before the screenshot
    page.screenshot(path=str(ARTIFACTS / "retailer.png"))

    # A bad field is reported next to the form, naming it.
    page.click("#new-store")
    page.fill("#f-lat", "95")
    page.fill("#f-lon", "120.17")
    page.fill("#f-name", "x")
    page.fill("#f-brand", "y")
    page.click("#save")
    page.wait_for_selector("#form-error:not([hidden])")
    assert "lat" in page.inner_text("#form-error")
    assert "lat 必须在 -90 到 90 之间" in page.inner_text("#form-error")  # the API's reason, in the page's language

    # The shopper map finds the new store next to where it was dropped.
    page.goto(live_server + "/?lat=30.2605&lon=120.17&z=17&brand=BrowserBrand")
    page.wait_for_selector("#results li", timeout=10_000)
    first = page.locator("#results li").first.inner_text()
    assert "浏览器测试店" in first
    assert not page.js_errors
