"""Exporting every store, open and closed, with every contract field; and (issue 15) every product
and every stock line, as CSV a retailer's import reads back (its ``sku`` and store codes)."""

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


PRODUCT_COLUMNS = ("id", "retailer_id", "retailer", "sku", "title", "brand", "category", "price", "online_url",
                   "gtin", "image_url", "updated_at")
INVENTORY_COLUMNS = ("store_id", "retailer", "store", "product_id", "sku", "availability", "quantity", "price",
                     "updated_at")
_NUMERIC_PRODUCT = {"id", "retailer_id", "price", "store_id", "product_id", "quantity"}


def _csv_rows(columns: tuple[str, ...], rows: Iterable[dict], out: IO[str]) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    n = 0
    for row in rows:
        writer.writerow([row.get(c) if c in _NUMERIC_PRODUCT else spreadsheet_safe(row.get(c)) for c in columns])
        n += 1
    return n


def write_products_csv(repo: StoreRepository, out: IO[str]) -> int:
    """One row per product, its retailer by name."""
    names = {r["id"]: r["name"] for r in repo.list_retailers()}
    return _csv_rows(PRODUCT_COLUMNS, ({**p, "retailer": names.get(p["retailer_id"])} for p in repo.list_products()),
                     out)


def write_inventory_csv(repo: StoreRepository, out: IO[str]) -> int:
    """One row per stock line, streamed in batches: the store by its code, the product by its sku."""
    names = {r["id"]: r["name"] for r in repo.list_retailers()}
    stores = {s["id"]: (names.get(s["retailer_id"]), s["external_id"]) for s in repo.iter_stores()}
    skus = {p["id"]: p["sku"] for p in repo.list_products()}

    def rows():
        for batch in repo.dump_table("stock"):
            for _, store_id, product_id, availability, quantity, price, updated_at in batch:
                retailer, code = stores.get(store_id, (None, None))
                yield {"store_id": store_id, "retailer": retailer, "store": code, "product_id": product_id,
                       "sku": skus.get(product_id), "availability": availability, "quantity": quantity,
                       "price": price, "updated_at": updated_at}

    return _csv_rows(INVENTORY_COLUMNS, rows(), out)


def export(repo: StoreRepository, fmt: str, out: IO[str], what: str = "stores") -> int:
    if what in ("products", "inventory"):
        if fmt != "csv":
            raise ValueError(f"{what} export only as csv, not {fmt!r}")
        return (write_products_csv if what == "products" else write_inventory_csv)(repo, out)
    if what != "stores":
        raise ValueError(f"unknown export {what!r}: use stores, products or inventory")
    if fmt == "geojson":
        return write_geojson(repo.iter_stores(), out)
    if fmt == "csv":
        return write_csv(repo.iter_stores(), out)
    raise ValueError(f"unknown export format {fmt!r}: use geojson or csv")
