"""Exporting every store, open and closed, with every contract field."""

from __future__ import annotations

import csv
import json
from typing import IO, Iterable

from ..storage.base import STORE_FIELDS, StoreRepository

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMERIC = {"id", "retailer_id", "lat", "lon"}


def spreadsheet_safe(value):
    """Text that a spreadsheet would run as a formula gets a leading apostrophe (OWASP advice)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def store_feature(store: dict) -> dict:
    """A store as a plain GeoJSON Feature (no request-dependent links)."""
    return {"type": "Feature", "id": store["id"],
            "geometry": {"type": "Point", "coordinates": [store["lon"], store["lat"]]},
            "properties": {f: store.get(f) for f in STORE_FIELDS}}


def write_geojson(stores: Iterable[dict], out: IO[str]) -> int:
    """Stream a FeatureCollection, one feature per line, without holding all stores in memory."""
    n = 0
    out.write('{"type": "FeatureCollection", "features": [\n')
    for store in stores:
        out.write((",\n" if n else "") + json.dumps(store_feature(store), ensure_ascii=False))
        n += 1
    out.write("\n]}\n")
    return n


def write_csv(stores: Iterable[dict], out: IO[str]) -> int:
    """One row per store, one column per contract field, formula-looking text escaped."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(STORE_FIELDS)
    n = 0
    for store in stores:
        writer.writerow([store.get(f) if f in _NUMERIC else spreadsheet_safe(store.get(f))
                         for f in STORE_FIELDS])
        n += 1
    return n


def export(repo: StoreRepository, fmt: str, out: IO[str]) -> int:
    if fmt == "geojson":
        return write_geojson(repo.iter_stores(), out)
    if fmt == "csv":
        return write_csv(repo.iter_stores(), out)
    raise ValueError(f"unknown export format {fmt!r}: use geojson or csv")
