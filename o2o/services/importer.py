"""Bulk import of stores from the files retailers really have: CSV from a spreadsheet, or GeoJSON.

CSV comes as UTF-8, UTF-8 with a BOM (Excel's "CSV UTF-8") or GBK/GB18030 (Excel on a Chinese
Windows), comma- or tab-separated, with headers in Chinese or English. Rows are keyed by the
retailer's own store code (``external_id``): a known code updates that store, a new one adds a
store, an identical row changes nothing. Every row ends up stored or reported with its number and
reasons; ``atomic`` stores all rows or none.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np
from scipy.spatial import cKDTree

from ..geo import crs as crs_mod
from ..geo.distance import EARTH_RADIUS_M, unit_vectors
from ..geo.index import StoreIndex
from ..storage.base import StoreRepository
from .accounts import Principal
from .registry import DUPLICATE_RADIUS_M, find_duplicate
from .units import unit_of_work
from .validation import FieldProblem, clean_store, has_lone_surrogate

MAX_ROWS = 200_000

# Header spellings seen in retailers' spreadsheets → our field names.
HEADER_ALIASES = {
    "external_id": ["external_id", "externalid", "store_code", "storecode", "code", "store_id", "门店编码",
                    "门店编号", "门店代码", "店铺编码", "编码", "编号", "店号"],
    "name": ["name", "store_name", "storename", "门店名称", "门店名", "店名", "店铺名称", "名称"],
    "brand": ["brand", "品牌", "品牌名称"],
    "category": ["category", "品类", "类别", "分类", "业态", "经营品类"],
    "lon": ["lon", "lng", "long", "longitude", "经度", "x"],
    "lat": ["lat", "latitude", "纬度", "y"],
    "crs": ["crs", "coordinate_system", "coordinates", "坐标系", "坐标类型", "坐标系统"],
    "address": ["address", "addr", "地址", "门店地址", "详细地址"],
    "hours": ["hours", "opening_hours", "openinghours", "营业时间", "营业时段"],
    "phone": ["phone", "tel", "telephone", "电话", "联系电话", "门店电话"],
    "online_url": ["online_url", "onlineurl", "url", "网店", "网店链接", "线上店铺", "店铺链接", "链接"],
    "status": ["status", "状态", "门店状态"],
    "allow_duplicate": ["allow_duplicate", "允许重复"],
}
_STATUS_WORDS = {"营业": "open", "营业中": "open", "开业": "open", "正常": "open", "关闭": "closed",
                 "闭店": "closed", "已关闭": "closed", "停业": "closed"}


def _header_key(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").strip().lower().lstrip("\ufeff")
    return text.replace(" ", "").replace("-", "_").strip("*")


_HEADER_LOOKUP = {_header_key(a): name for name, aliases in HEADER_ALIASES.items() for a in aliases}


class ImportError_(ValueError):
    """The file as a whole cannot be read (encoding, format, no header…)."""

    def __init__(self, message: str, field: str = "file"):
        super().__init__(message)
        self.field = field


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

    def to_dict(self) -> dict:
        if not self.stored:
            message = (f"nothing stored: {len(self.rejected)} of {self.rows} rows were rejected and the import "
                       "was atomic")
        elif self.inserted == self.updated == 0 and not self.rejected:
            message = f"nothing changed: all {self.unchanged} stores were already up to date"
        else:
            message = (f"{self.inserted} added, {self.updated} updated, {self.unchanged} unchanged, "
                       f"{len(self.rejected)} rejected")
        return {"inserted": self.inserted if self.stored else 0, "updated": self.updated if self.stored else 0,
                "unchanged": self.unchanged, "rejected": self.rejected, "rows": self.rows,
                "atomic": self.atomic, "stored": self.stored, "encoding": self.encoding,
                "format": self.format, "message": message}


def decode(data: bytes) -> tuple[str, str]:
    """Text and the encoding it was in: UTF-8 (with or without BOM), else GB18030 (a superset of GBK)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise ImportError_("the file starts like UTF-16 text but is not valid UTF-16") from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        raise ImportError_("the file is neither UTF-8 nor GBK/GB18030 text") from None


