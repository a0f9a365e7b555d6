"""Every page speaks Simplified Chinese by default and English on request, label by label.

The pages are walked in both languages, chosen each of the three ways (``?lang=``, the remembered
cookie, ``Accept-Language``). Store data (names, addresses, brands, retailers, cities) is shown
as stored and marked ``translate="no"``; everything else on a Chinese page must be Chinese (apart
from a few terms that stay as they are: o2o, QR, km, CSV, …), and nothing on an English page may
be Chinese. The scripts' messages come from the same catalogue and are checked the same way.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from babel.messages.pofile import read_po

from o2o.storage import open_repository
from o2o.web import i18n

from ..conftest import fill
from .test_retailer_page import csrf_of

ROOT = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")
# Latin words a Chinese page may keep: names of things that are not translated.
ALLOWED = {"o2o", "qr", "km", "m", "csv", "geojson", "api", "h3", "pdf", "a4", "a5", "amap", "png", "svg",
           "id", "openstreetmap", "leaflet", "qq"}  # (QQ: the messaging app is called so in Chinese too)
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
        "track", "wbr"}
LABEL_ATTRIBUTES = ("placeholder", "title", "aria-label", "alt")


class _VisibleText(HTMLParser):
    """The text and label attributes of a page a reader sees, without <script>/<style> and
    without any subtree marked translate="no" (store data)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []   # (tag, skipped)
        self.texts: list[str] = []
        self.attributes: list[tuple[str, str, str]] = []   # (tag, attribute, value)
        self.html_lang = None
        self.links: list[tuple[dict, str]] = []
        self._link = None

    def _skipping(self) -> bool:
        return bool(self.stack) and self.stack[-1][1]

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.html_lang = attrs.get("lang")
        skipped = self._skipping() or tag in ("script", "style") or attrs.get("translate") == "no"
        if not skipped:
            for name in LABEL_ATTRIBUTES:
                if attrs.get(name):
                    self.attributes.append((tag, name, attrs[name]))
            if tag == "input" and attrs.get("type") in ("button", "submit", "reset") and attrs.get("value"):
                self.attributes.append((tag, "value", attrs["value"]))
        if tag == "a":
            self._link = (attrs, [])
        if tag not in VOID:
            self.stack.append((tag, skipped))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if tag == "a" and self._link is not None:
            self.links.append((self._link[0], "".join(self._link[1]).strip()))
            self._link = None
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        if self._link is not None:
            self._link[1].append(data)
        if not self._skipping() and data.strip():
            self.texts.append(data.strip())


def visible(html: str) -> _VisibleText:
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    return parser


def foreign_words(text: str, lang: str) -> list[str]:
    """What in ``text`` is in the other language: Chinese characters on an English page, Latin
    words (other than the allowed terms) on a Chinese one."""
    if lang == "en":
        return CJK.findall(text)
    return [w for w in WORD.findall(text) if w.lower() not in ALLOWED]


def assert_one_language(html: str, lang: str, where: str) -> _VisibleText:
    doc = visible(html)
    assert doc.html_lang == ("zh-CN" if lang == "zh" else "en"), f"{where}: <html lang={doc.html_lang}>"
    problems = [(text, foreign_words(text, lang)) for text in doc.texts]
    problems += [(f"<{tag} {name}={value!r}>", foreign_words(value, lang)) for tag, name, value in doc.attributes]
    problems = [(text, words) for text, words in problems if words]
    assert not problems, f"{where} ({lang}): labels left in the other language: {problems[:8]}"
    return doc


# ----------------------------------------------------------------------------------- fixtures
SUPERMARKET = {"name": "永辉超市(人民广场店)", "brand": "Yonghui", "category": "Supermarket",
               "lon": 121.4750, "lat": 31.2310}


