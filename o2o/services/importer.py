"""Bulk import of stores from the files retailers really have: CSV from a spreadsheet, or GeoJSON.

CSV comes as UTF-8, UTF-8 with a BOM (Excel's "CSV UTF-8") or GBK/GB18030 (Excel on a Chinese
Windows), comma- or tab-separated, with headers in Chinese or English. Rows are keyed by the
retailer's own store code (``external_id``): a known code updates that store, a new one adds a
store, an identical row changes nothing. Every row ends up stored or reported with its number and
reasons; ``atomic`` stores all rows or none.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Callable, Iterable, NamedTuple

import numpy as np
from scipy.spatial import cKDTree

from ..geo import crs as crs_mod
from ..geo.distance import EARTH_RADIUS_M, unit_vectors
from ..geo.index import StoreIndex
from .. import metrics
from ..storage.base import StoreRepository
from . import sheets
from .accounts import Principal
from .registry import DUPLICATE_RADIUS_M, find_duplicate
from .units import unit_of_work
from .validation import FieldProblem, clean_store, has_lone_surrogate

MAX_ROWS = 200_000
BULK_ROWS = 1000  # an import writing this many rows refreshes the planner's statistics afterwards

# Header spellings seen in retailers' spreadsheets → our field names. A header not here is never
# dropped silently: the report names it in ``unknown_columns``.
HEADER_ALIASES = {
    "external_id": ["external_id", "externalid", "store_code", "storecode", "code", "store_id", "store_no",
                    "门店编码", "门店编号", "门店代码", "店铺编码", "店铺编号", "编码", "编号", "店号", "门店id", "门店号"],
    "name": ["name", "store_name", "storename", "门店名称", "门店名", "店名", "店铺名称", "店铺名", "名称"],
    "brand": ["brand", "brand_name", "品牌", "品牌名称", "品牌名"],
    "category": ["category", "品类", "类别", "分类", "业态", "经营品类", "门店类型"],
    "lon": ["lon", "lng", "long", "longitude", "经度", "x", "经度(gcj02)", "经度(wgs84)", "高德经度", "百度经度"],
    "lat": ["lat", "latitude", "纬度", "y", "纬度(gcj02)", "纬度(wgs84)", "高德纬度", "百度纬度"],
    "lonlat": ["lonlat", "lnglat", "location", "经纬度", "坐标", "门店坐标", "经纬度坐标", "高德坐标"],
    "crs": ["crs", "coordinate_system", "coordinates", "坐标系", "坐标类型", "坐标系统"],
    "address": ["address", "addr", "地址", "门店地址", "详细地址", "店铺地址", "所在地址"],
    "hours": ["hours", "opening_hours", "openinghours", "营业时间", "营业时段", "营业时长"],
    "special_hours": ["special_hours", "specialhours", "holiday_hours", "holidayhours", "festival_hours",
                      "特殊营业时间", "节日营业时间", "节假日营业时间", "特殊时段", "特殊营业时段", "活动营业时间"],
    "phone": ["phone", "tel", "telephone", "mobile", "电话", "联系电话", "门店电话", "店铺电话", "联系方式", "座机"],
    "online_url": ["online_url", "onlineurl", "url", "shop_url", "link", "网店", "网店链接", "网店地址", "线上店铺",
                   "线上链接", "线上地址", "店铺链接", "店铺网址", "网店网址", "链接", "天猫链接", "旗舰店链接", "购买链接"],
    "status": ["status", "状态", "门店状态", "营业状态"],
    "allow_duplicate": ["allow_duplicate", "允许重复"],
}
_STATUS_WORDS = {"营业": "open", "营业中": "open", "开业": "open", "正常": "open", "关闭": "closed",
                 "闭店": "closed", "已关闭": "closed", "停业": "closed"}


def _header_key(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").strip().lower().lstrip("\ufeff")
    return text.replace(" ", "").replace("-", "_").strip("*")


_HEADER_LOOKUP = {_header_key(a): name for name, aliases in HEADER_ALIASES.items() for a in aliases}
# What a column can be assigned to by hand (``columns``): every field above; ``lonlat`` is both
# coordinates in one cell.
COLUMN_FIELDS = tuple(HEADER_ALIASES)
PREVIEW_ROWS = 10


class ImportError_(ValueError):
    """The file as a whole cannot be read (encoding, format, no header…). ``extra``: what was
    understood anyway (``columns``, ``unknown_columns``, ``preview``), for the one who fixes it."""

    def __init__(self, message: str, field: str = "file", **extra):
        super().__init__(message)
        self.field = field
        self.extra = extra


@dataclass
class Row:
    number: int                 # 1 = the first store in the file
    line: int | None            # line in a CSV file (the header is line 1)
    data: dict


@dataclass
class Report:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[dict] = field(default_factory=list)
    atomic: bool = False
    stored: bool = True
    rows: int = 0
    encoding: str | None = None
    format: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    unknown_columns: list[str] = field(default_factory=list)
    dry_run: bool = False
    preview: dict | None = None     # a dry run's first rows as the file has them

    def to_dict(self) -> dict:
        if self.dry_run:
            message = (f"dry run, nothing stored: {self.inserted} would be added, {self.updated} updated, "
                       f"{self.unchanged} unchanged, {len(self.rejected)} rejected")
        elif not self.stored:
            message = (f"nothing stored: {len(self.rejected)} of {self.rows} rows were rejected and the import "
                       "was atomic")
        elif self.inserted == self.updated == 0 and not self.rejected:
            message = f"nothing changed: all {self.unchanged} stores were already up to date"
        else:
            message = (f"{self.inserted} added, {self.updated} updated, {self.unchanged} unchanged, "
                       f"{len(self.rejected)} rejected")
        shown = self.stored or self.dry_run   # a dry run counts what an import would do
        return {"inserted": self.inserted if shown else 0, "updated": self.updated if shown else 0,
                "unchanged": self.unchanged, "rejected": self.rejected, "rows": self.rows,
                "atomic": self.atomic, "stored": self.stored, "encoding": self.encoding,
                "format": self.format, "columns": self.columns, "unknown_columns": self.unknown_columns,
                "dry_run": self.dry_run, **({"preview": self.preview} if self.dry_run and self.preview else {}),
                "message": message + self._unknown_note()}

    def _unknown_note(self) -> str:
        if not self.unknown_columns:
            return ""
        return (f"; {len(self.unknown_columns)} column(s) not understood and not stored: "
                + ", ".join(self.unknown_columns))


class Parsed(NamedTuple):
    """A file read into rows, with how its columns were understood."""
    rows: list[Row]
    format: str                    # csv | xlsx | xls | ods | geojson
    encoding: str | None           # a text file's encoding
    columns: dict[str, str]        # header → field
    unknown_columns: list[str]     # headers not understood (their cells are not stored)
    preview: dict | None = None    # the first rows as in the file: {"header": [...], "rows": [{row, line, cells}]}


def column_mapping(value) -> dict[str, str | None]:
    """A mapping ``{header: field}`` chosen by hand (a dict, or its JSON text) that overrides how
    the importer understands those headers; a field of ``null`` or ``""`` leaves the column out.

    >>> column_mapping('{"座机": "phone", "备注": null}')
    {'座机': 'phone', '备注': None}
    """
    if value is None or value == "":
        return {}
    if isinstance(value, (str, bytes)):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            value = None
    if not isinstance(value, dict):
        raise FieldProblem([("columns", 'columns must be a JSON object of header: field, e.g. {"座机": "phone"}')])
    out: dict[str, str | None] = {}
    taken: dict[str, str] = {}
    for header, name in value.items():
        if name is not None and not isinstance(name, str):
            raise FieldProblem([("columns", 'columns must be a JSON object of header: field, e.g. {"座机": "phone"}')])
        name = (name or "").strip().lower() or None
        if name is not None and name not in COLUMN_FIELDS:
            raise FieldProblem([("columns", f"columns maps {header!r} to {name!r}, which is not a field; use one of "
                                            f"{', '.join(COLUMN_FIELDS)} (or null: not imported)")])
        if name is not None and name in taken:
            raise FieldProblem([("columns", f"columns maps both {taken[name]!r} and {header!r} to {name}")])
        if name is not None:
            taken[name] = header
        out[str(header)] = name
    return out


def parse(data: bytes, filename: str | None = None, mimetype: str | None = None,
          columns: dict[str, str | None] | None = None) -> Parsed:
    """Rows of a CSV, Excel (.xlsx, .xls) or GeoJSON file. ``columns`` (from :func:`column_mapping`)
    overrides how the named headers are understood."""
    overrides = columns or {}
    try:
        table = sheets.read_file(data, filename, mimetype, max_rows=MAX_ROWS, json_names=(".geojson", ".json"),
                                 known=lambda h: _header_key(h) in _HEADER_LOOKUP or h in overrides)
    except sheets.TableError as exc:
        raise ImportError_(str(exc)) from None
    if isinstance(table, sheets.JsonText):
        rows, found, unknown, preview = _parse_geojson(table.text, overrides)
        return Parsed(rows, "geojson", table.encoding, found, unknown, preview)
    rows, found, unknown, preview = _table_rows(table, overrides)
    return Parsed(rows, table.format, table.encoding, found, unknown, preview)


def _not_in_file(overrides: dict, labels) -> None:
    absent = [h for h in overrides if h not in labels]
    if absent:
        raise FieldProblem([("columns", f"columns names {absent[0]!r}, which is not a column of the file "
                                        f"(its columns: {', '.join(labels)})")])


def _table_rows(table: sheets.Table, overrides: dict[str, str | None]
                ) -> tuple[list[Row], dict[str, str], list[str], dict]:
    header = table.header
    labels = [text or f"(column {i + 1})" for i, text in enumerate(header)]
    _not_in_file(overrides, labels)
    by_hand = {f for f in overrides.values() if f}
    fields: list[str | None] = []
    columns: dict[str, str] = {}
    unknown: list[str] = []
    for i, (text, label) in enumerate(zip(header, labels)):
        if label in overrides:
            field_name = overrides[label]
        else:
            field_name = _HEADER_LOOKUP.get(_header_key(text)) if text else None
            if field_name in by_hand:             # the column chosen by hand takes that field
                field_name = None
        if field_name and field_name in fields:   # a second column for the same field: named, not merged
            field_name = None
        fields.append(field_name)
        if field_name:
            columns[label] = field_name
        elif text or any(i < len(values) and values[i] for _, values in table.rows):
            unknown.append(label)
    width = len(header)
    preview = {"header": labels, "rows": [
        {"row": n, "line": line, "cells": (values[:width] + [""] * width)[:width]}
        for n, (line, values) in enumerate(table.rows[:PREVIEW_ROWS], start=1)]}
    known = set(fields)
    missing = [f for f in ("lat", "lon") if f not in known]
    if missing and "lonlat" not in known:
        raise ImportError_(f"the header has no {' or '.join(missing)} column (e.g. 经度/lon, 纬度/lat, or 经纬度 "
                           f"in one cell); found: {', '.join(h for h in header if h)}",
                           columns=columns, unknown_columns=unknown, preview=preview)
    rows = []
    for line, values in table.rows:
        data: dict = {}
        for name, value in zip(fields, values):
            if name and value != "":
                data[name] = value
        if len(values) > len(fields) and any(values[len(fields):]):
            data["_extra"] = len(values) - len(fields)
        if "lonlat" in data:
            _split_lonlat(data)
        rows.append(Row(len(rows) + 1, line, data))
        if len(rows) > MAX_ROWS:
            raise ImportError_(f"too many rows (at most {MAX_ROWS:,} per file)")
    return rows, columns, unknown, preview


def _split_lonlat(data: dict) -> None:
    """``121.4737,31.2304`` in one cell (经纬度): longitude and latitude, in either order (in China a
    longitude is over 70 and a latitude under 55, so the order is never in doubt)."""
    text = unicodedata.normalize("NFKC", str(data.pop("lonlat"))).strip().strip("()[]")
    parts = [p for p in re.split(r"[,;\s/]+", text) if p]
    try:
        a, b = (float(p) for p in parts)
    except ValueError:
        data["_error"] = f"经纬度/coordinates {text!r} is not two numbers such as 121.4737,31.2304"
        return
    lon, lat = (a, b) if abs(a) > abs(b) else (b, a)
    data.setdefault("lon", lon)
    data.setdefault("lat", lat)


def _parse_geojson(text: str, overrides: dict[str, str | None]) -> tuple[list[Row], dict[str, str], list[str], dict]:
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ImportError_(f"the file is not valid JSON: {exc}") from None
    if has_lone_surrogate(text, doc):
        raise ImportError_("the file holds text that is not valid Unicode (a lone \\ud800-\\udfff escape)")
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        features = [doc]
    elif isinstance(doc, dict) and doc.get("type") == "FeatureCollection" and isinstance(doc.get("features"), list):
        features = doc["features"]
    else:
        raise ImportError_("GeoJSON must be a FeatureCollection (or one Feature) of Points")
    if len(features) > MAX_ROWS:
        raise ImportError_(f"too many features (at most {MAX_ROWS:,} per file)")
    rows = []
    columns: dict[str, str] = {}
    unknown: dict[str, None] = {}
    keys: dict[str, None] = {}      # every property name, in the order first seen
    by_hand = {f for f in overrides.values() if f}
    for i, feature in enumerate(features, start=1):
        data: dict = {}
        if not isinstance(feature, dict):
            data["_error"] = "not a GeoJSON Feature"
        else:
            props = feature.get("properties") or {}
            if isinstance(props, dict):
                for key, value in props.items():
                    keys.setdefault(str(key), None)
                    if str(key) in overrides:
                        name = overrides[str(key)]
                    else:
                        name = _HEADER_LOOKUP.get(_header_key(str(key)), None)
                        name = None if name in by_hand else name
                    if name:
                        columns[str(key)] = name
                        if value is not None:
                            data[name] = value
                    else:
                        unknown[str(key)] = None
                if "lonlat" in data:
                    _split_lonlat(data)
            geom = feature.get("geometry")
            if isinstance(geom, dict) and geom.get("type") == "Point" and isinstance(geom.get("coordinates"), list) \
                    and len(geom["coordinates"]) >= 2:
                data["lon"], data["lat"] = geom["coordinates"][0], geom["coordinates"][1]
            elif "lat" not in data:
                data["_error"] = "geometry must be a Point with [lon, lat] coordinates"
        rows.append(Row(i, None, data))
    _not_in_file(overrides, keys)
    header = list(keys)
    preview = {"header": header, "rows": [
        {"row": n, "line": None, "cells": [_preview_cell((f.get("properties") or {}).get(k))
                                           if isinstance(f, dict) and isinstance(f.get("properties"), dict) else ""
                                           for k in header]}
        for n, f in enumerate(features[:PREVIEW_ROWS], start=1)]}
    return rows, columns, list(unknown), preview


def _preview_cell(value) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)[:200]


def _status_word(value):
    if isinstance(value, str):
        return _STATUS_WORDS.get(value.strip(), value.strip().lower())
    return value


def _flag(value) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "y", "是")


def import_rows(repo: StoreRepository, regions, index: StoreIndex, retailer: Principal, rows: list[Row],
                atomic: bool = False, default_crs: str | None = None, allow_duplicates: bool = False,
                progress: Callable[[Iterable], Iterable] = lambda it: it, dry_run: bool = False) -> Report:
    """Validate, locate and store rows; see the module docstring. A ``dry_run`` goes through every
    check (the stores there, duplicates) and reports what it would do, storing nothing."""
    problems: dict[int, list[str]] = {}
    clean: dict[int, dict] = {}
    seen_codes: dict[str, int] = {}
    for row in progress(rows):
        data = dict(row.data)
        errors = []
        if "_error" in data:
            errors.append(data.pop("_error"))
        if data.pop("_extra", 0):
            errors.append("the row has more cells than the header has columns")
        if "status" in data:
            data["status"] = _status_word(data["status"])
        row_allow = _flag(data.pop("allow_duplicate", False))
        if default_crs and "crs" not in data:
            data["crs"] = default_crs
        try:
            fields = clean_store(data, retailer.domains, convert=False)
            fields["allow_duplicate"] = row_allow or allow_duplicates
        except FieldProblem as exc:
            errors.extend(m for _, m in exc.problems)
            fields = None
        code = _code_text((fields or data).get("external_id"))  # hashable whatever the JSON sent
        if not code:
            errors.append("external_id is required in an import (the retailer's own store code, e.g. 门店编码)")
        elif code in seen_codes:
            errors.append(f"external_id {code!r} appears again (first in row {seen_codes[code]})")
        else:
            seen_codes[code] = row.number
        if errors:
            problems[row.number] = errors
        else:
            clean[row.number] = fields

    _to_wgs84(clean)
    # Where each row is: one vectorised point-in-polygon join for the whole file.
    numbers = list(clean)
    if numbers:
        lon = np.array([clean[n]["lon"] for n in numbers])
        lat = np.array([clean[n]["lat"] for n in numbers])
        where = regions.locate(lon, lat)
        columns = zip(numbers, where["province"].tolist(), where["city"].tolist(), where["district"].tolist(),
                      where["mainland"].tolist())
        for n, province, city, district, mainland in columns:
            if district is None or not mainland:
                problems[n] = [f"the location ({clean[n]['lat']:.6f}, {clean[n]['lon']:.6f}) is outside "
                               "mainland China (check lat/lon and crs)"]
                del clean[n]
            else:
                clean[n].update(province=province, city=city, district=district)

    if dry_run:   # reads only: no write lock taken, so a preview neither waits for writers nor holds them up
        return _store(repo, index, retailer, rows, clean, problems, atomic, dry_run=True)
    # The codes that exist, the writes they imply and the writes themselves: one unit of work, so
    # a concurrent import of the same new codes cannot insert them twice (it runs again instead).
    report = unit_of_work(repo, lambda: _store(repo, index, retailer, rows, {n: dict(f) for n, f in clean.items()},
                                               dict(problems), atomic, dry_run))
    analyzed_after(repo, report, ("stores",))
    metrics.count_import(report)
    return report


def analyzed_after(repo: StoreRepository, report: "Report", tables: tuple[str, ...]) -> "Report":
    """``report``, after refreshing the planner's statistics of ``tables`` when the import wrote
    :data:`BULK_ROWS` rows or more (the queries that follow are planned for the data there now)."""
    if report.stored and report.inserted + report.updated >= BULK_ROWS:
        repo.analyze(tables)
    return report


def _store(repo: StoreRepository, index: StoreIndex, retailer: Principal, rows: list[Row], clean: dict[int, dict],
           problems: dict[int, list[str]], atomic: bool, dry_run: bool = False) -> Report:
    """Inside the import's transaction: compare the clean rows with the stores there, and write."""
    report = Report(atomic=atomic, rows=len(rows))
    existing = repo.find_store_ids(retailer.id, [f["external_id"] for f in clean.values()])
    current = repo.stores_by_ids_raw(list(existing.values())) if existing else {}
    updates = []
    new_rows = []
    for n, fields in clean.items():
        store_id = existing.get(fields["external_id"])
        if store_id is None:
            fields.setdefault("status", "open")
            fields.setdefault("address", "")
            if not fields.get("online_url") and retailer.domains:
                fields["online_url"] = f"https://{retailer.domains[0]}/"
            new_rows.append(n)
        else:
            before = current[store_id]
            changes = {k: v for k, v in fields.items()
                       if k not in ("allow_duplicate",) and before.get(k) != v}
            if changes:
                updates.append((n, store_id, changes))
            else:
                report.unchanged += 1

    # A new store of a brand within 20 m of an open one (already stored, or earlier in this file).
    dup_rows = _duplicates(index, clean, new_rows)
    for n, reason in dup_rows.items():
        problems[n] = [reason]
    inserts = [clean[n] for n in new_rows if n not in dup_rows]
    updates = [(n, sid, ch) for n, sid, ch in updates if n not in problems]

    report.rejected = [
        {"row": n, **({"line": rows[n - 1].line} if rows[n - 1].line else {}),
         "external_id": _code_text(rows[n - 1].data.get("external_id")), "errors": errs}
        for n, errs in sorted(problems.items())
    ]
    if dry_run:   # what an import would do, nothing written
        report.dry_run, report.stored = True, False
        report.inserted, report.updated = len(inserts), len(updates)
        return report
    if atomic and report.rejected:
        report.stored = False
        report.unchanged = 0
        return report
    for record in inserts:
        record.pop("allow_duplicate", None)
    repo.bulk_upsert(retailer.id, inserts, [(sid, ch) for _, sid, ch in updates], actor=retailer.actor)
    report.inserted = len(inserts)
    report.updated = len(updates)
    return report


