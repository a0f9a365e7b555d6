"""/go/{id}: a scan is recorded, then a 302 to the store's shop with the store credited."""

import io
from urllib.parse import parse_qs, urlsplit

import pytest

from ..conftest import bearer, sql

pytestmark = pytest.mark.both_backends

PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.40"
DESKTOP = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
BOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def scans(db_url):
    return sql(db_url, "SELECT * FROM scans ORDER BY id", dicts=True)


def go(client, store_id, ua=PHONE, ip="10.1.2.3", **kw):
    return client.get(f"/go/{store_id}", headers={"User-Agent": ua}, environ_base={"REMOTE_ADDR": ip}, **kw)


def test_go_records_then_redirects_with_the_store_credited(client, db_url):
    r = go(client, 1)
    assert r.status_code == 302
    target = urlsplit(r.headers["Location"])
    assert target.scheme == "https" and target.hostname == "uniqlo.tmall.com"
    q = parse_qs(target.query)
    assert q["o2o_store"] == ["1"] and q["utm_source"] == ["o2o"]
    rows = scans(db_url)
    assert len(rows) == 1
    row = rows[0]
    assert row["store_id"] == 1 and row["brand"] == "Uniqlo" and row["client_kind"] == "phone" and row["counted"] == 1
    assert "10.1.2.3" not in str(row) and len(row["client_hash"]) == 32


def test_the_urls_own_query_is_kept(client, keys):
    created = client.post("/api/v1/stores", headers=bearer(keys["retailer"]), json={
        "name": "带参数", "brand": "QBrand", "category": "Apparel", "lat": 31.25, "lon": 121.47,
        "online_url": "https://test.tmall.com/shop/view.htm?shop_id=42&utm_source=partner#top"}).get_json()
    loc = urlsplit(go(client, created["id"]).headers["Location"])
    q = parse_qs(loc.query)
    assert q["shop_id"] == ["42"] and q["utm_source"] == ["partner"] and q["o2o_store"] == [str(created["id"])]
    assert loc.path == "/shop/view.htm" and loc.fragment == "top"


def test_unknown_store_is_404_and_closed_is_410(client):
    assert go(client, 99999).status_code == 404
    assert go(client, "abc").status_code == 404
    assert go(client, 8).status_code == 410  # the closed Uniqlo
    assert client.get("/go/8").get_json()["error"]["code"] == "gone"


def test_a_browser_gets_a_page_not_json(client):
    r = client.get("/go/99999", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert r.status_code == 404 and "text/html" in r.content_type


def test_same_client_within_30_minutes_counts_once_and_bots_never(client, db_url):
    go(client, 1)
    go(client, 1)
    go(client, 2)
    go(client, 1, ip="10.9.9.9")
    go(client, 1, ua=BOT)
    go(client, 1, ua="curl/8.5.0")
    go(client, 1, ua=DESKTOP, ip="10.7.7.7")
    rows = scans(db_url)
    assert len(rows) == 7  # every redirect has its row
    assert [r["counted"] for r in rows] == [1, 0, 1, 1, 0, 0, 1]
    assert [r["client_kind"] for r in rows] == ["phone", "phone", "phone", "phone", "bot", "bot", "desktop"]


def test_a_repeat_after_30_minutes_counts_again(client, db_url, app):
    from o2o.services import scans as scan_service

    repo = app.extensions["o2o"].repo()
    store = repo.get_store(1)
    assert repo.record_scan(store, 1_000_000, "phone", "h1", scan_service.DEDUP_WINDOW_S) is True
    assert repo.record_scan(store, 1_000_000 + 1799, "phone", "h1", scan_service.DEDUP_WINDOW_S) is False
    assert repo.record_scan(store, 1_000_000 + 1799 + 1801, "phone", "h1", scan_service.DEDUP_WINDOW_S) is True


def test_never_redirects_off_the_retailers_domains(client, db_url):
    sql(db_url, "UPDATE stores SET online_url = 'https://evil.example.com/phish' WHERE id = 2")
    sql(db_url, "UPDATE stores SET online_url = 'https://uniqlo.tmall.com.evil.example.com/' WHERE id = 3")
    sql(db_url, "UPDATE stores SET online_url = 'javascript:alert(1)' WHERE id = 4")
    for sid in (2, 3, 4):
        r = go(client, sid)
        assert r.status_code == 409 and "Location" not in r.headers
    assert scans(db_url) == []


def test_scans_are_rate_limited_per_client(client):
    codes = [go(client, 1, ip="10.5.5.5").status_code for _ in range(32)]
    assert codes[:30] == [302] * 30 and codes[-1] == 429
    assert go(client, 1, ip="10.6.6.6").status_code == 302  # another client is not held up


def _decode_png(data: bytes) -> str:
    import zxingcpp
    from PIL import Image

    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(data)))
    assert len(found) == 1
    return found[0].text


def test_qr_png_decodes_to_the_absolute_go_url(client):
    r = client.get("/api/v1/stores/5/qr.png", base_url="https://o2o.example.org")
    assert _decode_png(r.data) == "https://o2o.example.org/go/5"


def test_qr_svg_has_the_same_modules_as_the_png(client):
    svg = client.get("/api/v1/stores/5/qr.svg").get_data(as_text=True)
    assert svg.startswith("<svg") and "http://localhost/go/5" in svg  # the title names the link


def test_public_url_setting_is_written_into_codes(app, db_url):
    from o2o.web import create_app

    app = create_app({"DATABASE_URL": db_url, "SEED_STORES": 0, "SECRET_KEY": "t",
                      "PUBLIC_URL": "https://1111.example.cn"})
    assert _decode_png(app.test_client().get("/api/v1/stores/5/qr.png").data) == "https://1111.example.cn/go/5"


def _pdf_pages_decoded(pdf: bytes, tmp_path) -> list[str]:
    import shutil
    import subprocess

    if not shutil.which("pdftoppm"):
        pytest.skip("pdftoppm (poppler-utils) is not installed: scripts/test.sh installs it")
    (tmp_path / "p.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "110", str(tmp_path / "p.pdf"), str(tmp_path / "page")], check=True)
    return [_decode_png(p.read_bytes()) for p in sorted(tmp_path.glob("page*.png"))]


@pytest.mark.parametrize("size", ["a5", "a4"])
def test_store_poster_pdf_scans_to_the_go_url(client, tmp_path, size):
    r = client.get(f"/stores/3/poster.pdf?size={size}")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert _pdf_pages_decoded(r.data, tmp_path) == ["http://localhost/go/3"]


def test_poster_of_closed_or_unknown_store(client):
    assert client.get("/stores/8/poster.pdf").status_code == 410
    assert client.get("/stores/999/poster.pdf").status_code == 404
    assert client.get("/stores/3/poster.pdf?size=a3").status_code == 400


def test_retailer_downloads_all_posters_in_one_pdf(client, keys, tmp_path):
    for i, (lat, lon) in enumerate([(31.25, 121.47), (31.26, 121.48)]):
        client.post("/api/v1/stores", headers=bearer(keys["retailer"]), json={
            "name": f"海报店{i}", "brand": "PosterBrand", "category": "Apparel", "lat": lat, "lon": lon})
    r = client.get("/api/v1/retailer/posters.pdf?size=a4", headers=bearer(keys["retailer"]))
    assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
    urls = _pdf_pages_decoded(r.data, tmp_path)
    assert len(urls) == 2 and all(u.startswith("http://localhost/go/") for u in urls)
    assert client.get("/api/v1/retailer/posters.pdf").status_code == 401
