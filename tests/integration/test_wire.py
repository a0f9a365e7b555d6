"""Light on the wire: compressed text, content-hashed static URLs cached a year, ETags that tell
compressed answers apart and still give 304, and a meta description on every page."""

import gzip
import html
import re

import brotli
import pytest
from backports import zstd

from o2o.web import assets

NEARBY = "/api/v1/stores/nearby?lat=31.23&lon=121.47&k=20"
CHROME = "gzip, deflate, br, zstd"
DECODE = {"gzip": gzip.decompress, "br": brotli.decompress, "zstd": zstd.decompress}
YEAR = "public, max-age=31536000, immutable"


def vary(response) -> set[str]:
    return {v.strip().lower() for v in response.headers.get("Vary", "").split(",")}


# ------------------------------------------------------------------------------ dynamic answers
@pytest.mark.both_backends
@pytest.mark.parametrize("accept, encoding", [(CHROME, "zstd"), ("gzip, deflate, br", "br"), ("gzip", "gzip"),
                                              ("br;q=0, gzip;q=0.5", "gzip")])
def test_text_over_1_kb_is_compressed_as_the_client_accepts(client, accept, encoding):
    plain = client.get(NEARBY)
    assert len(plain.data) > 1024 and "Content-Encoding" not in plain.headers
    r = client.get(NEARBY, headers={"Accept-Encoding": accept})
    assert r.status_code == 200 and r.headers["Content-Encoding"] == encoding
    assert "accept-encoding" in vary(r) and "accept-encoding" in vary(plain)
    assert DECODE[encoding](r.data) == plain.data
    assert int(r.headers["Content-Length"]) == len(r.data) < len(plain.data)