def _code_text(value) -> str | None:
    """A rejected row's store code as sent, as text for the report (whatever its JSON type)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return json.dumps(value, ensure_ascii=False)[:100]


def _to_wgs84(clean: dict[int, dict]) -> None:
    """Convert every row's coordinates to WGS-84, vectorised per coordinate system."""
    by_crs: dict[str, list[int]] = {}
    for n, fields in clean.items():
        by_crs.setdefault(fields.pop("crs"), []).append(n)
    for system, numbers in by_crs.items():
        lon = np.array([clean[n]["lon"] for n in numbers], dtype=float)
        lat = np.array([clean[n]["lat"] for n in numbers], dtype=float)
        lon, lat = crs_mod.to_wgs84(lon, lat, system)
        for n, x, y in zip(numbers, np.round(lon, 7).tolist(), np.round(lat, 7).tolist()):
            clean[n]["lon"], clean[n]["lat"] = x, y


def _duplicates(index: StoreIndex, clean: dict[int, dict], new_rows: list[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    checked = [n for n in new_rows if not clean[n].get("allow_duplicate") and clean[n].get("status", "open") == "open"]
    for n in checked:
        f = clean[n]
        dup = find_duplicate(index, f["brand"], f["lon"], f["lat"])
        if dup:
            out[n] = (f"an open {f['brand']} store (id {dup[0]}) is {dup[1]:.1f} m away: likely a duplicate "
                      "(set allow_duplicate to import it anyway)")
    # Within the file: the later of two same-brand new stores closer than 20 m.
    by_brand: dict[str, list[int]] = {}
    for n in checked:
        if n not in out:
            by_brand.setdefault(clean[n]["brand"], []).append(n)
    chord = DUPLICATE_RADIUS_M / EARTH_RADIUS_M
    for brand, members in by_brand.items():
        if len(members) < 2:
            continue
        xyz = unit_vectors([clean[n]["lon"] for n in members], [clean[n]["lat"] for n in members])
        for a, b in sorted(cKDTree(xyz).query_pairs(chord)):
            first, later = sorted((members[a], members[b]))
            if first not in out:
                out.setdefault(later, f"within {DUPLICATE_RADIUS_M:g} m of row {first}, a store of the same brand: "
                                      "likely a duplicate (set allow_duplicate to import it anyway)")
    return out
