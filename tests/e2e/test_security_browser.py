"""Security in a real headless Chromium.

- Every page runs under its Content-Security-Policy without a single violation, and its map
  still draws (the offline basemap's outlines, markers or hexagons).
- Store, brand, retailer and category names and addresses carrying HTML and script are inert on
  every page that shows them: no script runs (no ``window.__xss``, no dialog), no element is made
  from them, and the text shows as text. Checked twice: with the CSP switched off in the browser
  (escaping alone must hold) and with it on (nothing is even attempted: no violation).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import requests
from werkzeug.serving import make_server

from o2o.services import accounts
from o2o.storage.sqlite import SqliteRepository
from o2o.web import create_app

from .conftest import _QuietHandler

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
pytestmark = pytest.mark.browser

# Reports CSP violations from inside the page, before any of its own scripts run; the binding
# keeps them across navigations.
WATCH = """
document.addEventListener('securitypolicyviolation', function (e) {
  window.o2oCspViolation(location.pathname + ': ' + e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sample || ''));
});
"""


def _watch(page):
    violations, dialogs = [], []
    page.expose_function("o2oCspViolation", lambda text: violations.append(text))
    page.add_init_script(WATCH)
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.csp_violations, page.dialogs = violations, dialogs
    return page


def _sign_in(page, base, path, key):
    page.goto(base + path)
    page.fill("#key", key)
    page.click("button[type=submit]")


def _offline_outlines(page, timeout=15_000):
    page.wait_for_function("() => Number(document.querySelector('.offline-basemap')?.dataset.outlinesProvinces) > 10"
                           " && document.querySelector('.offline-basemap .leaflet-overlay-pane canvas')",
                           timeout=timeout)


# ----------------------------------------------------------------------------------- the CSP
def test_every_page_runs_under_its_csp_without_a_violation(page, live_server, retailer_key, analyst_key):
    _watch(page)

    def goto(path):
        response = page.goto(live_server + path)
        csp = response.headers["content-security-policy"]
        assert "script-src 'self' 'nonce-" in csp or "script-src 'self';" in csp, csp
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        return response

    goto("/?lat=31.2304&lon=121.4737&z=14")
    page.wait_for_selector("#results li", timeout=15_000)
    page.wait_for_selector(".leaflet-marker-icon", timeout=15_000)
    _offline_outlines(page)
    page.locator("#results li").first.click()
    page.wait_for_selector(".leaflet-popup-content .popup", timeout=5_000)
    page.screenshot(path=str(ARTIFACTS / "csp-finder.png"))

    goto("/stores/1")
    page.wait_for_selector("#map_store .leaflet-marker-icon", timeout=10_000)
    _offline_outlines(page)
    page.screenshot(path=str(ARTIFACTS / "csp-store.png"))

    slug = requests.get(live_server + "/api/v1/brands", timeout=10).json()[0]["slug"]
    goto(f"/brands/{slug}")
    page.wait_for_selector("#map_brand .leaflet-marker-icon", timeout=10_000)
    _offline_outlines(page)
    page.screenshot(path=str(ARTIFACTS / "csp-brand.png"))

    goto("/my")
    page.wait_for_selector("#brand-chips button", timeout=10_000)
    _offline_outlines(page)

    goto("/retailer")
    _sign_in(page, live_server, "/retailer", retailer_key)
    page.wait_for_function("() => window.o2oMap !== undefined", timeout=10_000)
    _offline_outlines(page)
    page.screenshot(path=str(ARTIFACTS / "csp-retailer.png"))

    goto("/analytics")
    _sign_in(page, live_server, "/analytics", analyst_key)
    page.wait_for_selector("path.leaflet-interactive", timeout=15_000)  # the hexagons
    page.wait_for_selector("#table tbody tr", timeout=15_000)
    assert page.evaluate("Chart.getChart(document.getElementById('chart')) !== undefined")
    page.screenshot(path=str(ARTIFACTS / "csp-analytics.png"))

    assert goto("/stores/999999999").status == 404  # an error page
    page.wait_for_timeout(300)
    assert page.csp_violations == []
    assert not page.js_errors and not page.dialogs


def test_the_csp_blocks_an_injected_inline_script(page, live_server):
    """The policy is really enforced: a script the server did not write does not run."""
    _watch(page)
    page.goto(live_server + "/my")
    page.evaluate("""() => { const s = document.createElement('script');
                             s.textContent = 'window.__injected = 1'; document.body.appendChild(s); }""")
    page.evaluate("""() => { const i = document.createElement('img'); i.setAttribute('onerror', 'window.__injected = 2');
                             i.src = 'data:,x'; document.body.appendChild(i); }""")
    page.wait_for_timeout(300)
    assert page.evaluate("window.__injected") is None
    assert len(page.csp_violations) >= 2


# ----------------------------------------------------------------------------------- XSS
PAYLOADS = {
    "script": "<script>window.__xss='script';alert('script')</script>",
    "img": "<img src=x onerror=\"window.__xss='img';alert('img')\">",
    "svg": "\"><svg onload=\"window.__xss='svg';alert('svg')\">",
    "template": "`${window.__xss='template'}`</div><b onmouseover=alert(1)>",
    "js-string": "'-alert('js')-'\";alert(\"js2\");//",
}
XSS_RETAILER = "商家 <img src=x onerror=\"window.__xss='retailer'\">"
# Somewhere no seeded store is (Lhasa), so the payload brand is the busiest brand of its city.
PLACES = [(91.1320, 29.6600), (91.1330, 29.6610), (91.1340, 29.6620), (91.1350, 29.6630), (91.1360, 29.6640)]


@pytest.fixture(scope="module")
def xss_server(tmp_path_factory):
    """A small festival whose one retailer, stores, brands, categories and store codes are attacks."""
    path = tmp_path_factory.mktemp("xss") / "o2o.db"
    url = f"sqlite:///{path}"
    app = create_app({"DATABASE_URL": url, "SEED_STORES": 300, "SEED_SCANS": 2000,
                      "SECRET_KEY": "xss", "TILES": "none"})
    # The province and city boundaries, loaded once a process by the first analytics answer (over
    # a second idle, several under the suite's load): loaded here, so that whichever test comes
    # first waits for the page, not for them (the analytics table once took over 15 s).
    app.extensions["o2o"].regions()
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    repo = SqliteRepository.from_url(url)
    _, rkey = accounts.create_retailer(repo, XSS_RETAILER, ["xss.tmall.com"])
    _, akey = accounts.create_analyst(repo, "XSS analyst")
    ids = []
    for (kind, text), (lon, lat) in zip(PAYLOADS.items(), PLACES):
        r = requests.post(base + "/api/v1/stores", headers={"Authorization": f"Bearer {rkey}"}, timeout=30, json={
            "external_id": text[:64], "name": f"{text} 店", "brand": f"{text[:60]} {kind}",
            "category": f"品类 {text[:50]}", "address": f"地址 {text}", "hours": "00:00-24:00",
            "lat": lat, "lon": lon, "online_url": "https://xss.tmall.com/"})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    now = int(time.time())
    for i, sid in enumerate(ids):
        store = repo.get_store(sid)
        for n in range(5 + i):
            repo.record_scan(store, now - 3600 * n, "phone", f"xss-{sid}-{n}", 1)
    repo.close()
    yield {"url": base, "retailer": rkey, "analyst": akey, "ids": ids}
    server.shutdown()


def _assert_inert(page, where: str):
    page.wait_for_timeout(400)  # let any injected handler fire (onerror, onload)
    ran = page.evaluate("window.__xss")
    made = page.evaluate("""() => document.querySelectorAll(
        'img[src="x"], svg[onload], [onerror], [onload], [onmouseover], b[onmouseover]').length""")
    assert ran is None, f"{where}: a payload ran ({ran})"
    assert made == 0, f"{where}: {made} elements were made from store text"
    assert not page.dialogs, f"{where}: a dialog opened: {page.dialogs}"


def _visit_every_page_with_payloads(page, srv) -> None:
    base = srv["url"]
    lon, lat = PLACES[0]

    # The finder: list, markers, popup.
    page.goto(f"{base}/?lat={lat}&lon={lon}&z=17")
    page.wait_for_selector("#results li", timeout=15_000)
    assert PAYLOADS["script"] in page.inner_text("#results")  # shown as text
    _assert_inert(page, "finder list")
    page.locator("#results li").first.click()
    page.wait_for_selector(".leaflet-popup-content .popup h3", timeout=5_000)
    assert PAYLOADS["script"] in page.inner_text(".leaflet-popup-content h3")
    _assert_inert(page, "finder popup")
    page.fill("#q", PAYLOADS["img"])  # a text search for the payload itself, which the page echoes
    page.press("#q", "Enter")
    page.wait_for_function("() => document.getElementById('status').textContent.includes('match')", timeout=10_000)
    _assert_inert(page, "finder search")

    for sid, text in zip(srv["ids"], PAYLOADS.values()):  # each store's page: folium's tooltip, details, title
        page.goto(f"{base}/stores/{sid}")
        assert page.inner_text("h1") == f"{text} 店"
        page.wait_for_selector("#map_store .leaflet-marker-icon", timeout=10_000)
        page.hover("#map_store .leaflet-marker-icon")
        page.wait_for_selector(".leaflet-tooltip", timeout=5_000)
        assert page.inner_text(".leaflet-tooltip").strip() == f"{text} 店"
        _assert_inert(page, f"store page {sid}")

    brands = [b for b in requests.get(base + "/api/v1/brands", timeout=10).json()
              if b["name"].split()[-1] in PAYLOADS]
    assert len(brands) == len(PAYLOADS)
    for brand in brands:
        page.goto(f"{base}/brands/{brand['slug']}")
        page.wait_for_selector("#map_brand .leaflet-marker-icon", timeout=10_000)
        page.locator("#map_brand .leaflet-marker-icon").first.click()
        _assert_inert(page, f"brand page {brand['slug']}")

    page.goto(f"{base}/my")  # follow every payload brand: chips, list and tooltips show them
    for kind in PAYLOADS:
        page.locator("#brand-chips button", has_text=f" {kind}").first.click()
    page.wait_for_function("() => document.querySelectorAll('#results li').length >= 5", timeout=10_000)
    _assert_inert(page, "my")

    _sign_in(page, base, "/retailer", srv["retailer"])
    page.wait_for_selector("#store-table tbody tr", timeout=10_000)
    assert XSS_RETAILER in page.inner_text(".who")  # the retailer's own name, as text
    page.locator("#store-table tbody tr button", has_text="Edit").first.click()
    # An upload whose rows are all rejected (twice each, lat out of range), so the report echoes
    # the payload codes back in its table and in its messages.
    csv = "external_id,name,brand,category,lat,lon\n" + "".join(
        f'"{t.replace(chr(34), chr(34) * 2)}",x,y,z,999,91\n' for t in PAYLOADS.values() for _ in range(2))
    page.set_input_files("#upload-file", files=[{"name": "x.csv", "mimeType": "text/csv", "buffer": csv.encode()}])
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#upload-report table.report", timeout=10_000)
    assert "appears again" in page.inner_text("#upload-report")
    _assert_inert(page, "retailer console")

    _sign_in(page, base, "/analytics", srv["analyst"])
    page.wait_for_selector("#table tbody tr", timeout=30_000)
    page.click('[role="tab"][data-tab="city"]')  # By city (the scans table; the demand panel has its own)
    page.wait_for_function("() => document.querySelector('#table').innerText.includes('js-string')", timeout=15_000)
    page.select_option("#f-brand", label=f"{PAYLOADS['img'][:60]} img")
    page.wait_for_timeout(500)
    _assert_inert(page, "analytics")


def _context(browser, **kwargs):
    return browser.new_context(viewport={"width": 1280, "height": 900}, permissions=["geolocation"], locale="en-US",
                               geolocation={"latitude": PLACES[0][1], "longitude": PLACES[0][0]}, **kwargs)


def test_store_text_is_inert_by_escaping_alone(browser, xss_server):
    context = _context(browser, bypass_csp=True)
    page = _watch(context.new_page())
    page.js_errors = []
    page.on("pageerror", lambda e: page.js_errors.append(str(e)))
    try:
        _visit_every_page_with_payloads(page, xss_server)
        page.screenshot(path=str(ARTIFACTS / "xss-analytics.png"))
        assert not page.js_errors
    finally:
        context.close()


def test_store_text_never_even_trips_the_csp(browser, xss_server):
    context = _context(browser)
    page = _watch(context.new_page())
    try:
        _visit_every_page_with_payloads(page, xss_server)
        assert page.csp_violations == []
    finally:
        context.close()
