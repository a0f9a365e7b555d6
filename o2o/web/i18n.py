"""Languages: every page in Simplified Chinese by default, in English on request.

One catalogue, extracted with ``pybabel extract -F babel.cfg`` from the templates, the Python
views and ``static/js/*.js``, translated in ``translations/zh_Hans`` and ``translations/en``.

- Which language: ``?lang=zh|en`` on any page (remembered in the ``lang`` cookie for a year),
  else that cookie, else the best of Chinese (any ``zh-*``) and English in ``Accept-Language``,
  else Chinese.
- Compiled ``.mo`` files are not kept in git: :func:`compile_catalogues` writes any missing or
  stale one when the app starts (``scripts/setup.sh`` compiles them too).
- The strings the page scripts show come from the same catalogue: :func:`js_messages` picks the
  messages whose locations are ``.js`` files and the page gets them as JSON (embedded in every
  page as ``<script type="application/json" id="o2o-i18n">``, and at ``/i18n/<lang>.json``).
- Store data (names, addresses, brands, retailers, cities) is shown as stored; only brand and
  category names have Chinese forms, from :mod:`o2o.seed.catalogue`.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from urllib.parse import quote, urlencode

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from flask import Flask, abort, g, has_request_context, jsonify, request
from flask_babel import Babel, format_decimal, format_number
from flask_babel import gettext as _

from ..seed.catalogue import BRANDS, CATEGORY_ZH, brand_zh, category_zh

ROOT = Path(__file__).resolve().parent.parent.parent
TRANSLATIONS = ROOT / "translations"

LANGS = {"zh": "zh_Hans", "en": "en"}      # ?lang= value -> the catalogue's (Babel) locale
HTML_LANG = {"zh": "zh-CN", "en": "en"}    # -> <html lang>
DEFAULT_LANG = "zh"
COOKIE = "lang"
COOKIE_MAX_AGE_S = 365 * 24 * 3600
TIMEZONE = "Asia/Shanghai"                 # Beijing time, for every date and time shown
BRAND_ZH = {b.name: b.name_zh for b in BRANDS if b.name_zh != b.name}


# ----------------------------------------------------------------------------- choosing
def lang_from_accept(accept, wildcard: str | None = DEFAULT_LANG) -> str | None:
    """The first of Chinese or English in an ``Accept-Language`` list (best quality first);
    ``*`` counts as ``wildcard`` (Chinese for the pages; the API's errors pass None).

    Werkzeug's ``best_match`` prefers an exact tag of lower quality (``en;q=0.5``) over a
    regional one of higher quality (``zh-TW``), so the primary subtags are compared here.
    """
    for value, quality in accept:
        if quality <= 0:
            continue
        primary = value.replace("_", "-").split("-", 1)[0].lower()
        if primary == "*":
            if wildcard is None:
                continue
            return wildcard
        if primary in LANGS:
            return primary
    return None


def choose_lang(query: str | None, cookie: str | None, accept) -> str:
    """``?lang=`` first, then the cookie, then ``Accept-Language``, then Chinese.

    >>> choose_lang("en", "zh", []), choose_lang(None, "en", [("zh-CN", 1)]), choose_lang("xx", None, [])
    ('en', 'en', 'zh')
    >>> choose_lang(None, None, [("en-GB", 1), ("zh", 0.5)]), choose_lang(None, None, [("fr", 1)])
    ('en', 'zh')
    """
    for value in (query, cookie):
        if value and value.lower() in LANGS:
            return value.lower()
    return lang_from_accept(accept) or DEFAULT_LANG


def current_lang() -> str:
    """This request's language, ``zh`` or ``en`` (``zh`` outside a request)."""
    if not has_request_context():
        return DEFAULT_LANG
    lang = g.get("o2o_lang")
    if lang is None:
        lang = g.o2o_lang = choose_lang(request.args.get("lang"), request.cookies.get(COOKIE),
                                        request.accept_languages)
    return lang


def select_locale() -> str:
    """Flask-Babel's locale selector."""
    return LANGS[current_lang()]


# ----------------------------------------------------------------------------- catalogues
_compile_lock = threading.Lock()


def compile_catalogues(directory: Path = TRANSLATIONS) -> list[Path]:
    """Compile every ``*/LC_MESSAGES/*.po`` whose ``.mo`` is missing or older; returns those written.

    Cheap when nothing changed (a few ``stat`` calls). Each file is written beside its target and
    renamed into place, so workers starting together never read half a file.
    """
    written = []
    with _compile_lock:
        for po_path in sorted(Path(directory).glob("*/LC_MESSAGES/*.po")):
            mo_path = po_path.with_suffix(".mo")
            if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
                continue
            with po_path.open("rb") as f:
                catalog = read_po(f, locale=po_path.parent.parent.name)
            fd, tmp = tempfile.mkstemp(dir=po_path.parent, prefix=".messages-", suffix=".mo")
            try:
                with os.fdopen(fd, "wb") as out:
                    write_mo(out, catalog)
                os.chmod(tmp, 0o644)  # mkstemp makes it private; the .mo is as public as the .po
                os.replace(tmp, mo_path)
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise
            written.append(mo_path)
    return written


_js_cache: dict = {}


def _js_msgids(template: Path) -> list[str | tuple[str, str]]:
    """The messages of the catalogue template used in ``.js`` files (a plural as a pair)."""
    with template.open("rb") as f:
        catalog = read_po(f)
    found = []
    for message in catalog:
        if message.id and any(path.endswith(".js") for path, _line in message.locations):
            found.append(tuple(message.id) if isinstance(message.id, (list, tuple)) else message.id)
    return found


def js_messages(lang: str, directory: Path = TRANSLATIONS) -> dict[str, str]:
    """``{msgid: translation}`` for every message the page scripts show, in ``lang``.

    Read from the compiled catalogue (and the template's locations), so there is no second copy
    of any string. A plural message gives both of its forms as keys: the singular's key holds the
    form for one, the plural's key the form for many (Chinese has one form for both).
    """
    template, mo = directory / "messages.pot", directory / LANGS[lang] / "LC_MESSAGES" / "messages.mo"
    stamp = tuple(p.stat().st_mtime if p.exists() else 0 for p in (template, mo))
    cached = _js_cache.get((lang, str(directory)))
    if cached and cached[0] == stamp:
        return cached[1]
    translations = Translations.load(str(directory), [LANGS[lang]])
    messages: dict[str, str] = {}
    for msgid in _js_msgids(template):
        if isinstance(msgid, tuple):
            singular, plural = msgid[0], msgid[1]
            messages[singular] = translations.ngettext(singular, plural, 1)
            messages[plural] = translations.ngettext(singular, plural, 2)
        else:
            messages[msgid] = translations.gettext(msgid)
    _js_cache[(lang, str(directory))] = (stamp, messages)
    return messages


def script_json(data) -> str:
    """JSON to put inside ``<script type="application/json">``: no "<" can close the tag, and
    every translation as ``\\uXXXX`` escapes, so the page's own text (what a search of the HTML
    or a browser's translator sees) is only what it shows."""
    return json.dumps(data, ensure_ascii=True, separators=(",", ":")).replace("<", "\\u003c")


# ----------------------------------------------------------------------------- labels and formats
def category_label(name: str | None) -> str:
    """A category as this page's language names it: Chinese where the catalogue has it."""
    if not name:
        return ""
    return category_zh(name) if current_lang() == "zh" else name


def brand_label(name: str | None) -> str:
    """A brand as shoppers know it in this page's language (``优衣库`` on a Chinese page);
    the stored name where the catalogue has no Chinese one, and always in English."""
    if not name:
        return ""
    return (brand_zh(name) or name) if current_lang() == "zh" else name


def is_translated_category(name: str | None) -> bool:
    """Whether a category has a label in both languages (else it is shown as stored, as data)."""
    return name in CATEGORY_ZH


def format_distance(metres) -> str:
    """``850 m`` or ``1.2 km``, numbers in the page's locale."""
    if metres is None:
        return ""
    if metres < 1000:
        return _("%(m)s m", m=format_number(round(metres)))
    km = metres / 1000
    return _("%(km)s km", km=format_decimal(km, format="#,##0.0" if km < 10 else "#,##0"))


def lang_url(lang: str) -> str:
    """This page again in ``lang``: the same path and query, with ``lang`` set.

    A page answering a form's POST names its GET address in ``g.lang_base``.
    """
    base = g.get("lang_base")
    args = []
    if base is None:
        base = quote(request.path, safe="/:@!$&'()*+,;=-._~")
        args = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"]
    args.append(("lang", lang))
    return f"{base}?{urlencode(args)}"


def client_config() -> dict:
    """The language part of a page's ``o2o-config`` JSON: the language, and the Chinese names of
    the categories and brands for the scripts to show (the values they send stay English)."""
    return {"lang": current_lang(), "categoryZh": dict(CATEGORY_ZH), "brandZh": dict(BRAND_ZH)}


# ----------------------------------------------------------------------------- the app
def init(app: Flask) -> None:
    """Flask-Babel with the locale selector, Beijing time, the Jinja helpers, the cookie, the
    scripts' messages; compiles stale catalogues first."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", LANGS[DEFAULT_LANG])
    app.config["BABEL_DEFAULT_TIMEZONE"] = TIMEZONE
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    try:
        compile_catalogues(TRANSLATIONS)
    except OSError as exc:  # a read-only install: use the .mo files as they are
        app.logger.warning("could not compile the translations in %s: %s", TRANSLATIONS, exc)
    Babel(app, locale_selector=select_locale)

    app.jinja_env.globals.update(
        current_lang=current_lang, html_lang=lambda: HTML_LANG[current_lang()], lang_url=lang_url,
        category_label=category_label, brand_label=brand_label,
        is_translated_category=is_translated_category,
        js_messages_json=lambda: script_json(js_messages(current_lang())),
    )
    app.jinja_env.filters.update(category_label=category_label, brand_label=brand_label,
                                 distance=format_distance, num=format_number)

    @app.after_request
    def _remember_lang(response):
        asked = request.args.get("lang", "").lower()
        if asked in LANGS and response.mimetype == "text/html":
            response.set_cookie(COOKIE, asked, max_age=COOKIE_MAX_AGE_S, path="/", samesite="Lax",
                                secure=request.is_secure, httponly=True)
        if response.mimetype == "text/html":
            response.vary.update(("Accept-Language", "Cookie"))
        return response

    @app.get("/i18n/<lang>.json")
    def i18n_messages(lang: str):
        """The messages the page scripts show, in ``zh`` or ``en`` (``zh-CN``, ``zh_Hans``, ``en-US``
        … too): ``{msgid: translation}``."""
        lang = lang.lower().replace("_", "-").split("-", 1)[0]
        if lang not in LANGS:
            abort(404)
        response = jsonify(js_messages(lang))
        response.cache_control.public = True
        response.cache_control.max_age = 300
        return response
