"""A live server on a free loopback port, and Debian's headless Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from o2o.web import create_app

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
CHROMIUM = os.environ.get("O2O_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):  # keep the test output readable
        pass


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    path = tmp_path_factory.mktemp("live") / "o2o.db"
    app = create_app({"DATABASE_URL": f"sqlite:///{path}", "SEED_STORES": 3000, "SEED_SCANS": 20000,
                      "SECRET_KEY": "test", "TILES": "none",
                      # Every browser module signs in from 127.0.0.1 on this one server: the default
                      # 10 a minute refused the eleventh within a minute (a 429; a flaky browser test).
                      "SIGN_INS_PER_MINUTE": 1000})
    app.extensions["o2o"].keep_alive = True
    app.extensions["o2o"].regions()  # the boundaries the analytics answers need, loaded before any page waits  # serves every browser module of the session
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    live_server_db[url] = f"sqlite:///{path}"
    yield url
    server.shutdown()
    app.extensions["o2o"].shutdown()


live_server_db: dict[str, str] = {}


@pytest.fixture(scope="session")
def analyst_key(live_server):
    from o2o.services import accounts
    from o2o.storage.sqlite import SqliteRepository

    repo = SqliteRepository.from_url(live_server_db[live_server])
    _, key = accounts.create_analyst(repo, "Browser Analyst")
    repo.close()
    return key


@pytest.fixture(scope="session")
def retailer_key(live_server):
    from o2o.services import accounts
    from o2o.storage.sqlite import SqliteRepository

    repo = SqliteRepository.from_url(live_server_db[live_server])
    _, key = accounts.create_retailer(repo, "Browser Test Co", ["browsertest.tmall.com"])
    repo.close()
    return key


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}: scripts/test.sh installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@contextmanager
def browsing(browser, **options):
    """A fresh browser context made with ``options`` and a page in it whose uncaught JS errors gather in
    ``page.js_errors``; yields ``(context, page)`` and closes the context when the block ends, passed or not."""
    context = browser.new_context(**options)
    page = context.new_page()
    page.js_errors = []
    page.on("pageerror", lambda exc: page.js_errors.append(str(exc)))
    try:
        yield context, page
    finally:
        context.close()


@pytest.fixture
def page(browser):
    ARTIFACTS.mkdir(exist_ok=True)
    with browsing(browser, viewport={"width": 1280, "height": 800}, locale="zh-CN") as (_, page):
        yield page