@pytest.fixture
def festival(db_url):
    """The hand-made stores of tests/conftest.py, a supermarket, a retailer and an analyst."""
    from o2o.services import accounts
    from o2o.web import create_app

    repo = open_repository(db_url)
    repo.migrate()
    ids = fill(repo)
    repo.insert_stores([{**SUPERMARKET, "retailer_id": ids["Uniqlo"], "external_id": "YH-1",
                         "address": "南京西路1号", "province": "上海市", "city": "上海市", "district": "黄浦区",
                         "hours": "08:00-22:00", "phone": "021-60000099", "online_url": "https://uniqlo.tmall.com/",
                         "status": "open"}])
    _, retailer_key = accounts.create_retailer(repo, "Test Co", ["test.tmall.com"])
    _, analyst_key = accounts.create_analyst(repo, "Ana")
    repo.close()
    app = create_app({"DATABASE_URL": db_url, "SEED_STORES": 0, "SECRET_KEY": "test", "TESTING": True,
                      "TILES": "none"})
    return {"app": app, "retailer": retailer_key, "analyst": analyst_key}


class Visitor:
    """A browser that asks for one language one way: ``query`` (?lang= on the first page, then
    the cookie it leaves), ``cookie`` (a lang cookie from before) or ``accept`` (Accept-Language)."""

    def __init__(self, app, lang: str, how: str):
        self.client, self.lang, self.how = app.test_client(), lang, how
        self.headers = {"Accept-Language": "zh-CN,zh;q=0.9" if lang == "en" else "en-US,en;q=0.9"}
        if how == "accept":
            self.headers = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5" if lang == "zh" else "en-GB,en;q=0.9,zh;q=0.3"}
        elif how == "cookie":
            self.client.set_cookie("lang", lang)

    def url(self, path: str) -> str:
        if self.how != "query":
            return path
        return path + ("&" if "?" in path else "?") + f"lang={self.lang}"

    def get(self, path: str):
        return self.client.get(self.url(path), headers=self.headers)

    def post(self, path: str, data: dict):
        return self.client.post(path, data=data, headers=self.headers)  # a form's action: no ?lang

    def sign_in(self, page: str, key: str):
        token = csrf_of(self.get(page).get_data(as_text=True))
        return self.post(f"{page}/sign-in", {"key": key, "csrf_token": token})


def walk(festival, lang: str, how: str) -> dict[str, str]:
    """Every page, as this visitor sees it: {name: html}."""
    app = festival["app"]
    shopper, retailer, analyst = (Visitor(app, lang, how) for _ in range(3))
    pages = {}
    for name, path in [("home", "/"), ("home filtered", "/?category=Supermarket&brand=Uniqlo"),
                       ("store", "/stores/1"), ("closed store", "/stores/8"), ("store with markup", "/stores/9"),
                       ("brand", "/brands/uniqlo?lat=31.2304&lon=121.4737"), ("brand from its city", "/brands/gap"),
                       ("my", "/my"), ("retailer signed out", "/retailer"), ("analytics signed out", "/analytics"),
                       ("missing store", "/stores/424242"), ("missing brand", "/brands/no-such-brand"),
                       ("missing page", "/no/such/page"), ("closed store poster", "/stores/8/poster.pdf")]:
        r = shopper.get(path)
        assert r.mimetype == "text/html", (name, r.status_code)
        pages[name] = r.get_data(as_text=True)
    wrong = retailer.sign_in("/retailer", "o2o_r_1_" + "z" * 43)
    assert wrong.status_code == 401
    pages["retailer wrong key"] = wrong.get_data(as_text=True)
    expired = retailer.post("/retailer/sign-in", {"key": festival["retailer"], "csrf_token": "stale"})
    assert expired.status_code == 400
    pages["retailer form expired"] = expired.get_data(as_text=True)
    assert retailer.sign_in("/retailer", festival["retailer"]).status_code == 303
    pages["retailer signed in"] = retailer.get("/retailer").get_data(as_text=True)
    assert 'id="store-form"' in pages["retailer signed in"]
    wrong = analyst.sign_in("/analytics", festival["retailer"])
    assert wrong.status_code == 401
    pages["analytics wrong key"] = wrong.get_data(as_text=True)
    assert analyst.sign_in("/analytics", festival["analyst"]).status_code == 303
    pages["analytics signed in"] = analyst.get("/analytics").get_data(as_text=True)
    assert 'id="time-controls"' in pages["analytics signed in"]
    bad_sign_out = analyst.post("/analytics/sign-out", {"csrf_token": "stale"})
    assert bad_sign_out.status_code == 400
    pages["sign-out expired"] = bad_sign_out.get_data(as_text=True)
    return pages


