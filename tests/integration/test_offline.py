"""Works offline, over HTTP: the service worker's script and headers, the web app manifest, the
offline page, the links in every page; and the store page inside WeChat and QQ."""

from __future__ import annotations

import json
import re

import pytest

from o2o.web import assets, offline

WECHAT_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
             "Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN")
QQ_UA = ("Mozilla/5.0 (Linux; Android 12; V2148A) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 "
         "Chrome/98.0.4758.102 MQQBrowser/6.2 TBS/046247 Mobile Safari/537.36 V1_AND_SQ_8.9.38_4256_YYB_D "
         "QQ/8.9.38.10545 NetType/WIFI WebP/0.3.0 AppId/537155547")
QQ_BROWSER_UA = ("Mozilla/5.0 (Linux; U; Android 12; zh-cn; V2148A) AppleWebKit/537.36 (KHTML, like Gecko) "
                 "Version/4.0 MQQBrowser/13.6 Mobile Safari/537.36")
CHROME_UA = ("Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Chrome/120.0.0.0 Mobile Safari/537.36")


def _settings(body: bytes) -> dict:
    head = body.decode().split("\n", 1)[0]
    assert head.startswith("self.O2O_SW = ") and head.endswith(";")
    return json.loads(head[len("self.O2O_SW = "):-1])


# ----------------------------------------------------------------------------- /sw.js
def test_service_worker_is_served_for_the_whole_site_and_never_cached_for_long(client):
    r = client.get("/sw.js")
    assert r.status_code == 200
    assert r.mimetype == "application/javascript"
    assert r.headers["Service-Worker-Allowed"] == "/"
    assert r.headers["Cache-Control"] == "no-cache"         # no year-long cache: updates are seen
    assert "max-age" not in r.headers["Cache-Control"]
    # The worker's own policy lets it fetch from the app (the API's "default-src 'none'" would not).
    assert r.headers["Content-Security-Policy"].startswith("default-src 'self'")


