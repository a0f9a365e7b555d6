"""Works offline, in headless Chromium: the manifest, the service worker, the last stores and store
pages with the network cut, a new version's caches; and WeChat's "copy address".

Service workers need a secure context: http://127.0.0.1 is one. Chromium's offline emulation
(``context.set_offline``) sets ``navigator.onLine`` and fails the page's own requests, but does
not reliably reach the service worker's requests (a worker restarted while offline fetches from
the network), so the tests also cut the network itself: the browser talks to the app through a
TCP relay that drops every connection and refuses new ones while cut.
"""

from __future__ import annotations

import io
import socket
import threading
import time

import pytest
from PIL import Image

from o2o.web import offline

from .conftest import browsing

pytestmark = pytest.mark.browser

WECHAT_UA = ("Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230901.001; wv) AppleWebKit/537.36 "
             "(KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160065 "
             "MMWEBSDK/20231202 MMWEBID/2311 MicroMessenger/8.0.47.2560(0x28002F30) WeChat/arm64 Weixin "
             "NetType/WIFI Language/zh_CN ABI/arm64")
SHANGHAI = "/?lat=31.23&lon=121.47&z=13"
CACHES_JS = """async () => {
  const out = {};
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    out[name] = (await cache.keys()).map(r => r.url.replace(location.origin, ''));
  }
  return out;
}"""