# ----------------------------------------------------------------------------------- every page
@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("how", ["query", "cookie", "accept"])
def test_every_page_speaks_one_language(festival, lang, how):
    pages = walk(festival, lang, how)
    assert len(pages) == 20
    for name, html in pages.items():
        assert_one_language(html, lang, name)


def test_chinese_is_the_default_and_english_is_on_request(festival):
    client = festival["app"].test_client()
    assert visible(client.get("/").get_data(as_text=True)).html_lang == "zh-CN"        # no preference
    fr = client.get("/", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert visible(fr.get_data(as_text=True)).html_lang == "zh-CN"                       # neither: Chinese
    en = client.get("/", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert visible(en.get_data(as_text=True)).html_lang == "en"
    html = en.get_data(as_text=True)
    assert "Find stores" in html and "Nearest stores" in html and "找门店" not in html
    zh = client.get("/", headers={"Accept-Language": "zh-TW,zh;q=0.9"}).get_data(as_text=True)
    assert "找门店" in zh and "附近门店" in zh and "Find stores" not in zh


@pytest.mark.parametrize("header, lang", [
    ("zh-CN", "zh"), ("zh-Hant-HK, en;q=0.8", "zh"), ("en-GB, zh;q=0.8", "en"),
    ("de-DE, en;q=0.7, zh;q=0.6", "en"), ("de-DE, zh-SG;q=0.7, en;q=0.6", "zh"),
    ("en;q=0.5, zh-TW", "zh"), ("ja, *;q=0.1", "zh"), ("en;q=0, fr", "zh"), ("", "zh"),
])
def test_accept_language_picks_the_better_of_chinese_and_english(festival, header, lang):
    html = festival["app"].test_client().get("/my", headers={"Accept-Language": header}).get_data(as_text=True)
    assert visible(html).html_lang == ("zh-CN" if lang == "zh" else "en")


def test_lang_in_the_query_overrides_and_is_remembered_in_a_cookie(festival):
    client = festival["app"].test_client()
    r = client.get("/stores/1?lang=en", headers={"Accept-Language": "zh-CN"})
    assert visible(r.get_data(as_text=True)).html_lang == "en"
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("lang=en;") and "Path=/" in cookie and "SameSite=Lax" in cookie
    assert "Max-Age=31536000" in cookie
    # The cookie is remembered on every page, over the browser's Accept-Language.
    for path in ("/", "/my", "/retailer", "/brands/uniqlo", "/no/such/page"):
        html = client.get(path, headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
        assert visible(html).html_lang == "en", path
    # ?lang= overrides the cookie, and becomes the new one.
    assert visible(client.get("/my?lang=zh").get_data(as_text=True)).html_lang == "zh-CN"
    assert client.get_cookie("lang").value == "zh"
    assert visible(client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)).html_lang == "zh-CN"
    # A value that is not a language changes nothing.
    r = client.get("/my?lang=fr")
    assert "Set-Cookie" not in r.headers and visible(r.get_data(as_text=True)).html_lang == "zh-CN"


def test_pages_say_they_vary_by_language(festival):
    r = festival["app"].test_client().get("/")
    assert {"Accept-Language", "Cookie"} <= set(r.vary)


def test_the_header_switches_to_the_same_page_in_the_other_language(festival):
    client = festival["app"].test_client()
    for lang, other, label in (("zh", "en", "English"), ("en", "zh", "中文")):
        for path in ("/?category=Apparel&brand=Uniqlo&brand=GAP&z=12", "/stores/1", "/my", "/retailer",
                     "/analytics", "/no/such/page"):
            doc = visible(client.get(path + ("&" if "?" in path else "?") + f"lang={lang}").get_data(as_text=True))
            switches = [(attrs, text) for attrs, text in doc.links if "lang-switch" in (attrs.get("class") or "")]
            assert len(switches) == 1, (path, lang)
            attrs, text = switches[0]
            assert text == label
            url = urlsplit(attrs["href"])
            assert url.path == urlsplit(path).path
            query = parse_qs(url.query)
            assert query.pop("lang") == [other]
            assert query == parse_qs(urlsplit(path).query), (path, query)


def test_a_failed_sign_in_switches_language_to_the_sign_in_page(festival):
    client = festival["app"].test_client()
    token = csrf_of(client.get("/retailer").get_data(as_text=True))
    r = client.post("/retailer/sign-in", data={"key": "nope", "csrf_token": token})
    doc = visible(r.get_data(as_text=True))
    href = [a["href"] for a, _ in doc.links if "lang-switch" in (a.get("class") or "")][0]
    assert href == "/retailer?lang=en"  # the form's page, not its POST address
    assert "该密钥不是有效的商家密钥" in r.get_data(as_text=True)


# ----------------------------------------------------------------------------------- names
def _options(html: str, select_id: str) -> list[tuple[str, str]]:
    block = re.search(rf'<select[^>]*id="{select_id}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return [(value, text.strip()) for value, text in re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', block)]


def test_category_names_are_chinese_on_chinese_pages_and_values_stay_english(festival):
    client = festival["app"].test_client()
    zh = dict(_options(client.get("/?lang=zh").get_data(as_text=True), "category"))
    assert zh["Supermarket"] == "超市" and zh["Apparel"] == "服装" and zh["Home Appliances"] == "家电"
    en = dict(_options(client.get("/?lang=en").get_data(as_text=True), "category"))
    assert en["Supermarket"] == "Supermarket" and en["Apparel"] == "Apparel"
    # The API still filters by the English name.
    r = client.get("/api/v1/stores/nearby?lat=31.2304&lon=121.4737&category=Supermarket&k=10")
    features = r.get_json()["features"]
    assert [f["properties"]["name"] for f in features] == [SUPERMARKET["name"]]
    assert features[0]["properties"]["category"] == "Supermarket"
    # The retailer's form and the analysts' filter show labels and send English values too.
    retailer = Visitor(festival["app"], "zh", "query")
    retailer.sign_in("/retailer", festival["retailer"])
    form = dict(_options(retailer.get("/retailer").get_data(as_text=True), "f-category"))
    assert form["Supermarket"] == "超市" and form["Footwear"] == "鞋靴"
    analyst = Visitor(festival["app"], "zh", "query")
    analyst.sign_in("/analytics", festival["analyst"])
    assert dict(_options(analyst.get("/analytics").get_data(as_text=True), "f-category"))["Supermarket"] == "超市"


def test_a_category_without_a_chinese_name_is_shown_as_stored_and_marked_as_data(db_url):
    from o2o.web import create_app

    repo = open_repository(db_url)
    repo.migrate()
    rid = repo.create_retailer("Tea Co", ["tea.tmall.com"])
    repo.insert_stores([{"retailer_id": rid, "external_id": "T1", "name": "一点点(南京路店)", "brand": "CoCo",
                         "category": "Bubble tea", "lon": 121.47, "lat": 31.23, "address": "南京路1号",
                         "province": "上海市", "city": "上海市", "district": "黄浦区", "hours": "10:00-22:00",
                         "phone": None, "online_url": "https://tea.tmall.com/", "status": "open"}])
    repo.close()
    client = create_app({"DATABASE_URL": db_url, "SEED_STORES": 0, "SECRET_KEY": "t", "TILES": "none"}).test_client()
    html = client.get("/?lang=zh").get_data(as_text=True)
    assert '<option value="Bubble tea" translate="no">Bubble tea</option>' in html
    assert_one_language(html, "zh", "home")
    assert_one_language(client.get("/stores/1?lang=zh").get_data(as_text=True), "zh", "store")


def test_brand_names_are_chinese_where_the_catalogue_knows_them(festival):
    client = festival["app"].test_client()
    html = client.get("/brands/uniqlo?lang=zh").get_data(as_text=True)
    assert re.search(r'<h1><span translate="no">优衣库</span>', html)
    store = client.get("/stores/1?lang=zh").get_data(as_text=True)
    assert '<a href="/brands/uniqlo" translate="no">优衣库</a>' in store
    assert '<a href="/brands/uniqlo" translate="no">Uniqlo</a>' in client.get("/stores/1?lang=en").get_data(as_text=True)
    # GAP has no other name: shown as stored.
    assert '<a href="/brands/gap" translate="no">GAP</a>' in client.get("/stores/3?lang=zh").get_data(as_text=True)
    # The page scripts get the Chinese names to show, and keep sending the English ones.
    config = json.loads(re.search(r'id="o2o-config">(.*?)</script>', client.get("/my?lang=zh").get_data(as_text=True)).group(1))
    assert config["lang"] == "zh" and config["brandZh"]["Uniqlo"] == "优衣库" and "Uniqlo" in config["brands"]
    assert config["categoryZh"]["Supermarket"] == "超市"
    # The search box suggests brands (static/js/suggest.js) labelled in Chinese, by their values.
    items = client.get("/api/v1/suggest?q=uniq").get_json()["suggestions"]
    assert {"type": "brand", "text": "优衣库", "value": "Uniqlo"}.items() <= items[0].items()


def test_store_data_is_shown_as_stored_in_both_languages(festival):
    client = festival["app"].test_client()
    for lang in ("zh", "en"):
        html = client.get(f"/stores/1?lang={lang}").get_data(as_text=True)
        assert '<h1 translate="no">优衣库(来福士店)</h1>' in html
        assert '<dd translate="no">测试路1号 &lt;b&gt;bold&lt;/b&gt;</dd>' in html
        assert '<dd translate="no">Fast Retailing</dd>' in html


def test_numbers_and_times_follow_the_page_language(festival):
    from flask_babel import format_datetime, get_timezone

    app = festival["app"]
    with app.test_request_context("/?lang=zh"):
        assert i18n.format_distance(850.4) == "850 m" and i18n.format_distance(12345) == "12 km"
        assert i18n.format_distance(1234) == "1.2 km"
        assert str(get_timezone()) == "Asia/Shanghai"
        from datetime import datetime, timezone

        noon_utc = datetime(2026, 11, 11, 4, 0, tzinfo=timezone.utc)
        assert "12:00" in format_datetime(noon_utc, "short") and "2026" in format_datetime(noon_utc, "medium")
        assert "11月" in format_datetime(noon_utc, "long")
        zh_when = app.jinja_env.filters["beijing"]("2026-11-11T04:00:00Z")
    with app.test_request_context("/?lang=en"):
        assert "Nov" in format_datetime(noon_utc, "medium") and "12:00" in format_datetime(noon_utc, "medium")
        assert app.jinja_env.filters["num"](1234567) == "1,234,567"
        en_when = app.jinja_env.filters["beijing"]("2026-11-11T04:00:00Z")
    assert "12:00" in zh_when and "12:00" in en_when and zh_when != en_when


# ----------------------------------------------------------------------------------- the scripts' messages
def _js_msgids() -> set[str]:
    """Every message the page scripts mark: _("…") (gettext in common.js) and both forms of
    ngettext("…", "…", n)."""
    found = set()
    string = r'"((?:[^"\\]|\\.)*)"'
    call = re.compile(rf"(?<![\w.$])(?:_|gettext|ngettext)\(\s*{string}(?:\s*,\s*{string})?")
    for path in sorted((ROOT / "static" / "js").glob("*.js")):
        text = re.sub(r"/\*.*?\*/", "", path.read_text(), flags=re.S)
        text = re.sub(r"(?m)^\s*//.*$|(?<=[;{}),])\s*//[^\n]*", "", text)
        for m in call.finditer(text):
            found.update(json.loads(f'"{g}"') for g in m.groups() if g is not None)
    return found


def test_every_script_message_has_a_chinese_translation_in_the_served_data(festival):
    msgids = _js_msgids()
    assert len(msgids) > 80 and "Nearest to you" in msgids and "Open now" in msgids and "%(km)s km" in msgids
    client = festival["app"].test_client()
    zh = client.get("/i18n/zh.json").get_json()
    same_in_chinese = {"%(m)s m", "%(km)s km"}  # units read the same in Chinese apps
    for msgid in msgids:
        assert zh.get(msgid), f"no Chinese for {msgid!r}"
        assert CJK.search(zh[msgid]) or msgid in same_in_chinese, f"{msgid!r} -> {zh[msgid]!r}"
        assert not foreign_words(re.sub(r"%\(\w+\)s", "", zh[msgid]), "zh"), (msgid, zh[msgid])
    assert zh["Nearest to you"] == "离你最近"


def test_english_script_messages_have_no_chinese(festival):
    client = festival["app"].test_client()
    en = client.get("/i18n/en.json").get_json()
    assert set(en) >= _js_msgids()
    assert not [(k, v) for k, v in en.items() if CJK.search(v) or not v]
    assert client.get("/i18n/fr.json").status_code == 404
    assert client.get("/i18n/zh-CN.json").get_json() == client.get("/i18n/zh.json").get_json()
    assert client.get("/i18n/en-US.json").get_json() == en


def test_every_page_embeds_the_script_messages_of_its_language(festival):
    client = festival["app"].test_client()
    for lang in ("zh", "en"):
        served = client.get(f"/i18n/{lang}.json").get_json()
        for path in ("/", "/my", "/retailer", "/brands/uniqlo", "/stores/1", "/no/such/page"):
            html = client.get(f"{path}?lang={lang}").get_data(as_text=True)
            block = re.search(r'<script type="application/json" id="o2o-i18n">(.*?)</script>', html, re.S).group(1)
            assert "<" not in block and not CJK.search(block)  # escaped: the page's text is what it shows
            assert json.loads(block) == served, path


# ----------------------------------------------------------------------------------- the catalogues
def _catalogue(locale: str):
    with (ROOT / "translations" / locale / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=locale)


@pytest.mark.parametrize("locale", ["zh_Hans", "en"])
def test_every_message_is_translated_with_the_same_placeholders(locale):
    with (ROOT / "translations" / "messages.pot").open("rb") as f:
        template = {m.id if isinstance(m.id, str) else tuple(m.id) for m in read_po(f) if m.id}
    catalogue = _catalogue(locale)
    ids = set()
    for m in catalogue:
        if not m.id:
            continue
        ids.add(m.id if isinstance(m.id, str) else tuple(m.id))
        strings = [m.string] if isinstance(m.string, str) else list(m.string)
        assert all(strings) and not m.fuzzy, f"{locale}: untranslated {m.id!r}"
        wanted = set(re.findall(r"%\((\w+)\)s", m.id if isinstance(m.id, str) else m.id[1]))
        for s in strings:
            assert set(re.findall(r"%\((\w+)\)s", s)) == wanted, (locale, m.id, s)
        if locale == "zh_Hans":
            assert all(CJK.search(s) for s in strings) or m.id in ("%(m)s m", "%(km)s km"), m.id
    assert ids == template, f"{locale}: out of step with messages.pot: {ids ^ template}"


def test_the_template_has_every_message_of_the_code():
    """Someone who adds a message also re-extracts (scripts/i18n.sh)."""
    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg

    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(str(ROOT), method_map, options_map,
                                                                       keywords=DEFAULT_KEYWORDS):
        found.add(message if isinstance(message, str) else tuple(message))
    with (ROOT / "translations" / "messages.pot").open("rb") as f:
        template = {m.id if isinstance(m.id, str) else tuple(m.id) for m in read_po(f) if m.id}
    assert found - template == set(), "run scripts/i18n.sh and translate the new messages"


def test_missing_or_stale_compiled_catalogues_are_compiled(tmp_path):
    copy = tmp_path / "translations"
    shutil.copytree(ROOT / "translations", copy, ignore=shutil.ignore_patterns("*.mo"))
    written = i18n.compile_catalogues(copy)
    assert sorted(p.relative_to(copy).as_posix() for p in written) == [
        "en/LC_MESSAGES/messages.mo", "zh_Hans/LC_MESSAGES/messages.mo"]
    assert i18n.compile_catalogues(copy) == []  # up to date: nothing to do
    po = copy / "zh_Hans" / "LC_MESSAGES" / "messages.po"
    po.write_text(po.read_text().replace('msgstr "离你最近"', 'msgstr "离您最近"'))
    later = time.time() + 5
    os.utime(po, (later, later))
    assert [p.name for p in i18n.compile_catalogues(copy)] == ["messages.mo"]
    assert i18n.js_messages("zh", copy)["Nearest to you"] == "离您最近"
