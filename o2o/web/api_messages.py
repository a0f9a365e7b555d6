"""The API's error messages in Chinese for a client that asks for Chinese; English for everyone else.

The API explains in English (its messages are for programs and their logs, and the contract's
examples are English). A client that asks for Chinese, with ``Accept-Language`` (best of ``zh``
and ``en``, as the pages choose, but with no cookie and no Chinese default) or with ``?lang=zh``,
gets the human-readable ``message`` strings in Chinese: ``error.message``, ``error.errors[].message``,
an import report's ``message`` and its ``rejected[].errors[]``. ``code`` and ``field`` never change.
The retailer console's ``fetch()`` says which language its page is in, so it shows Chinese reasons.

The translation happens here, at the boundary, from the one catalogue: :data:`TEMPLATES` lists
every shape of message the validation, parameter, import, hours, coordinate-system, registry,
authentication and limit code writes, as a template with Python named placeholders (extracted
by ``pybabel`` through ``N_``; translated in ``translations/*/LC_MESSAGES/messages.po``). An
English message is matched against each template (placeholders as non-greedy groups, anchored),
and the Chinese translation is filled with the captured values. A message joined from several
with ``"; "`` is translated part by part; a message (or part) no template matches stays English.

Someone who adds a message to that code adds its template here (tests/integration/
test_api_language.py runs the bad-input tests in Chinese and finds any that stays English).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from babel.support import NullTranslations, Translations
from flask import has_request_context, request

from .i18n import LANGS, TRANSLATIONS, lang_from_accept


def N_(message: str) -> str:
    """Marks a message for extraction (``pybabel`` knows ``N_``); translated later, here."""
    return message


# Every shape of message the API writes in English. A placeholder is text the message carries
# over as it is (a field name, a number, a value as sent); ``%(field)s`` is always a field name.
TEMPLATES = [
    # --- one field (o2o/services/validation.py, o2o/web/params.py)
    N_("%(field)s is required"),
    N_("%(field)s must be a number"),
    N_("%(field)s must be a whole number"),
    N_("%(field)s must be a finite number"),
    N_("%(field)s must be a number (decimal degrees, e.g. 31.2304)"),
    N_("%(field)s must be between %(lo)s and %(hi)s"),
    N_("%(field)s is too long (at most %(max)s characters)"),
    N_("%(field)s must not be empty"),
    N_("%(field)s must be text"),
    N_("%(field)s must be text, not a non-finite number"),
    N_("%(field)s must not contain control characters"),
    N_("%(field)s must be true or false"),
    N_("%(field)s is not a store field"),
    N_("%(field)s must be a telephone number (digits, spaces, + - ( ))"),
    N_("%(field)s must be open or closed"),
    N_("%(field)s must be given once"),
    N_("%(field)s is required with %(other)s"),
    N_("%(field)s is required when moving a store (send lat and lon)"),
    N_("lat/lon could not be converted"),
    N_("the body must be a JSON object of store fields"),
    # --- the online shop's address
    N_("online_url is not a valid URL"),
    N_("online_url must be an https:// URL"),
    N_("online_url must point to one of the retailer's domains (none registered)"),
    N_("online_url must point to one of the retailer's domains (%(domains)s)"),
    # --- opening hours (o2o/geo/hours.py), alone and after the field's name
    N_("opening hours are empty"),
    N_("%(field)s opening hours are empty"),
    N_("cannot read %(text)s: write ranges like 10:00-22:00"),
    N_("%(field)s cannot read %(text)s: write ranges like 10:00-22:00"),
    N_("%(text)s is not a valid time range"),
    N_("%(field)s %(text)s is not a valid time range"),
    N_("%(text)s opens and closes at the same time"),
    N_("%(field)s %(text)s opens and closes at the same time"),
    N_("no time range in %(text)s: write ranges like 10:00-22:00"),
    N_("%(field)s no time range in %(text)s: write ranges like 10:00-22:00"),
    N_("too many opening ranges (at most 6)"),
    N_("%(field)s too many opening ranges (at most 6)"),
    # --- festival hours, dated exceptions (o2o/geo/hours.py parse_special)
    N_("%(field)s cannot read %(text)s: write a date and hours, like 2026-11-10 10:00-02:00 or 2026-11-12 closed"),
    N_("%(field)s %(text)s is not a date"),
    N_("%(field)s %(day)s is given twice"),
    N_("%(field)s %(day)s has no hours: add them (10:00-02:00) or write closed"),
    N_("%(field)s too many dated exceptions (at most %(max)s)"),
    # --- columns chosen by hand for an import (o2o/services/importer.py column_mapping)
    N_('columns must be a JSON object of header: field, e.g. {"座机": "phone"}'),
    N_("columns maps %(header)s to %(value)s, which is not a field; use one of %(fields)s (or null: not imported)"),
    N_("columns maps both %(first)s and %(second)s to %(field)s"),
    N_("columns names %(header)s, which is not a column of the file (its columns: %(found)s)"),
    # --- coordinate systems (o2o/geo/crs.py), alone, after the field's name, and after "field:"
    N_("unknown coordinate system %(name)s; use one of wgs84, gcj02, bd09"),
    N_("%(field)s unknown coordinate system %(name)s; use one of wgs84, gcj02, bd09"),
    N_("%(field)s: unknown coordinate system %(name)s; use one of wgs84, gcj02, bd09"),
    # --- the viewport (o2o/web/params.py)
    N_("bbox must be four numbers: minLon,minLat,maxLon,maxLat"),
    N_("bbox values must be finite numbers"),
    N_("bbox longitudes must be between -180 and 180"),
    N_("bbox latitudes must be between -90 and 90"),
    N_("bbox must list the minimum before the maximum (minLon,minLat,maxLon,maxLat)"),
    # --- where a store is, duplicates, ownership (o2o/services/registry.py)
    N_("the location (%(lat)s, %(lon)s) is outside mainland China: stores must be on land in a mainland "
       "province (check lat/lon and crs)"),
    N_("the location (%(lat)s, %(lon)s) is in %(region)s, outside mainland China: this festival's stores "
       "are in mainland China only"),
    N_("an open %(brand)s store (id %(id)s) is %(distance)s m away: this looks like a duplicate; send "
       "allow_duplicate=true if it is a separate store"),
    N_("external_id %(code)s is already used by store %(id)s"),
    N_("no store with id %(id)s"),
    N_("store %(id)s belongs to another retailer"),
    N_("not found"),
    # --- request bodies and parameters (o2o/web/api.py, errors.py, go.py, pages.py)
    N_("send the store as JSON (Content-Type: application/json)"),
    N_("the body is not valid JSON"),
    N_("the body holds text that is not valid Unicode (a lone \\ud800-\\udfff escape)"),
    N_("the body is too large (at most %(kb)s KB for one store; send files to /api/v1/stores/import)"),
    N_("the body is too large (at most %(mb)s MB)"),
    N_("the upload is too large (at most %(mb)s MB)"),
    N_("a Feature's properties must be an object of store fields"),
    N_("a Feature's geometry must be a Point with [lon, lat]"),
    N_("send the file as the multipart field 'file'"),
    N_("size must be a4 or a5"),
    N_("scale must be a whole number between %(lo)s and %(hi)s"),
    N_("the database is busy or unreachable; try again shortly"),
    N_("the database's storage is full: nothing was stored; try again later"),
    N_("%(field)s is already taken: another write stored the same value first"),
    N_("internal server error"),
    N_("bbox must be at most %(degrees)s degrees across for %(level)s"),
    N_("%(name)s has closed; find another store at /"),
    N_("this store's online shop link is not on its retailer's registered domains"),
    # --- analytics (o2o/web/analytics.py)
    N_("%(field)s must be an ISO 8601 date or time, e.g. 2026-11-11T00:00:00+08:00"),
    N_("until must be after since"),
    N_("format must be json, geojson or csv"),
    N_("layer must be stores or scans"),
    N_("level must be province or city"),
    N_("view must be provinces or gaps"),
    # --- keys and limits (o2o/web/auth.py, o2o/web/limits.py)
    N_("use Authorization: Bearer <key>"),
    N_("the API key is not valid (unknown, rotated or revoked)"),
    N_("this needs a retailer's API key: Authorization: Bearer <key>"),
    N_("this needs an analyst's API key: Authorization: Bearer <key>"),
    N_("this needs a retailer's key, not an analyst's"),
    N_("this needs an analyst's key, not a retailer's"),
    N_("CSRF check failed: %(reason)s"),
    N_("too many wrong keys: at most %(n)s per minute"),
    N_("too many requests: at most %(n)s per minute"),
    N_("too many changes: at most %(n)s a minute per retailer"),
    N_("too many scans: at most %(n)s a minute from one phone"),
    # --- files (o2o/services/importer.py)
    N_("the file is empty"),
    N_("the file starts like UTF-16 text but is not valid UTF-16"),
    N_("the file is neither UTF-8 nor GBK/GB18030 text, nor an Excel file"),
    N_("the file contains NUL bytes: it is not a CSV text file"),
    N_("the file is named or sent as a spreadsheet (%(name)s) but is not one"),
    N_("cannot read the %(kind)s file: %(reason)s"),
    N_("the spreadsheet has no sheet"),
    N_("the file has no rows"),
    N_("no header row with columns separated by commas or tabs"),
    N_("cannot read the CSV header: %(reason)s"),
    N_("the header has no %(columns)s column (e.g. 经度/lon, 纬度/lat, or 经纬度 in one cell); found: %(found)s"),
    N_("the header has no lat or lon column (e.g. 经度/lon, 纬度/lat, or 经纬度 in one cell); found: %(found)s"),
    N_("too many rows (at most %(max)s per file)"),
    N_("the CSV is malformed near line %(line)s: %(reason)s"),
    N_("the file is not valid JSON: %(reason)s"),
    N_("the file holds text that is not valid Unicode (a lone \\ud800-\\udfff escape)"),
    N_("GeoJSON must be a FeatureCollection (or one Feature) of Points"),
    N_("too many features (at most %(max)s per file)"),
    # --- rows of a file
    N_("not a GeoJSON Feature"),
    N_("geometry must be a Point with [lon, lat] coordinates"),
    N_("the row has more cells than the header has columns"),
    N_("external_id is required in an import (the retailer's own store code, e.g. 门店编码)"),
    N_("external_id %(code)s appears again (first in row %(row)s)"),
    N_("the location (%(lat)s, %(lon)s) is outside mainland China (check lat/lon and crs)"),
    N_("an open %(brand)s store (id %(id)s) is %(distance)s m away: likely a duplicate (set allow_duplicate "
       "to import it anyway)"),
    N_("within %(radius)s m of row %(row)s, a store of the same brand: likely a duplicate (set "
       "allow_duplicate to import it anyway)"),
    # --- an import's summary
    N_("nothing stored: %(rejected)s of %(rows)s rows were rejected and the import was atomic"),
    N_("nothing changed: all %(unchanged)s stores were already up to date"),
    N_("%(inserted)s added, %(updated)s updated, %(unchanged)s unchanged, %(rejected)s rejected"),
    N_("dry run, nothing stored: %(inserted)s would be added, %(updated)s updated, %(unchanged)s unchanged, "
       "%(rejected)s rejected"),
    N_("%(count)s column(s) not understood and not stored: %(columns)s"),
    N_("经纬度/coordinates %(value)s is not two numbers such as 121.4737,31.2304"),
    # --- products and stock imports (o2o/services/catalogue.py), /go?product=
    N_("%(field)s contains control characters"),
    N_("%(field)s is longer than %(max)s characters"),
    N_("%(field)s %(value)s is not a number"),
    N_("%(field)s %(value)s is not a price (0 or more)"),
    N_("quantity %(value)s is not a whole number (0 or more)"),
    N_("availability is required (in_stock, limited, out_of_stock or 有货, 少量, 无货) when there is no quantity"),
    N_("availability %(value)s is not a stock word (in_stock, limited, out_of_stock, 有货, 少量, 无货, 缺货)"),
    N_("gtin %(value)s is not a barcode (8, 12, 13 or 14 digits)"),
    N_("image_url must be an http(s) link"),
    N_("sku %(value)s appears again (first in row %(row)s)"),
    N_("store %(store)s and sku %(sku)s appear again (first in row %(row)s)"),
    N_("store %(value)s is not one of the retailer's store codes (external_id)"),
    N_("sku %(value)s is not one of the retailer's products (import it first)"),
    N_("the row is not a JSON object"),
    N_("the file is not valid JSON (%(error)s)"),
    N_("JSON must be a list of objects or {\"%(key)s\": [...]}"),
    N_("no product with id %(id)s"),
    N_("no product with id %(id)s in this store's catalogue"),
]

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
_FIELD = r"[A-Za-z_][A-Za-z0-9_.]*"   # what %(field)s stands for: an API field's name
# Placeholders that stand for a count: digits only, so that a report's two messages joined by "; "
# are never taken for one template whose count swallowed the other.
_COUNTS = {"count", "inserted", "updated", "unchanged", "rejected", "rows"}


# ----------------------------------------------------------------------------- choosing
def api_lang() -> str:
    """``zh`` if this request asks for Chinese (``?lang=zh``, or an ``Accept-Language`` whose best
    of Chinese and English is Chinese), else ``en``: no cookie, no Chinese default, so curl,
    scripts and test clients get English."""
    if not has_request_context():
        return "en"
    asked = request.args.get("lang", "").strip().lower()
    if asked in LANGS:
        return asked
    if not request.headers.get("Accept-Language"):
        return "en"
    return "zh" if lang_from_accept(request.accept_languages, wildcard=None) == "zh" else "en"


# ----------------------------------------------------------------------------- matching
def _pattern(template: str) -> re.Pattern:
    parts, last = [], 0
    for m in _PLACEHOLDER.finditer(template):
        parts.append(re.escape(template[last:m.start()]))
        name = m.group(1)
        parts.append(f"(?P<{name}>{_FIELD})" if name == "field" else
                     f"(?P<{name}>[0-9][0-9,]*)" if name in _COUNTS else f"(?P<{name}>.+?)")
        last = m.end()
    parts.append(re.escape(template[last:]))
    return re.compile("".join(parts), re.DOTALL)


@functools.lru_cache(maxsize=None)
def _patterns() -> list[tuple[str, re.Pattern]]:
    """Every template with its pattern, the most literal text first (the most specific)."""
    ordered = sorted(TEMPLATES, key=lambda t: -len(_PLACEHOLDER.sub("", t)))
    return [(t, _pattern(t)) for t in ordered]


_catalogues: dict = {}


def _translations(lang: str, directory: Path = TRANSLATIONS):
    mo = directory / LANGS[lang] / "LC_MESSAGES" / "messages.mo"
    stamp = mo.stat().st_mtime if mo.exists() else 0
    cached = _catalogues.get((lang, str(directory)))
    if cached and cached[0] == stamp:
        return cached[1]
    translations = Translations.load(str(directory), [LANGS[lang]])
    if not isinstance(translations, Translations):  # no catalogue: English as it is
        translations = NullTranslations()
    _catalogues[(lang, str(directory))] = (stamp, translations)
    return translations


def _translate_one(message: str, translations) -> str | None:
    for template, pattern in _patterns():
        m = pattern.fullmatch(message)
        if m is None:
            continue
        translated = translations.gettext(template)
        if translated == template:
            return None
        return translated % m.groupdict()
    return None


def translate(message, lang: str) -> str:
    """``message`` (an API message in English) in ``lang``; as it is where no template fits."""
    if lang == "en" or not isinstance(message, str) or not message:
        return message
    translations = _translations(lang)
    whole = _translate_one(message, translations)
    if whole is not None:
        return whole
    if "; " in message:
        parts = message.split("; ")
        done = [_translate_one(p, translations) for p in parts]
        if any(d is not None for d in done):
            return "；".join(d if d is not None else p for d, p in zip(done, parts))
    return message


# ----------------------------------------------------------------------------- the answers
def localise_error(body: dict, lang: str | None = None) -> dict:
    """An error body ``{"error": {...}}`` with its messages in the request's language (in place)."""
    lang = lang or api_lang()
    error = body.get("error") if isinstance(body, dict) else None
    if lang == "en" or not isinstance(error, dict):
        return body
    if "message" in error:
        error["message"] = translate(error["message"], lang)
    for item in error.get("errors") or ():
        if isinstance(item, dict) and "message" in item:
            item["message"] = translate(item["message"], lang)
    return body


def localise_report(report: dict, lang: str | None = None) -> dict:
    """An import report with its ``message`` and rows' ``errors`` in the request's language (in place)."""
    lang = lang or api_lang()
    if lang == "en":
        return report
    if "message" in report:
        report["message"] = translate(report["message"], lang)
    for row in report.get("rejected") or ():
        row["errors"] = [translate(e, lang) for e in row.get("errors") or ()]
    return report