def test_service_worker_answers_if_none_match_with_304(client):
    tag = client.get("/sw.js").headers["ETag"]
    again = client.get("/sw.js", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.headers["ETag"] == tag


def test_service_worker_names_its_caches_with_the_asset_version_and_precaches_the_shell(client):
    settings = _settings(client.get("/sw.js").data)
    assert settings["version"] == assets.asset_version()
    assert settings["shell"] == assets.shell_assets()
    assert settings["pages"] == ["/", "/offline"] and settings["offline"] == "/offline"
    assert settings["basemap"] == ["/geodata/provinces.geojson"]
    assert all(v > 0 for v in settings["limits"].values())
    # Every URL of the shell is one the worker treats as content-hashed (cache-first).
    patterns = [re.compile(p) for p in settings["versioned"]]
    assert all(any(p.search(url) for p in patterns) for url in settings["shell"])
    assert not any(p.search("/static/js/finder.js") for p in patterns)   # an unversioned name is not


def test_a_new_asset_version_is_a_new_service_worker(client, monkeypatch):
    before = client.get("/sw.js")
    monkeypatch.setattr(offline, "asset_version", lambda: "0123456789")
    after = client.get("/sw.js", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]
    assert _settings(after.data)["version"] == "0123456789"


def test_the_shell_files_it_precaches_are_served(client):
    for url in _settings(client.get("/sw.js").data)["shell"]:
        r = client.get(url)
        assert r.status_code == 200, url
        assert "immutable" in r.headers["Cache-Control"], url


def test_the_worker_leaves_consoles_go_and_keys_alone():
    source = offline.WORKER_SOURCE.read_text()
    bypass = re.search(r"var BYPASS = /(.+)/;", source).group(1)
    pattern = re.compile(bypass.replace("\\/", "/"))
    for path in ("/go/12", "/retailer", "/retailer/stores", "/analytics", "/login", "/logout",
                 "/account/setup/abc", "/api/v1/analytics/heatmap", "/api/v1/stores/import",
                 "/api/v1/stores/3/history", "/sw.js"):
        assert pattern.match(path), path
    for path in ("/", "/stores/3", "/api/v1/stores/nearby", "/geodata/provinces.geojson"):
        assert not pattern.match(path), path
    assert 'request.method !== "GET" || request.headers.has("Authorization")' in source


# ----------------------------------------------------------------------------- the manifest
def test_manifest_has_the_fields_an_install_needs_in_chinese_by_default(client):
    r = client.get("/manifest.webmanifest")
    assert r.status_code == 200 and r.mimetype == "application/manifest+json"
    m = r.get_json(force=True)
    assert m["name"] == "o2o 双11 门店查找" and m["short_name"] == "双11门店" and m["lang"] == "zh-CN"
    assert (m["start_url"], m["scope"], m["display"]) == ("/", "/", "standalone")
    assert m["theme_color"] == "#d7282b" and m["background_color"] == "#d7282b"
    assert {(i["sizes"], i["purpose"]) for i in m["icons"]} == {
        ("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")}
    for icon in m["icons"]:
        got = client.get(icon["src"])
        assert got.status_code == 200 and got.mimetype == "image/png"
    assert "Set-Cookie" not in r.headers


def test_theme_colour_is_the_top_bars_red():
    css = (offline.ROOT / "static" / "css" / "app.css").read_text()
    assert re.search(r"--red:\s*([#0-9a-fA-F]+)", css).group(1).lower() == offline.THEME_COLOUR


@pytest.mark.parametrize("ask", [{"query_string": {"lang": "en"}}, {"headers": {"Accept-Language": "en-GB,en"}}])
def test_manifest_speaks_english_when_asked(client, ask):
    m = client.get("/manifest.webmanifest", **ask).get_json(force=True)
    assert m["name"] == "o2o 11.11 store finder" and m["lang"] == "en"


def test_manifest_answers_if_none_match_with_304(client):
    tag = client.get("/manifest.webmanifest?lang=zh").headers["ETag"]
    assert client.get("/manifest.webmanifest?lang=zh", headers={"If-None-Match": tag}).status_code == 304
    assert client.get("/manifest.webmanifest?lang=en", headers={"If-None-Match": tag}).status_code == 200


@pytest.mark.parametrize("path", ["/", "/my", "/stores/1", "/brands/uniqlo", "/offline"])
def test_pages_link_the_manifest_theme_colour_touch_icon_and_worker_script(client, path):
    html = client.get(path).get_data(as_text=True)
    assert '<link rel="manifest" href="/manifest.webmanifest?lang=zh">' in html
    assert '<meta name="theme-color" content="#d7282b">' in html
    assert re.search(r'<link rel="apple-touch-icon" href="/static/icons/apple-touch-icon\.[0-9a-f]{10}\.png">', html)
    assert re.search(r'<script src="/static/js/offline\.[0-9a-f]{10}\.js"></script>', html)


def test_english_pages_link_the_english_manifest(client):
    assert "/manifest.webmanifest?lang=en" in client.get("/?lang=en").get_data(as_text=True)


def test_offline_page_says_there_is_no_connection(client):
    r = client.get("/offline")
    assert r.status_code == 200 and "没有网络连接" in r.get_data(as_text=True)
    assert "No connection" in client.get("/offline?lang=en").get_data(as_text=True)


# ----------------------------------------------------------------------------- WeChat and QQ
def test_store_page_in_wechat_offers_copy_address_and_geo_instead_of_amap(client):
    r = client.get("/stores/1", headers={"User-Agent": WECHAT_UA})
    html = r.get_data(as_text=True)
    assert "uri.amap.com" not in html
    assert "在微信里无法打开导航应用" in html and "右上角" in html
    assert re.search(r'<button type="button" class="button primary" data-copy="测试路1号 &lt;b&gt;bold&lt;/b&gt;">复制地址</button>', html)
    assert 'href="geo:' in html
    assert "User-Agent" in r.headers["Vary"]


def test_store_page_in_qq_names_qq(client):
    html = client.get("/stores/1", headers={"User-Agent": QQ_UA}).get_data(as_text=True)
    assert "在 QQ 里无法打开导航应用" in html and "data-copy=" in html and "uri.amap.com" not in html


@pytest.mark.parametrize("ua", [CHROME_UA, QQ_BROWSER_UA, ""])
def test_store_page_elsewhere_keeps_the_amap_link(client, ua):
    html = client.get("/stores/1", headers={"User-Agent": ua}).get_data(as_text=True)
    assert "https://uri.amap.com/navigation?" in html and "data-copy=" not in html
    assert 'href="geo:' in html


def test_store_page_in_wechat_in_english(client):
    html = client.get("/stores/1?lang=en", headers={"User-Agent": WECHAT_UA}).get_data(as_text=True)
    assert "In WeChat, navigation apps do not open" in html and ">Copy address</button>" in html
