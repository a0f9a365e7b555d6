"""Staff accounts in headless Chromium: an invite link sets a password, the person signs in with
e-mail and password, edits a store, and the store's history names them; a viewer sees no write
controls."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.e2e.conftest import live_server_db

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
pytestmark = pytest.mark.browser
PASSWORD = "plum blossom 1111"


@pytest.fixture(scope="module")
def team(live_server):
    from o2o.services import accounts, people
    from o2o.storage.sqlite import SqliteRepository

    repo = SqliteRepository.from_url(live_server_db[live_server])
    rid, _ = accounts.create_retailer(repo, "People Test Co", ["peopletest.tmall.com"])
    owner_path = people.invite(repo, "owner@peopletest.example", people.Organisation("retailer", rid), "owner")[1]
    sid = repo.insert_store({"retailer_id": rid, "external_id": "PT-1", "name": "人员测试店", "brand": "PeopleBrand",
                             "category": "Apparel", "lon": 121.4500, "lat": 31.2100, "address": "测试路1号",
                             "province": "上海市", "city": "上海市", "district": "徐汇区", "hours": "10:00-22:00",
                             "online_url": "https://peopletest.tmall.com/"}, actor="primary key")
    repo.close()
    return {"owner_path": owner_path, "store_id": sid}


def set_password(page, url: str) -> None:
    page.goto(url)
    page.fill("#password", PASSWORD)
    page.fill("#password2", PASSWORD)
    page.click("#setup-form button[type=submit]")
    page.wait_for_url(re.compile(r"/retailer$"))


def invite(page, live_server: str, email: str, role: str) -> str:
    page.goto(live_server + "/account")
    page.fill("#invite-form input[name=email]", email)
    page.select_option("#invite-form select[name=role]", role)
    page.click("#invite-form button[type=submit]")
    return page.input_value("#invite-link-value")


def test_invite_set_password_sign_in_edit_and_the_history_names_the_editor(browser, live_server, team):
    owner = browser.new_context(locale="zh-CN").new_page()
    set_password(owner, live_server + team["owner_path"])
    assert "owner@peopletest.example" in owner.inner_text("#who-am-i")
    editor_link = invite(owner, live_server, "editor@peopletest.example", "editor")
    viewer_link = invite(owner, live_server, "viewer@peopletest.example", "viewer")
    assert "/account/setup/" in editor_link and editor_link != viewer_link
    owner.context.close()

    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    set_password(page, editor_link)
    page.click(".who button[type=submit]")  # sign out
    page.goto(live_server + "/login")
    page.fill("#email", "editor@peopletest.example")
    page.fill("#password", "not the password")
    page.click("#login-form button[type=submit]")
    assert "邮箱或密码错误" in page.inner_text("#login-error")  # "wrong e-mail or password", in Chinese
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(re.compile(r"/retailer$"))

    row = f'#store-table tr[data-id="{team["store_id"]}"]'
    page.wait_for_selector(row)
    page.click(f"{row} button:not(.history)")  # Edit
    page.fill("#f-name", "人员测试店（新名）")
    page.click("#save")
    page.wait_for_selector("#store-table tr.just-saved", timeout=10_000)
    page.click(f"{row} button.history")
    page.wait_for_selector("#history-table")
    text = page.inner_text("#history-table")
    assert "editor@peopletest.example" in text and "人员测试店（新名）" in text and "primary key" in text
    page.screenshot(path=str(ARTIFACTS / "retailer-history.png"))
    context.close()

    context = browser.new_context(locale="en-GB")
    viewer = context.new_page()
    set_password(viewer, viewer_link)
    viewer.wait_for_selector(row)
    assert viewer.locator("#write-controls").is_hidden() and viewer.locator("#store-form").is_hidden()
    assert viewer.locator("#read-only").is_visible()
    assert viewer.locator(f"{row} button").all_inner_texts() == ["History"]
    viewer.click(f"{row} button.history")
    viewer.wait_for_selector("#history-table")
    assert "editor@peopletest.example" in viewer.inner_text("#history-table")
    context.close()