def parse(data: bytes, filename: str | None = None) -> tuple[list[Row], str, str]:
    """Rows of a CSV or GeoJSON file: ``(rows, format, encoding)``."""
    if not data.strip():
        raise ImportError_("the file is empty")
    text, encoding = decode(data)
    if "\x00" in text:
        raise ImportError_("the file contains NUL bytes: it is not a CSV or GeoJSON text file")
    looks_json = text.lstrip().startswith(("{", "["))
    if (filename or "").lower().endswith((".geojson", ".json")) or looks_json:
        return _parse_geojson(text), "geojson", encoding
    return _parse_csv(text), "csv", encoding


def _parse_csv(text: str) -> list[Row]:
    first = text.split("\n", 1)[0]
    delimiter = max((",", "\t", ";", "，"), key=first.count)
    if first.count(delimiter) == 0:
        raise ImportError_("no header row with columns separated by commas or tabs")
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise ImportError_(f"cannot read the CSV header: {exc}") from None
    columns = [_HEADER_LOOKUP.get(_header_key(h)) for h in header]
    known = {c for c in columns if c}
    missing = [f for f in ("lat", "lon") if f not in known]
    if missing:
        raise ImportError_(f"the header has no {' or '.join(missing)} column (e.g. 经度/lon, 纬度/lat); "
                           f"found: {', '.join(header)}")
    rows = []
    try:
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            data = {}
            for col, value in zip(columns, values):
                if col and value.strip() != "":
                    data[col] = value.strip()
            if len(values) > len(columns):
                data["_extra"] = len(values) - len(columns)
            rows.append(Row(len(rows) + 1, reader.line_num, data))
            if len(rows) > MAX_ROWS:
                raise ImportError_(f"too many rows (at most {MAX_ROWS:,} per file)")
    except csv.Error as exc:
        raise ImportError_(f"the CSV is malformed near line {reader.line_num}: {exc}") from None
    return rows


def _parse_geojson(text: str) -> list[Row]:
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
    for i, feature in enumerate(features, start=1):
        data: dict = {}
        if not isinstance(feature, dict):
            data["_error"] = "not a GeoJSON Feature"
        else:
            props = feature.get("properties") or {}
            if isinstance(props, dict):
                for key, value in props.items():
                    name = _HEADER_LOOKUP.get(_header_key(str(key)), None)
                    if name and value is not None:
                        data[name] = value
            geom = feature.get("geometry")
            if isinstance(geom, dict) and geom.get("type") == "Point" and isinstance(geom.get("coordinates"), list) \
                    and len(geom["coordinates"]) >= 2:
                data["lon"], data["lat"] = geom["coordinates"][0], geom["coordinates"][1]
            elif "lat" not in data:
                data["_error"] = "geometry must be a Point with [lon, lat] coordinates"
        rows.append(Row(i, None, data))
    return rows


def _status_word(value):
    if isinstance(value, str):
        return _STATUS_WORDS.get(value.strip(), value.strip().lower())
    return value


def _flag(value) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "y", "是")


def import_rows(repo: StoreRepository, regions, index: StoreIndex, retailer: Principal, rows: list[Row],
                atomic: bool = False, default_crs: str | None = None, allow_duplicates: bool = False,
                progress: Callable[[Iterable], Iterable] = lambda it: it) -> Report:
    """Validate, locate and store rows; see the module docstring."""
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

    # The codes that exist, the writes they imply and the writes themselves: one unit of work, so
    # a concurrent import of the same new codes cannot insert them twice (it runs again instead).
    return unit_of_work(repo, lambda: _store(repo, index, retailer, rows, {n: dict(f) for n, f in clean.items()},
                                             dict(problems), atomic))


def _store(repo: StoreRepository, index: StoreIndex, retailer: Principal, rows: list[Row], clean: dict[int, dict],
           problems: dict[int, list[str]], atomic: bool) -> Report:
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
