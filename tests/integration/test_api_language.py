"""The API's error messages and import reports are English unless the client asks for Chinese.

English for curl, scripts and test clients (no ``Accept-Language``); Chinese for ``?lang=zh`` or an
``Accept-Language`` whose best of Chinese and English is Chinese (the retailer console's fetch()).
Only the messages change: ``code``, ``field`` and everything else stay as they are.
"""

from __future__ import annotations

import inspect
import re

import pytest
from flask.testing import FlaskClient

from o2o.web import api_messages
from o2o.web.api_messages import TEMPLATES, translate

from ..conftest import bearer
from . import test_bad_input, test_import, test_retailer_api
from .test_import import upload

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}
STORE = {"external_id": "L-1", "name": "语言门店", "brand": "LangBrand", "category": "Apparel",
         "lat": 31.2400, "lon": 121.4800}


def _error(r, status=400) -> dict:
    assert r.status_code == status, r.get_data(as_text=True)[:300]
    return r.get_json()["error"]


def _without_messages(error: dict) -> dict:
    out = {k: v for k, v in error.items() if k not in ("message", "errors")}
    out["errors"] = [{k: v for k, v in e.items() if k != "message"} for e in error.get("errors", [])]
    return out


# ----------------------------------------------------------------------------------- choosing
def test_english_without_accept_language_as_before(client):
    err = _error(client.get("/api/v1/stores/nearby", query_string={"lat": "95", "lon": "121"}))
    assert err == {"code": "invalid_parameter", "message": "lat must be between -90 and 90", "field": "lat"}


@pytest.mark.parametrize("how", ["header", "query"])
def test_chinese_when_asked_for_with_the_same_code_and_field(client, how):
    params = {"lat": "95", "lon": "121"}
    english = _error(client.get("/api/v1/stores/nearby", query_string=params))
    if how == "header":
        r = client.get("/api/v1/stores/nearby", query_string=params, headers=ZH)
    else:
        r = client.get("/api/v1/stores/nearby", query_string=params | {"lang": "zh"})
    chinese = _error(r)
    assert chinese["message"] == "lat 必须在 -90 到 90 之间"
    assert _without_messages(chinese) == _without_messages(english)
    assert "Accept-Language" in r.headers.get("Vary", "")


@pytest.mark.parametrize("header, chinese", [
    ("zh-CN", True), ("zh-TW", True), ("zh", True), ("zh_Hans", True), ("en-US,zh;q=0.5", False),
    ("zh;q=0.9,en;q=0.8", True), ("en", False), ("fr", False), ("*", False), ("fr, *;q=0.5", False),
    ("", False), ("de, zh;q=0.3", True),
])
def test_accept_language_best_of_chinese_and_english_without_a_chinese_default(client, header, chinese):
    r = client.get("/api/v1/stores/nearby?lat=95&lon=121", headers={"Accept-Language": header})
    assert bool(CJK.search(_error(r)["message"])) is chinese


def test_the_query_wins_over_the_header_and_the_pages_cookie_does_not_count(client):
    url = "/api/v1/stores/nearby?lat=95&lon=121"
    assert not CJK.search(_error(client.get(url + "&lang=en", headers=ZH))["message"])
    client.set_cookie("lang", "zh")  # a Chinese page was seen: a script's requests stay English
    assert _error(client.get(url))["message"] == "lat must be between -90 and 90"


# ----------------------------------------------------------------------------------- the retailer's writes
def test_form_errors_in_chinese_all_of_them(client, keys):
    body = {"name": "只有名字", "online_url": "https://evil.example.com/"}
    english = _error(client.post("/api/v1/stores", json=body, headers=bearer(keys["retailer"])))
    chinese = _error(client.post("/api/v1/stores", json=body, headers=bearer(keys["retailer"]) | ZH))
    assert _without_messages(chinese) == _without_messages(english)
    assert len(chinese["errors"]) >= 3
    for e in [chinese] + chinese["errors"]:
        assert CJK.search(e["message"]), e
    assert "online_url 必须指向该零售商的域名之一（shop.test.com, test.tmall.com）" in [e["message"] for e in chinese["errors"]]


def test_outside_mainland_and_duplicates_in_chinese(client, keys):
    h = bearer(keys["retailer"]) | ZH
    err = _error(client.post("/api/v1/stores", json=STORE | {"lon": 114.1694, "lat": 22.3193}, headers=h), 422)
    assert err["code"] == "outside_mainland" and err["field"] == "lat" and "不在中国大陆" in err["message"]
    assert "Hong Kong" in err["message"]  # the place as the English message named it
    assert client.post("/api/v1/stores", json=STORE, headers=h).status_code == 201
    err = _error(client.post("/api/v1/stores", json=STORE | {"external_id": "L-2"}, headers=h), 409)
    assert err["code"] == "duplicate_store" and "重复" in err["message"] and "allow_duplicate=true" in err["message"]