class Network:
    """A TCP relay between the browser and the live server. ``cut()`` drops every open connection
    and refuses new ones, as a lost network does; ``restore()`` lets them through again."""

    def __init__(self, target_port: int):
        self._target = ("127.0.0.1", target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.down = False
        self.stalled = False              # one bar of signal: connections open, nothing comes back
        self._held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.down:
                client.close()
                continue
            if self.stalled:
                with self._lock:
                    self._held.append(client)
                continue
            try:
                upstream = socket.create_connection(self._target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open.update((client, upstream))
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(src, dst), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            self._drop(src, dst)

    def _drop(self, *socks: socket.socket) -> None:
        for s in socks:
            with self._lock:
                self._open.discard(s)
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def cut(self) -> None:
        self.down = True
        with self._lock:
            socks = list(self._open)
        self._drop(*socks)

    def stall(self) -> None:
        """Connections open but never answer (nor fail): the network a mall basement has."""
        self.stalled = True
        with self._lock:
            socks = list(self._open)
        self._drop(*socks)

    def restore(self) -> None:
        self.down = False
        self.stalled = False
        with self._lock:
            held, self._held = self._held, []
        for s in held:
            s.close()

    def close(self) -> None:
        self.restore()
        self.cut()
        self._listener.close()


@pytest.fixture
def network(live_server):
    port = int(live_server.rsplit(":", 1)[1])
    net = Network(port)
    net.url = f"http://127.0.0.1:{net.port}"  # another origin than live_server: a worker of its own
    yield net
    net.close()


def _context(browser, **options):
    options.setdefault("viewport", {"width": 1280, "height": 800})
    options.setdefault("locale", "zh-CN")
    return browsing(browser, **options)


def _controlled(page) -> None:
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=20_000)


def _until(page, script: str, arg=None, timeout_s: float = 20.0):
    """Evaluate ``script`` (which may return a promise: ``wait_for_function`` would take the promise
    itself for a truthy answer) until it answers something truthy."""
    deadline = time.monotonic() + timeout_s
    while True:
        answer = page.evaluate(script, arg)
        if answer or time.monotonic() > deadline:
            assert answer, f"still false after {timeout_s} s: {script}"
            return answer
        page.wait_for_timeout(200)


def _wait_cached(page, prefix: str, path: str) -> None:
    """Until a cache whose name starts with ``prefix`` holds an entry whose path starts with ``path``
    (the worker stores its copies after answering)."""
    _until(page, """([prefix, path]) => caches.keys().then(names => Promise.all(
             names.filter(n => n.startsWith(prefix)).map(n => caches.open(n).then(c => c.keys()))))
           .then(lists => lists.flat().some(r => r.url.replace(location.origin, '').startsWith(path)))""",
           [prefix, path])


def test_manifest_is_linked_and_valid_and_its_icons_have_the_stated_sizes(page, live_server):
    page.goto(live_server + "/")
    href = page.locator('link[rel="manifest"]').get_attribute("href")
    answer = page.request.get(live_server + href)
    assert answer.ok
    assert answer.headers["content-type"].startswith("application/manifest+json")
    manifest = answer.json()
    assert manifest["name"] == "o2o 双11 门店查找" and manifest["short_name"] == "双11门店"  # the page's language
    assert manifest["start_url"] == "/" and manifest["scope"] == "/"
    assert manifest["display"] == "standalone"
    assert manifest["theme_color"] == manifest["background_color"] == "#d7282b"
    assert page.locator('meta[name="theme-color"]').get_attribute("content") == "#d7282b"

    sizes = set()
    for icon in manifest["icons"]:
        got = page.request.get(live_server + icon["src"])
        assert got.ok and got.headers["content-type"].startswith("image/png")
        image = Image.open(io.BytesIO(got.body()))
        width, height = (int(v) for v in icon["sizes"].split("x"))
        assert image.format == "PNG" and image.size == (width, height), icon
        sizes.add((icon["sizes"], icon.get("purpose", "any")))
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes

    touch = page.request.get(live_server + page.locator('link[rel="apple-touch-icon"]').get_attribute("href"))
    assert Image.open(io.BytesIO(touch.body())).size == (180, 180)

    english = page.request.get(live_server + "/manifest.webmanifest?lang=en").json()
    assert english["name"] == "o2o 11.11 store finder" and english["lang"] == "en"


def test_the_service_worker_registers_controls_the_page_and_precaches_the_shell(page, live_server):
    page.goto(live_server + "/")
    _controlled(page)
    assert page.evaluate("navigator.serviceWorker.controller.scriptURL") == live_server + "/sw.js"
    assert page.evaluate("navigator.serviceWorker.getRegistration().then(r => r.scope)") == live_server + "/"
    caches = page.evaluate(CACHES_JS)
    shell = caches[f"o2o-shell-v{offline.SCHEMA}-{offline.asset_version()}"]
    assert "/" in shell and "/offline" in shell
    assert any(p.startswith("/static/js/finder.") for p in shell)
    assert any(p.startswith("/vendor/leaflet/") and p.endswith("/leaflet.js") for p in shell)
    assert "/geodata/provinces.geojson" in caches[f"o2o-basemap-v{offline.SCHEMA}-{offline.asset_version()}"]
    # The answers still carry their ETag through the worker (the API's 304s keep working).
    etag = page.evaluate("fetch('/api/v1/stores/nearby?lat=31.23&lon=121.47&k=3').then(r => r.headers.get('ETag'))")
    assert etag
    assert not page.js_errors


def test_with_the_network_cut_a_reload_shows_the_last_stores_and_store_page_marked_out_of_date(browser, network):
    with _context(browser) as (context, page):
        page.goto(network.url + SHANGHAI)
        _controlled(page)
        page.reload()  # now through the worker, which keeps the answers
        page.wait_for_selector("#results li", timeout=20_000)
        listed = page.locator("#results li strong").all_inner_texts()
        store_id = page.locator("#results li").first.get_attribute("data-id")
        _wait_cached(page, "o2o-api-", "/api/v1/stores/nearby")
        _wait_cached(page, "o2o-api-", "/api/v1/stores?bbox=")
        page.goto(f"{network.url}/stores/{store_id}")
        name = page.locator("h1").inner_text()
        _wait_cached(page, "o2o-pages-", f"/stores/{store_id}")

        network.cut()
        context.set_offline(True)

        page.reload()
        assert page.locator("h1").inner_text() == name
        banner = page.locator(".offline-banner")
        banner.wait_for(timeout=5_000)
        assert "可能已过期" in banner.inner_text()

        page.goto(network.url + SHANGHAI)
        page.wait_for_selector("#results li", timeout=20_000)
        assert page.locator(".topbar").is_visible() and page.locator("#map").is_visible()  # the app shell
        assert page.locator("#results li strong").all_inner_texts() == listed
        stale = page.locator(".stale-note")
        assert stale.is_visible() and "可能已过期" in stale.inner_text()
        page.wait_for_function("() => document.getElementById('status').textContent.includes('可能已过期')",
                               timeout=10_000)
        page.screenshot(path=str(_artifacts() / "offline-finder.png"))

        # The search says it needs a connection, before and after trying.
        note = page.locator(".needs-connection")
        assert note.is_visible() and "搜索需要网络连接" in note.inner_text()
        page.fill("#q", "优衣库")
        page.press("#q", "Enter")
        assert "搜索需要网络连接" in page.locator("#status").inner_text()
        assert page.locator(".suggestions li").count() == 0

        # A page never seen: the offline page, not the browser's error.
        page.goto(network.url + "/my")
        assert "没有网络连接" in page.locator("h1").inner_text()

        # Back online: the note goes, fresh stores come.
        page.goto(network.url + SHANGHAI)
        page.wait_for_selector("#results li", timeout=20_000)
        network.restore()
        context.set_offline(False)
        note.wait_for(state="hidden", timeout=10_000)
        stale.wait_for(state="hidden", timeout=20_000)
        assert not page.js_errors


def test_on_a_network_that_hangs_the_kept_store_page_and_stores_come_after_the_time_limit(browser, network):
    """One bar of signal: connections open and nothing comes back. The worker does not wait for ever:
    after its time limit the page and the answers it kept are shown, marked with their time."""
    with _context(browser) as (context, page):
        page.goto(network.url + SHANGHAI)
        _controlled(page)
        page.reload()
        page.wait_for_selector("#results li", timeout=20_000)
        listed = page.locator("#results li strong").all_inner_texts()
        store_id = page.locator("#results li").first.get_attribute("data-id")
        _wait_cached(page, "o2o-api-", "/api/v1/stores/nearby")
        page.goto(f"{network.url}/stores/{store_id}")
        name = page.locator("h1").inner_text()
        _wait_cached(page, "o2o-pages-", f"/stores/{store_id}")
        _wait_cached(page, "o2o-pages-", "/")

        network.stall()
        started = time.monotonic()
        page.reload(wait_until="domcontentloaded", timeout=30_000)
        assert page.locator("h1").inner_text() == name
        banner = page.locator(".offline-banner")
        banner.wait_for(timeout=10_000)
        assert "可能已过期" in banner.inner_text()
        waited = time.monotonic() - started
        assert waited >= offline.NETWORK_TIMEOUT_MS["pages"] / 1000 * 0.9  # the network had its chance

        # The finder at the same view: the list kept for that very request, marked.
        page.goto(network.url + SHANGHAI, wait_until="domcontentloaded", timeout=30_000)
        page.wait_for_selector("#results li", timeout=30_000)
        assert page.locator("#results li strong").all_inner_texts() == listed
        assert "可能已过期" in page.locator(".stale-note").inner_text()
        network.restore()
        assert not page.js_errors


def test_a_new_asset_version_replaces_the_old_caches(page, live_server, monkeypatch):
    page.goto(live_server + "/")
    _controlled(page)
    old = f"v{offline.SCHEMA}-{offline.asset_version()}"
    assert any(name.endswith(old) for name in page.evaluate(CACHES_JS))

    monkeypatch.setattr(offline, "asset_version", lambda: "0123456789")
    page.evaluate("navigator.serviceWorker.getRegistration().then(r => r.update())")
    _until(page, """old => caches.keys().then(names => names.includes('o2o-shell-v1-0123456789')
                                                  && !names.some(n => n.endsWith(old)))""", old)
    shell = page.evaluate(CACHES_JS)["o2o-shell-v1-0123456789"]
    assert "/" in shell and any(p.startswith("/static/js/finder.") for p in shell)  # whole, at once


def _artifacts():
    from .conftest import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def _first_store(page, base: str) -> str:
    page.goto(base + SHANGHAI)
    page.wait_for_selector("#results li", timeout=20_000)
    return page.locator("#results li").first.get_attribute("data-id")


def test_in_wechat_the_store_page_offers_copy_address_instead_of_amap(browser, live_server):
    with _context(browser, user_agent=WECHAT_UA, viewport={"width": 390, "height": 844},
                  permissions=["clipboard-read", "clipboard-write"]) as (context, page):
        store_id = _first_store(page, live_server)
        page.goto(f"{live_server}/stores/{store_id}")
        assert page.locator('a[href^="https://uri.amap.com/"]').count() == 0
        assert "微信" in page.locator(".store-details .in-app-hint").inner_text()
        assert page.locator('.store-details a[href^="geo:"]').count() == 1
        address = page.locator("dd").first.inner_text().strip()
        page.get_by_role("button", name="复制地址").click()
        page.wait_for_function("() => (document.querySelector('.copy-result') || {}).textContent === '地址已复制'",
                               timeout=5_000)
        assert page.evaluate("navigator.clipboard.readText()") == address
        page.screenshot(path=str(_artifacts() / "store-wechat.png"))
        assert not page.js_errors


def test_copy_address_works_without_the_clipboard_api(browser, live_server):
    with _context(browser, user_agent=WECHAT_UA, permissions=["clipboard-read", "clipboard-write"]) as (context, page):
        store_id = _first_store(page, live_server)
        # An older in-app browser: no navigator.clipboard (kept aside to read the result back).
        page.add_init_script("""window.__clipboard = navigator.clipboard;
            Object.defineProperty(Navigator.prototype, 'clipboard', { get: () => undefined, configurable: true });""")
        page.goto(f"{live_server}/stores/{store_id}")
        assert page.evaluate("navigator.clipboard === undefined")
        address = page.locator("dd").first.inner_text().strip()
        page.get_by_role("button", name="复制地址").click()
        page.wait_for_function("() => (document.querySelector('.copy-result') || {}).textContent === '地址已复制'",
                               timeout=5_000)
        assert page.evaluate("window.__clipboard.readText()") == address


def test_in_wechat_the_finder_popup_offers_copy_address(browser, live_server):
    with _context(browser, user_agent=WECHAT_UA, permissions=["clipboard-read", "clipboard-write"]) as (context, page):
        _first_store(page, live_server)
        page.locator("#results li").first.click()
        popup = page.locator(".leaflet-popup-content .popup")
        popup.wait_for(timeout=5_000)
        assert popup.locator('a[href^="https://uri.amap.com/"]').count() == 0
        assert "微信" in popup.locator(".in-app-hint").inner_text()
        assert popup.locator('a[href^="geo:"]').count() == 1
        address = popup.locator(".addr").inner_text().strip()
        popup.get_by_role("button", name="复制地址").click()
        page.wait_for_function("() => (document.querySelector('.popup .copy-result') || {}).textContent === '地址已复制'",
                               timeout=5_000)
        assert page.evaluate("navigator.clipboard.readText()") == address
        assert not page.js_errors


def test_with_the_network_cut_a_brand_page_seen_still_draws_its_stores(browser, network):
    with _context(browser) as (context, page):
        try:
            page.goto(network.url + SHANGHAI)
            _controlled(page)
            slug = page.evaluate("fetch('/api/v1/brands').then(r => r.json()).then(b => b[0].slug)")
            page.goto(f"{network.url}/brands/{slug}")
            page.wait_for_selector("#map_brand .tile-cluster", timeout=20_000)
            _wait_cached(page, "o2o-pages-", f"/brands/{slug}")
            _wait_cached(page, "o2o-tiles-", "/tiles/stores/")
            # counted once every tile has come and been drawn (the first cluster can precede the last tile)
            page.wait_for_load_state("networkidle")
            page.wait_for_timeout(300)
            drawn = page.locator("#map_brand .leaflet-marker-icon").count()

            network.cut()
            context.set_offline(True)
            page.reload()
            page.wait_for_selector("#map_brand .tile-cluster", timeout=20_000)  # the tiles kept
            page.wait_for_function(
                f"() => document.querySelectorAll('#map_brand .leaflet-marker-icon').length === {drawn}",
                timeout=10_000)
            assert not page.js_errors
        finally:
            network.restore()
