"""Demand in headless Chromium (issue 17): the analysts' demand layer with its table, and the retailer's
"where to open next" panel, at 390 px (a phone) — and the same at 1400 px for the screenshots."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import live_server_db

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def brand_owner_key(live_server):
    """A key of a seeded retailer that has stores (Fast Retailing: Uniqlo)."""
    from o2o.services import accounts
    from o2o.storage.sqlite import SqliteRepository

    repo = SqliteRepository.from_url(live_server_db[live_server])
    rid = next(r["id"] for r in repo.list_retailers() if r["name"] == "Fast Retailing")
    key = accounts.rotate_key(repo, "r", rid)
    repo.close()
    return key


def _phone(browser, locale="zh-CN", width=390):
    context = browser.new_context(viewport={"width": width, "height": 844}, locale=locale)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return context, page, errors


@pytest.mark.parametrize("width, locale, unmet, share", [(390, "zh-CN", "未满足", "满足率"),
                                                        (1400, "en-US", "unmet", "Share met")])
def test_analysts_see_unmet_demand_and_its_table(browser, live_server, analyst_key, width, locale, unmet, share):
    context, page, errors = _phone(browser, locale, width)
    page.goto(live_server + "/analytics")
    page.fill("#key", analyst_key)
    page.click("button[type=submit]")
    page.wait_for_selector("#demand-on", timeout=15_000)
    page.wait_for_function("() => document.getElementById('demand-time-label').textContent !== ''")  # demand.js ran
    page.check("#demand-on")
    page.wait_for_function(f"() => document.getElementById('demand-status').textContent.includes('{unmet}')",
                           timeout=30_000)
    page.wait_for_selector("#demand-table tbody tr", timeout=30_000)
    assert share in page.inner_text("#demand-table thead")
    page.select_option("#demand-window", "3")
    page.wait_for_function("() => document.getElementById('demand-time-label').textContent.includes('→')")
    assert "since=" in page.get_attribute("#x-demand-csv", "href")
    page.screenshot(path=str(ARTIFACTS / f"demand-analytics-{width}.png"), full_page=width < 1000)
    assert not errors, errors
    context.close()


@pytest.mark.parametrize("width, locale", [(390, "zh-CN"), (1400, "en-US")])
def test_retailers_see_where_to_open_next(browser, live_server, brand_owner_key, width, locale):
    context, page, errors = _phone(browser, locale, width)
    page.goto(live_server + "/retailer")
    page.fill("#key", brand_owner_key)
    page.click("button[type=submit]")
    page.wait_for_selector("#suggestion-list li", timeout=30_000)
    assert "优衣库" in page.inner_text("#demand-brand") or "Uniqlo" in page.inner_text("#demand-brand")
    assert ("人" if locale == "zh-CN" else "people") in page.inner_text("#suggestion-list")  # the population there
    page.wait_for_selector("#reach-table tbody tr", timeout=10_000)
    page.locator("#demand-panel").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"demand-retailer-{width}.png"))
    assert not errors, errors
    context.close()