def test_import_report_rows_in_chinese(client, keys):
    english = upload(client, keys["retailer"], "bad_rows.csv").get_json()
    r = client.post("/api/v1/stores/import", data=(test_import.DATA / "bad_rows.csv").read_bytes(),
                    headers=bearer(keys["retailer"]) | ZH, content_type="text/csv")
    chinese = r.get_json()
    assert r.status_code == 200 and "Accept-Language" in r.headers.get("Vary", "")
    assert len(chinese["rejected"]) == len(english["rejected"]) == 14
    for zh_row, en_row in zip(chinese["rejected"], english["rejected"]):
        assert {k: v for k, v in zh_row.items() if k != "errors"} == {k: v for k, v in en_row.items() if k != "errors"}
        assert len(zh_row["errors"]) == len(en_row["errors"])
        for message in zh_row["errors"]:
            assert CJK.search(message), (zh_row, message)
    reasons = {x["row"]: " ".join(x["errors"]) for x in chinese["rejected"]}
    assert "lat 必须在 -90 到 90 之间" in reasons[4]
    assert "external_id 'OK1' 重复出现" in reasons[12]
    assert CJK.search(chinese["message"])
    # English the second time as the first: the report of an English client is as it was.
    assert {x["row"]: x["errors"] for x in english["rejected"]}[4] == ["lat must be between -90 and 90"]


def test_atomic_import_report_and_unreadable_files_in_chinese(client, keys):
    h = bearer(keys["retailer"]) | ZH
    r = client.post("/api/v1/stores/import?atomic=true", data=(test_import.DATA / "bad_rows.csv").read_bytes(),
                    headers=h, content_type="text/csv")
    assert r.status_code == 422 and r.get_json()["message"].startswith("未保存任何内容")
    err = _error(client.post("/api/v1/stores/import", data=b"", headers=h, content_type="text/csv"))
    assert err == {"code": "invalid_file", "message": "文件是空的", "field": "file"}
    err = _error(client.post("/api/v1/stores/import", data=b"name,brand\nx,y\n", headers=h,
                             content_type="text/csv"))
    assert err["message"].startswith("表头中没有 lat 和 lon 列")


# ----------------------------------------------------------------------------------- the templates
def test_every_template_has_a_chinese_translation_with_the_same_placeholders():
    zh = api_messages._translations("zh")
    en = api_messages._translations("en")
    assert len(set(TEMPLATES)) == len(TEMPLATES)
    for template in TEMPLATES:
        translated = zh.gettext(template)
        assert translated != template and CJK.search(translated), template
        names = sorted(re.findall(r"%\((\w+)\)s", template))
        assert sorted(re.findall(r"%\((\w+)\)s", translated)) == names, (template, translated)
        assert en.gettext(template) == template


def test_translation_by_template_part_by_part_and_unknown_messages_stay():
    assert translate("name is required; lon is required", "zh") == "name 为必填项；lon 为必填项"
    assert translate("lon is required when moving a store (send lat and lon)", "zh").startswith("移动门店时 lon")
    assert translate("k must be a whole number", "zh") == "k 必须是整数"
    assert translate("something new", "zh") == "something new"
    assert translate("lat must be between -90 and 90", "en") == "lat must be between -90 and 90"


# ----------------------------------------------------------------------------------- coverage
class _RecordingClient(FlaskClient):
    """A test client asking for Chinese that keeps every human-readable message the API answers."""

    messages: list

    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        if response.is_json:
            body = response.get_json(silent=True)
            if isinstance(body, dict) and isinstance(body.get("error"), dict):
                err = body["error"]
                self.messages.append(err.get("message"))
                self.messages.extend(e.get("message") for e in err.get("errors") or ())
            elif isinstance(body, dict) and "rejected" in body:
                self.messages.append(body.get("message"))
                for row in body["rejected"]:
                    self.messages.extend(row["errors"])
        return response


def _cases(fn):
    combos = [{}]
    for mark in reversed(getattr(fn, "pytestmark", [])):
        if mark.name != "parametrize":
            continue
        names, values = mark.args[0], mark.args[1]
        names = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
        expanded = []
        for combo in combos:
            for value in values:
                value = getattr(value, "values", value)  # pytest.param(...)
                expanded.append(combo | dict(zip(names, value if len(names) > 1 else (value,))))
        combos = expanded
    return combos


def test_every_message_the_bad_input_tests_produce_is_chinese(app, keys):
    """The bad inputs of test_bad_input, test_retailer_api and test_import, sent asking for
    Chinese: every message that comes back has Chinese in it (their English assertions fail,
    which is expected here; only the messages are looked at)."""
    app.test_client_class = _RecordingClient
    client = app.test_client()
    client.messages = []
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    fixtures = {"client": client, "keys": keys, "app": app}
    ran = 0
    for module in (test_bad_input, test_retailer_api, test_import):
        for name, fn in vars(module).items():
            if not name.startswith("test_") or not inspect.isfunction(fn):
                continue
            for case in _cases(fn):
                needed = set(inspect.signature(fn).parameters) - set(case)
                if not needed <= set(fixtures):
                    break
                try:
                    fn(**case, **{k: fixtures[k] for k in needed})
                except (Exception, pytest.skip.Exception, pytest.fail.Exception):
                    pass
                ran += 1
    messages = {m for m in client.messages if m}
    assert ran > 100 and len(messages) > 40, (ran, len(messages))
    english = sorted(m for m in messages if not CJK.search(m))
    assert english == [], f"messages without a template in o2o/web/api_messages.py: {english}"