@pytest.mark.parametrize("path", ["/", "/stores/1", "/api/openapi.json", "/api/v1/stores/1/qr.svg"])
def test_pages_json_and_svg_are_compressed(client, path):
    r = client.get(path, headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and r.headers.get("Content-Encoding") == "gzip", path
    plain = client.get(path).data   # pages differ per request only in nonces and folium's ids
    assert len(gzip.decompress(r.data)) == len(plain) and gzip.decompress(r.data)[:15] == plain[:15]


def test_data_gets_the_fastest_coder_and_pages_the_densest(client):
    """Chromium accepts zstd and brotli alike: the API's data comes in zstd (fast, on the hot
    path), pages in brotli (smaller, made far less often)."""
    assert client.get(NEARBY, headers={"Accept-Encoding": CHROME}).headers["Content-Encoding"] == "zstd"
    page = client.get("/", headers={"Accept-Encoding": CHROME})
    assert page.headers["Content-Encoding"] == "br" and brotli.decompress(page.data).startswith(b"<!doctype html>")
    assert client.get("/", headers={"Accept-Encoding": "zstd, gzip"}).headers["Content-Encoding"] == "zstd"


def test_a_body_under_1_kb_is_not_compressed(client):
    r = client.get("/healthz", headers={"Accept-Encoding": CHROME})
    assert r.status_code == 200 and len(r.data) < 1024
    assert "Content-Encoding" not in r.headers and "accept-encoding" in vary(r)


@pytest.mark.parametrize("path", ["/api/v1/stores/1/qr.png", "/stores/1/poster.pdf"])
def test_images_and_pdfs_are_not_compressed_again(client, path):
    r = client.get(path, headers={"Accept-Encoding": CHROME})
    assert r.status_code == 200 and "Content-Encoding" not in r.headers, path


@pytest.mark.both_backends
@pytest.mark.parametrize("accept", [None, "identity", "gzip;q=0, br;q=0, zstd;q=0"])
def test_a_client_that_accepts_no_compression_gets_none(client, accept):
    r = client.get(NEARBY, headers={"Accept-Encoding": accept} if accept is not None else {})
    assert r.status_code == 200 and "Content-Encoding" not in r.headers
    assert r.get_json()["type"] == "FeatureCollection"


@pytest.mark.both_backends
@pytest.mark.parametrize("accept, encoding", [(CHROME, "zstd"), ("br", "br"), ("gzip", "gzip")])
def test_a_compressed_answer_has_its_own_etag_and_still_gets_304(client, accept, encoding):
    plain = client.get(NEARBY)
    packed = client.get(NEARBY, headers={"Accept-Encoding": accept})
    tag, packed_tag = plain.headers["ETag"], packed.headers["ETag"]
    assert packed_tag != tag and packed_tag == tag[:-1] + f':{encoding}"'
    again = client.get(NEARBY, headers={"Accept-Encoding": accept, "If-None-Match": packed_tag})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == packed_tag
    assert "accept-encoding" in vary(again)
    # The identity tag still names the same answer; a tag from elsewhere does not.
    assert client.get(NEARBY, headers={"Accept-Encoding": accept, "If-None-Match": tag}).status_code == 304
    assert client.get(NEARBY, headers={"If-None-Match": packed_tag}).status_code == 304
    other = client.get(NEARBY, headers={"Accept-Encoding": accept, "If-None-Match": '"abc:gzip"'})
    assert other.status_code == 200 and DECODE[encoding](other.data) == plain.data


# ------------------------------------------------------------------------------ static files
def test_a_versioned_static_url_is_cached_for_a_year(client):
    url = assets.asset_url("css/app.css")
    assert re.fullmatch(r"/static/css/app\.[0-9a-f]{10}\.css", url)
    r = client.get(url)
    assert r.status_code == 200 and r.headers["Cache-Control"] == YEAR
    assert r.data == (assets.STATIC / "css" / "app.css").read_bytes()


@pytest.mark.parametrize("path", ["vendor/leaflet/leaflet.js", "vendor/leaflet.markercluster/MarkerCluster.css"])
def test_a_versioned_vendor_url_is_cached_for_a_year(client, path):
    url = assets.asset_url(path)
    assert re.fullmatch(r"/vendor/[a-z.]+/[0-9a-f]{10}/.+", url)
    r = client.get(url)
    assert r.status_code == 200 and r.headers["Cache-Control"] == YEAR


def test_images_leaflets_css_names_are_versioned_too(client):
    """Leaflet's CSS names its images relatively (url(images/layers.png)), and Leaflet's script
    finds the marker icons from that CSS: under the versioned folder they are versioned too."""
    css_url = assets.asset_url("vendor/leaflet/leaflet.css")
    css = client.get(css_url).data.decode()
    assert "url(images/marker-icon.png)" in css
    image = client.get(css_url.rsplit("/", 1)[0] + "/images/marker-icon.png")
    assert image.status_code == 200 and image.headers["Cache-Control"] == YEAR
    assert image.content_type == "image/png" and "Content-Encoding" not in image.headers


@pytest.mark.parametrize("url", ["/static/css/app.0123456789.css", "/vendor/leaflet/0123456789/leaflet.js"])
def test_an_unknown_hash_gets_the_file_but_not_for_a_year(client, url):
    r = client.get(url)
    assert r.status_code == 200 and r.data
    assert r.headers["Cache-Control"] == "no-cache" and "immutable" not in r.headers["Cache-Control"]


@pytest.mark.parametrize("url", ["/static/css/app.css", "/vendor/leaflet/leaflet.js"])
def test_an_unversioned_url_is_revalidated_with_an_etag(client, url):
    r = client.get(url, headers={"Accept-Encoding": "br"})
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-cache"
    again = client.get(url, headers={"Accept-Encoding": "br", "If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


@pytest.mark.parametrize("accept, encoding", [(CHROME, "br"), ("gzip, deflate", "gzip")])
def test_static_text_is_sent_compressed_from_memory(client, monkeypatch, accept, encoding):
    url = assets.asset_url("vendor/leaflet/leaflet.js")
    plain = client.get(url)
    first = client.get(url, headers={"Accept-Encoding": accept})
    assert first.headers["Content-Encoding"] == encoding and "accept-encoding" in vary(first)
    assert DECODE[encoding](first.data) == plain.data
    assert first.headers["ETag"] != plain.headers["ETag"]

    def no_more(*args, **kwargs):
        raise AssertionError("compressed again")

    monkeypatch.setattr(assets.brotli, "compress", no_more)
    monkeypatch.setattr(assets.gzip, "compress", no_more)
    assert client.get(url, headers={"Accept-Encoding": accept}).data == first.data


def test_a_changed_file_gets_a_new_url(client, tmp_path, monkeypatch):
    (tmp_path / "js").mkdir()
    script = tmp_path / "js" / "page.js"
    script.write_text("console.log('one');\n" * 100)
    (tmp_path / "js" / "tiny.js").write_text("var x = 1;\n")
    monkeypatch.setattr(assets, "STATIC", tmp_path)
    old_url, old_version = assets.asset_url("js/page.js"), assets.asset_version()
    assert client.get(old_url).headers["Cache-Control"] == YEAR
    small = client.get(assets.asset_url("js/tiny.js"), headers={"Accept-Encoding": CHROME})
    assert small.status_code == 200 and "Content-Encoding" not in small.headers  # under 1 KB

    script.write_text("console.log('two, longer');\n" * 100)
    new_url = assets.asset_url("js/page.js")
    assert new_url != old_url and assets.asset_version() != old_version
    assert new_url in assets.shell_assets()
    assert b"two, longer" in client.get(new_url).data
    old = client.get(old_url)   # an old page asking for the old file: the new one, not kept long
    assert b"two, longer" in old.data and old.headers["Cache-Control"] == "no-cache"


def test_the_shell_is_versioned_and_served(client):
    shell = assets.shell_assets()
    assert any(u.startswith("/static/css/app.") for u in shell)
    assert any(u.endswith("/leaflet.js") for u in shell) and any(u.endswith("/marker-icon.png") for u in shell)
    assert not any(name in u for u in shell for name in ("/sw.", "/retailer.", "/analytics."))
    assert re.fullmatch(r"[0-9a-f]{10}", assets.asset_version())
    for url in shell:
        r = client.get(url)
        assert r.status_code == 200 and r.headers["Cache-Control"] == YEAR, url


@pytest.mark.parametrize("path", ["/", "/stores/1", "/brands/uniqlo", "/my", "/retailer", "/analytics"])
def test_pages_load_only_versioned_assets(client, path):
    page = client.get(path).get_data(as_text=True)
    urls = re.findall(r'(?:src|href)="(/(?:static|vendor)/[^"]+)"', page)
    assert urls, path
    for url in urls:
        r = client.get(url)
        assert r.status_code == 200 and r.headers["Cache-Control"] == YEAR, url


# ------------------------------------------------------------------------------ meta description
PAGES = ["/", "/stores/1", "/stores/8", "/brands/uniqlo", "/my", "/retailer", "/analytics", "/no-such-page"]
CJK = re.compile(r"[\u4e00-\u9fff]")


def description(client, path: str) -> str:
    found = re.findall(r'<meta name="description" content="([^"]*)">', client.get(path).get_data(as_text=True))
    assert len(found) == 1, path
    return html.unescape(found[0])


@pytest.mark.parametrize("path", PAGES)
def test_every_page_has_a_meta_description_in_its_language(app, path):
    zh = description(app.test_client(), path + ("&" if "?" in path else "?") + "lang=zh")
    en = description(app.test_client(), path + ("&" if "?" in path else "?") + "lang=en")
    assert len(zh) >= 20 and len(en) >= 40 and zh != en
    assert CJK.search(zh)
    assert re.search(r"[A-Za-z]{4,} [A-Za-z]{3,}", en)


def test_a_store_pages_description_names_the_store_and_its_address(app, client):
    text = description(client, "/stores/1?lang=en")
    store = client.get("/api/v1/stores/1").get_json()["properties"]
    assert store["name"] in text and store["address"] in text   # "<b>bold</b>" escaped, then read back
    raw = client.get("/stores/1?lang=en").get_data(as_text=True)
    assert "<b>bold</b>" not in raw.split('<meta name="description"', 1)[1].split(">", 1)[0]
    assert "closed" in description(app.test_client(), "/stores/8?lang=en")  # the closed one


def test_a_brand_pages_description_names_the_brand_and_its_count(client):
    text = description(client, "/brands/uniqlo?lang=en")
    assert text.startswith("Uniqlo:") and "3 open stores" in text   # tests/conftest.py: 3 open, 1 closed


def test_whole_basemap_outlines_are_compressed_once_with_an_etag(client, monkeypatch):
    plain = client.get("/geodata/provinces.geojson")
    assert plain.status_code == 200 and plain.get_json()["type"] == "FeatureCollection"
    packed = client.get("/geodata/provinces.geojson", headers={"Accept-Encoding": CHROME})
    assert packed.headers["Content-Encoding"] == "br" and brotli.decompress(packed.data) == plain.data
    assert "max-age=86400" in packed.headers["Cache-Control"] and "accept-encoding" in vary(packed)
    monkeypatch.setattr(assets.brotli, "compress", lambda *a, **k: pytest.fail("compressed again"))
    again = client.get("/geodata/provinces.geojson",
                       headers={"Accept-Encoding": CHROME, "If-None-Match": packed.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_the_kept_zstd_contexts_make_whole_answers_in_every_thread(app):
    """Each thread keeps its zstd context from answer to answer: every answer must still be a
    whole frame of its own body, whichever thread made it and whatever it made before."""
    from concurrent.futures import ThreadPoolExecutor

    paths = [f"/api/v1/stores/nearby?lat={31.2 + i / 100:.2f}&lon=121.47&k=20" for i in range(12)]
    plain = {p: app.test_client().get(p).data for p in paths}

    def fetch(path):
        r = app.test_client().get(path, headers={"Accept-Encoding": CHROME})
        return path, r.headers["Content-Encoding"], r.data

    with ThreadPoolExecutor(4) as pool:
        for path, encoding, data in pool.map(fetch, paths * 3):
            assert encoding == "zstd" and zstd.decompress(data) == plain[path], path
