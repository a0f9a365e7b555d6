"""Server-rendered pages: they render, escape untrusted text, and load nothing from the internet."""

import re

import pytest

from o2o.web import flask_cli_command

pytestmark = pytest.mark.both_backends

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(https?:)?//""", re.I)


def assert_no_external_assets(html: str):
    for m in re.finditer(r"<(script|link)[^>]*>", html, re.I):
        tag = m.group(0)
        if re.search(r"""rel=["']?(canonical|alternate)\b""", tag):
            continue  # the page's own absolute addresses (for search engines), nothing that loads
        assert not EXTERNAL.search(tag), f"external asset: {tag}"


def test_home_page_renders_with_local_assets(client):
    r = client.get("/")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert 'id="map"' in html and re.search(r"/vendor/leaflet/[0-9a-f]{10}/leaflet\.js", html)
    assert_no_external_assets(html)


def test_config_json_cannot_break_out_of_its_script_tag(client):
    html = client.get("/").get_data(as_text=True)
    block = html.split('id="o2o-config">', 1)[1].split("</script>", 1)[0]
    assert "<" not in block


def test_store_page_shows_details_escaped(client):
    r = client.get("/stores/9")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>bold</b>" not in html
    assert "uri.amap.com/navigation" in html and "geo:" in html
    assert "/go/9" in html and "qr.svg" in html
    assert_no_external_assets(html)


def test_folium_maps_use_the_apps_own_leaflet(client):
    html = client.get("/stores/1").get_data(as_text=True)
    assert re.search(r"/vendor/leaflet/[0-9a-f]{10}/leaflet\.js", html)
    for cdn in ("cdn.jsdelivr.net", "code.jquery.com", "cdnjs.cloudflare.com", "netdna.bootstrapcdn.com"):
        assert cdn not in html


def test_unknown_store_page_is_404_html(client):
    r = client.get("/stores/12345")
    assert r.status_code == 404 and "text/html" in r.content_type


def test_brand_page_lists_stores_nearest_first(client):
    r = client.get("/brands/uniqlo?lat=31.2304&lon=121.4737")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert html.index("来福士店") < html.index("南京东路店") < html.index("西单店")
    assert "已闭店" not in html
    assert_no_external_assets(html)


def test_unknown_brand_is_404(client):
    assert client.get("/brands/no-such-brand").status_code == 404


def test_offline_basemap_outlines_are_served(client):
    r = client.get("/geodata/provinces.geojson")
    assert r.status_code == 200
    data = r.get_json()
    assert data["type"] == "FeatureCollection" and len(data["features"]) >= 31
    assert len(r.data) < 600_000
    assert client.get("/geodata/secrets.geojson").status_code == 404


def test_vendor_assets_are_served_from_npm_packages(client):
    r = client.get("/vendor/leaflet/leaflet.js")
    assert r.status_code == 200 and b"Leaflet" in r.data[:2000]
    assert client.get("/vendor/leaflet/../package.json").status_code == 404
    assert client.get("/vendor/evil/x.js").status_code == 404


@pytest.mark.parametrize("argv, command", [
    (["/x/.venv/bin/flask", "--app", "app", "seed", "--stores", "5"], "seed"),
    (["flask", "-A", "app", "run"], "run"),
    (["gunicorn", "app:app"], None),
])
def test_cli_command_detection(argv, command):
    assert flask_cli_command(argv) == command


def test_amap_tiles_make_the_page_ask_for_gcj02(db_url, app):
    from o2o.web import create_app

    amap = create_app({"DATABASE_URL": db_url, "SEED_STORES": 0, "SECRET_KEY": "t",
                       "TILES": "https://webrd01.is.autonavi.com/appmaptile?x={x}&y={y}&z={z}&style=8"})
    html = amap.test_client().get("/").get_data(as_text=True)
    assert '"tilesCrs": "gcj02"' in html


def test_offline_district_outlines_come_by_viewport(client):
    r = client.get("/geodata/districts.geojson?bbox=121.40,31.20,121.50,31.26")
    names = {f["properties"]["name"] for f in r.get_json()["features"]}
    assert "黄浦区" in names and len(names) < 20
    too_wide = client.get("/geodata/districts.geojson?bbox=100,20,120,40")
    assert too_wide.status_code == 400 and too_wide.get_json()["error"]["field"] == "bbox"
    assert client.get("/geodata/districts.geojson").status_code == 400


def test_outlines_are_sent_gzipped_to_browsers_that_accept_it(client):
    import gzip
    import json

    plain = client.get("/geodata/cities.geojson")
    packed = client.get("/geodata/cities.geojson", headers={"Accept-Encoding": "gzip, deflate"})
    assert packed.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in packed.headers["Vary"]
    assert json.loads(gzip.decompress(packed.data)) == plain.get_json()
    assert len(packed.data) < 600_000 and len(plain.data) < 2_000_000
