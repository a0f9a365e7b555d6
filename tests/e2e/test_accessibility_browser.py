"""WCAG 2.1 AA with axe-core (npm, a devDependency) in headless Chromium: every page, in Chinese and
in English, on a 390 px phone and a 1280 px screen, in the states a shopper, a retailer and an
analyst see (stores listed, a popup open, a followed brand, signed in), has no violation.

A violation is fixed in the app (templates, app.css, the scripts, Leaflet's options), never here:
nothing of the page is excluded from the check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import ARTIFACTS

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SHANGHAI = {"latitude": 31.2304, "longitude": 121.4737}
SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}


def _axe(page) -> list[dict]:
    """axe's WCAG 2.x A/AA violations on the page as it is now."""
    page.wait_for_timeout(450)  # let fades (popups, tiles, the sheet) finish: contrast is read as drawn
    page.add_script_tag(path=str(AXE))
    return page.evaluate("""tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})
        .then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => ({target: n.target.join(' '), html: n.html.slice(0, 160),
                                       summary: (n.failureSummary || '').replace(/\\s+/g, ' ')}))})))""", WCAG_AA)


def _readable(found: dict[str, list[dict]]) -> str:
    lines = []
    for where, violations in found.items():
        for v in violations:
            lines.append(f"\n{where}: [{v['impact']}] {v['id']}: {v['help']} ({len(v['nodes'])} elements)")
            for n in v["nodes"][:4]:
                lines.append(f"    {n['target']}\n      {n['html']}\n      {n['summary'][:300]}")
    return "\n".join(lines)


def _with_lang(url: str, lang: str) -> str:
    return url + ("&" if "?" in url else "?") + f"lang={lang}"


def _sign_in(page, url: str, key: str, ready: str) -> None:
    page.fill("#key", key)
    page.click("button[type=submit]")
    page.wait_for_selector(ready, state="attached", timeout=15_000)


@pytest.mark.skipif(not AXE.exists(), reason="no axe-core: scripts/setup.sh --test installs the npm devDependencies")
@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_every_page_passes_axe_wcag21_aa(browser, live_server, retailer_key, analyst_key, size, lang):
    phone = size == "phone"
    context = browser.new_context(viewport=SIZES[size], is_mobile=phone, has_touch=phone,
                                  locale="zh-CN" if lang == "zh" else "en-US",
                                  geolocation=SHANGHAI, permissions=["geolocation"],
                                  bypass_csp=True)  # the app's CSP rightly refuses the injected axe script
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    found: dict[str, list[dict]] = {}
    checked = []

    def check(name: str) -> None:
        checked.append(name)
        violations = _axe(page)
        if violations:
            found[f"{name} ({size}, {lang})"] = violations

    def visit(path: str, ready: str | None = None) -> None:
        page.goto(_with_lang(live_server + path, lang))
        page.wait_for_load_state("load")
        if ready:
            page.wait_for_selector(ready, timeout=15_000)

    try:
        # The finder located in Shanghai: the nearest stores listed beside (or under) the map.
        visit("/", "#results li")
        page.wait_for_selector(".leaflet-marker-icon", timeout=15_000)
        check("/ with stores listed")

        # The country view: server-side clusters with their counts.
        page.goto(_with_lang(live_server + "/?lat=35&lon=105&z=4", lang))
        page.wait_for_selector(".marker-cluster", timeout=15_000)
        check("/ clusters")

        # A street view with a store's popup open.
        visit("/?lat=31.23&lon=121.47&z=14", "#results li")
        store_id = page.get_attribute("#results li >> nth=0", "data-id")
        page.locator("#results li").first.click()
        page.wait_for_selector(".leaflet-popup-content .popup", timeout=10_000)
        check("/?lat=31.23&lon=121.47&z=14 with a popup")

        visit(f"/stores/{store_id}", ".leaflet-container")
        check("a store page")
        brand = page.get_attribute(".crumbs a", "href")

        visit(brand, ".leaflet-container")
        check("a brand page")

        # My 11.11 with a followed brand and its nearest stores.
        visit("/my", "#brand-chips button")
        page.locator("#brand-chips button").first.click()
        page.wait_for_selector("#results li", timeout=15_000)
        check("/my following a brand")

        visit("/retailer", "#key")
        check("/retailer sign-in")
        _sign_in(page, "/retailer", retailer_key, "#store-form")
        page.wait_for_function("() => window.o2oMap !== undefined")
        check("/retailer signed in")

        visit("/analytics", "#key")
        check("/analytics sign-in")
        _sign_in(page, "/analytics", analyst_key, "path.leaflet-interactive")
        check("/analytics signed in")

        visit("/offline")
        check("/offline")

        # /docs is not a page of ours: like any unknown path it is the error page.
        for path in ["/docs", "/no-such-page", "/stores/999999999"]:
            response = page.goto(_with_lang(live_server + path, lang))
            assert response.status == 404, path
            check(f"{path} (404)")
    finally:
        context.close()
    ARTIFACTS.mkdir(exist_ok=True)  # every violation, for reading at leisure
    (ARTIFACTS / f"axe-{size}-{lang}.json").write_text(json.dumps(found, ensure_ascii=False, indent=1))
    assert not found, "axe-core WCAG 2.1 AA violations:" + _readable(found)
    assert len(checked) == 14
    assert not errors
