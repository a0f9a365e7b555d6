"""For search engines: schema.org JSON-LD on store pages (read with extruct), canonical URLs and
hreflang alternates, the directory (province → city → stores), /sitemap.xml (parsed with lxml, split
into parts past a configurable size) and /robots.txt."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import quote

import extruct
import pytest
from lxml import etree

from o2o.storage import open_repository
from o2o.web import create_app

from ..conftest import STORES, fill

NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
OPEN_IDS = {i for i, s in enumerate(STORES, start=1) if s[5] == "open"}


def _make_app(tmp_path, **settings):
    url = f"sqlite:///{tmp_path / 'o2o.db'}"
    repo = open_repository(url)
    repo.migrate()
    ids = fill(repo)
    repo.upsert_products(ids["Uniqlo"], [{"sku": "UQ-1", "title": "优衣库 羽绒服", "brand": "Uniqlo",
                                          "category": "Apparel", "price": 299.0}])
    # One store in Hangzhou, as the region look-up would have stored it.
    repo.update_store(6, {"province": "浙江省", "city": "杭州市", "district": "上城区"})
    repo.close()
    return create_app({"DATABASE_URL": url, "SEED_STORES": 0, "SECRET_KEY": "t", "TESTING": True, "TILES": "none",
                       **settings})


@pytest.fixture(scope="module")
def seo_app(tmp_path_factory):
    return _make_app(tmp_path_factory.mktemp("seo"))


@pytest.fixture
def client(seo_app):
    return seo_app.test_client()


def _jsonld(html: str, url: str) -> list[dict]:
    return extruct.extract(html, base_url=url, syntaxes=["json-ld"])["json-ld"]


def _links(html: str) -> dict:
    canonical = [unescape(u) for u in re.findall(r'<link rel="canonical" href="([^"]+)">', html)]
    alternates = {lang: unescape(u) for lang, u in
                  re.findall(r'<link rel="alternate" hreflang="([^"]+)" href="([^"]+)">', html)}
    return {"canonical": canonical, "alternates": alternates}


# ----------------------------------------------------------------------------- JSON-LD
def test_store_page_carries_schema_org_store_json_ld(client):
    html = client.get("/stores/1").get_data(as_text=True)
    [data] = _jsonld(html, "http://localhost/stores/1")
    assert data["@context"] == "https://schema.org" and data["@type"] == "ClothingStore"
    assert data["name"] == "优衣库(来福士店)"
    assert data["address"]["@type"] == "PostalAddress"
    assert data["address"]["streetAddress"] == "测试路1号 <b>bold</b>"   # as stored; escaped in the page
    assert data["address"]["addressRegion"] == "上海市" and data["address"]["addressCountry"] == "CN"
    assert data["geo"] == {"@type": "GeoCoordinates", "latitude": 31.2330, "longitude": 121.4760}
    assert data["telephone"] == "021-60000001"
    [hours] = data["openingHoursSpecification"]
    assert (hours["opens"], hours["closes"], len(hours["dayOfWeek"])) == ("10:00", "22:00", 7)
    assert data["url"] == "http://localhost/stores/1" == _links(html)["canonical"][0]


@pytest.mark.parametrize("store_id, kind", [(4, "ElectronicsStore"), (5, "ElectronicsStore"),
                                            (6, "DepartmentStore"), (3, "ClothingStore")])
def test_json_ld_type_follows_the_category(client, store_id, kind):
    html = client.get(f"/stores/{store_id}").get_data(as_text=True)
    assert _jsonld(html, "http://localhost/")[0]["@type"] == kind


def test_json_ld_cannot_break_out_of_its_script(client):
    html = client.get("/stores/9").get_data(as_text=True)   # named <script>alert(1)</script>店
    assert "<script>alert" not in html
    assert _jsonld(html, "http://localhost/stores/9")[0]["name"] == "<script>alert(1)</script>店"


def test_json_ld_lists_festival_hours_and_overnight_ranges(tmp_path):
    app = _make_app(tmp_path)
    repo = open_repository(app.config["O2O"]["DATABASE_URL"])
    repo.update_store(2, {"hours": "22:00-02:00", "special_hours": "2099-11-10 10:00-02:00; 2099-11-12 closed"})
    repo.close()
    html = app.test_client().get("/stores/2").get_data(as_text=True)
    spec = _jsonld(html, "http://localhost/stores/2")[0]["openingHoursSpecification"]
    assert (spec[0]["opens"], spec[0]["closes"]) == ("22:00", "02:00")   # closes before opens: the next day
    dated = {s["validFrom"]: (s["opens"], s["closes"]) for s in spec if "validFrom" in s}
    assert dated == {"2099-11-10": ("10:00", "02:00"), "2099-11-12": ("00:00", "00:00")}


# ----------------------------------------------------------------------------- canonical URLs
@pytest.mark.parametrize("path, canonical", [
    ("/", "/"), ("/stores/1", "/stores/1"), ("/brands/uniqlo?lat=31.2&lon=121.4", "/brands/uniqlo"),
    ("/directory", "/directory"), ("/ogc/collections?f=html", "/ogc/collections?f=html"),
])
def test_every_page_names_its_canonical_url_and_language_alternates(client, path, canonical):
    zh = _links(client.get(path, headers={"Accept-Language": "zh-CN"}).get_data(as_text=True))
    assert zh["canonical"] == ["http://localhost" + canonical]
    en_url = "http://localhost" + canonical + ("&" if "?" in canonical else "?") + "lang=en"
    assert zh["alternates"] == {"zh-CN": "http://localhost" + canonical, "en": en_url,
                                "x-default": "http://localhost" + canonical}
    en = _links(client.get(path + ("&" if "?" in path else "?") + "lang=en").get_data(as_text=True))
    assert en["canonical"] == [en_url]


def test_canonical_urls_use_the_public_url(tmp_path):
    app = _make_app(tmp_path, PUBLIC_URL="https://o2o.example.cn")
    html = app.test_client().get("/stores/1", headers={"Host": "evil.example"}).get_data(as_text=True)
    assert _links(html)["canonical"] == ["https://o2o.example.cn/stores/1"]
    assert _jsonld(html, "https://o2o.example.cn/stores/1")[0]["url"] == "https://o2o.example.cn/stores/1"


# ----------------------------------------------------------------------------- the directory
def test_directory_leads_from_province_to_city_to_open_stores(client):
    top = client.get("/directory").get_data(as_text=True)
    assert f'href="/directory/{quote("上海市")}"' in top and f'href="/directory/{quote("浙江省")}"' in top
    province = client.get(f"/directory/{quote('浙江省')}").get_data(as_text=True)
    assert f'href="/directory/{quote("浙江省")}/{quote("杭州市")}"' in province
    city = client.get(f"/directory/{quote('上海市')}/{quote('上海市')}").get_data(as_text=True)
    linked = {int(i) for i in re.findall(r'href="/stores/(\d+)"', city)}
    assert linked == OPEN_IDS - {6}   # the closed store (8) is not listed; 6 is in Hangzhou
    assert "黄浦区" in city


def test_directory_in_english_and_unknown_places(client):
    r = client.get("/directory?lang=en")
    assert r.status_code == 200 and "Store directory" in r.get_data(as_text=True)
    assert client.get(f"/directory/{quote('火星')}").status_code == 404
    assert client.get(f"/directory/{quote('上海市')}/{quote('火星')}").status_code == 404
    assert client.get(f"/directory/{quote('上海市')}/{quote('上海市')}?page=2").status_code == 404


def test_directory_follows_a_store_that_closes(tmp_path):
    app = _make_app(tmp_path)
    client = app.test_client()
    city = f"/directory/{quote('上海市')}/{quote('上海市')}"
    assert 'href="/stores/2"' in client.get(city).get_data(as_text=True)
    repo = open_repository(app.config["O2O"]["DATABASE_URL"])
    repo.update_store(2, {"status": "closed"})
    repo.close()
    assert 'href="/stores/2"' not in client.get(city).get_data(as_text=True)
    urls = {e.text for e in etree.fromstring(client.get("/sitemap.xml").data).iter(f"{NS}loc")}
    assert "http://localhost/stores/2" not in urls and "http://localhost/stores/1" in urls


# ----------------------------------------------------------------------------- sitemap, robots.txt
def test_sitemap_lists_every_open_store_and_the_directory(client):
    r = client.get("/sitemap.xml")
    assert r.mimetype == "application/xml"
    root = etree.fromstring(r.data)
    assert root.tag == f"{NS}urlset"
    assert all(child.tag == f"{NS}url" and [c.tag for c in child] == [f"{NS}loc"] for child in root)
    urls = [e.text for e in root.iter(f"{NS}loc")]
    assert len(urls) == len(set(urls)) and all(u.startswith("http://localhost/") for u in urls)
    stores = {int(u.rsplit("/", 1)[1]) for u in urls if "/stores/" in u}
    assert stores == OPEN_IDS
    assert {"http://localhost/directory", f"http://localhost/directory/{quote('浙江省')}",
            f"http://localhost/directory/{quote('浙江省')}/{quote('杭州市')}", "http://localhost/brands/uniqlo",
            "http://localhost/products/1"} <= set(urls)
    again = client.get("/sitemap.xml", headers={"If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304


def test_sitemap_becomes_an_index_of_parts_past_the_part_size(tmp_path):
    app = _make_app(tmp_path, SITEMAP_URLS_PER_FILE=4)
    client = app.test_client()
    whole = _make_app(tmp_path / "whole").test_client().get("/sitemap.xml")
    expected = [e.text for e in etree.fromstring(whole.data).iter(f"{NS}loc")]
    index = etree.fromstring(client.get("/sitemap.xml").data)
    assert index.tag == f"{NS}sitemapindex"
    parts = [e.text for e in index.iter(f"{NS}loc")]
    assert len(parts) == -(-len(expected) // 4)
    assert parts == [f"http://localhost/sitemap-{n}.xml" for n in range(1, len(parts) + 1)]
    seen = []
    for part in parts:
        root = etree.fromstring(client.get(part.removeprefix("http://localhost")).data)
        assert root.tag == f"{NS}urlset"
        found = [e.text for e in root.iter(f"{NS}loc")]
        assert 1 <= len(found) <= 4
        seen += found
    assert seen == expected
    assert client.get(f"/sitemap-{len(parts) + 1}.xml").status_code == 404
    assert client.get("/sitemap-0.xml").status_code == 404


def test_robots_txt_names_the_sitemap_and_keeps_crawlers_off_scans(client):
    body = client.get("/robots.txt").get_data(as_text=True)
    assert "Sitemap: http://localhost/sitemap.xml" in body.splitlines()
    assert "Disallow: /go/" in body.splitlines()
