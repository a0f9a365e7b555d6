"""The in-memory fake's products and stock (a part of :class:`o2o.storage.memory.MemoryRepository`,
kept apart to keep each module short; the SQL backends' is :mod:`.products`)."""

from __future__ import annotations

import copy
from typing import Iterable

from .dialect import utc_now, valid_id
from .errors import Conflict
from .rows import HourCount, ProductPlaceCount
from .products import (AVAILABILITY, CATALOGUE_REV_KEY, IN_STOCK, PRODUCT_FIELDS, PRODUCT_WRITABLE, PRODUCTS_REV_KEY,
                       STOCK_FIELDS, STOCK_REV_PREFIX)

_PRODUCT_KEY = ("products", ("retailer_id", "sku"))
_STOCK_KEY = ("stock", ("store_id", "product_id"))


class MemoryProducts:
    """Mixed into :class:`~o2o.storage.memory.MemoryRepository`: uses its tables, ``_insert`` and ``_db``."""

    def _next_catalogue_rev(self, key: str = CATALOGUE_REV_KEY) -> int:
        meta = self._db.meta
        meta[key] = meta.get(key, 0) + 1
        return meta[key]

    def catalogue_rev(self) -> int:
        return self._db.meta.get(CATALOGUE_REV_KEY, 0)

    def stock_marks(self, product_id: int) -> tuple[int, int, int]:
        with self._db.lock:
            meta = self._db.meta
            return meta.get(f"{STOCK_REV_PREFIX}{int(product_id)}", 0), meta["rev"], meta["reset_rev"]

    def _mark_stock(self, rev: int, product_ids) -> None:
        for p in set(product_ids):
            self._db.meta[f"{STOCK_REV_PREFIX}{int(p)}"] = rev

    def catalogue_marks(self) -> tuple[int, int]:
        with self._db.lock:
            return self._db.meta.get(CATALOGUE_REV_KEY, 0), self._db.meta.get(PRODUCTS_REV_KEY, 0)

    # --------------------------------------------------------------------------- products
    def upsert_products(self, retailer_id: int, rows: Iterable[dict]) -> int:
        now, n = utc_now(), 0
        with self.transaction():
            self._next_catalogue_rev()
            self._next_catalogue_rev(PRODUCTS_REV_KEY)
            for row in rows:
                n += 1
                if row.get("title") is None or row.get("brand") is None or row.get("sku") is None:
                    raise ValueError("products need a sku, a title and a brand")
                found = self._db.keys[_PRODUCT_KEY].get((int(retailer_id), row["sku"]))
                if found is not None:
                    self._table("products")[found].update({c: row.get(c) for c in PRODUCT_WRITABLE}, updated_at=now)
                else:
                    self._insert("products", {"retailer_id": int(retailer_id),
                                              **{c: row.get(c) for c in PRODUCT_WRITABLE},
                                              "created_at": now, "updated_at": now})
        return n

    def get_product(self, product_id: int) -> dict | None:
        if not valid_id(product_id):
            return None
        row = self._table("products").get(int(product_id))
        return None if row is None else {f: copy.copy(row.get(f)) for f in PRODUCT_FIELDS}

    def get_products(self, product_ids: Iterable[int]) -> list[dict]:
        return [p for p in (self.get_product(i) for i in product_ids) if p is not None]

    def list_products(self, retailer_id: int | None = None) -> list[dict]:
        return [{f: row.get(f) for f in PRODUCT_FIELDS} for row in self._sorted("products")
                if retailer_id is None or row["retailer_id"] == int(retailer_id)]

    def find_product_ids(self, retailer_id: int, skus: Iterable[str]) -> dict[str, int]:
        keys = self._db.keys[_PRODUCT_KEY]
        return {sku: keys[(int(retailer_id), sku)] for sku in skus if (int(retailer_id), sku) in keys}

    def count_products(self) -> int:
        return len(self._table("products"))

    # --------------------------------------------------------------------------- stock
    def set_stock(self, rows: Iterable[dict], replace_stores: Iterable[int] = ()) -> int:
        now = utc_now()
        lines = {(int(r["store_id"]), int(r["product_id"])): r for r in rows}
        with self.transaction():
            rev = self._next_catalogue_rev()
            replace = {int(s) for s in replace_stores}
            touched = {product_id for _, product_id in lines}
            for row_id in [i for i, r in self._table("stock").items() if r["store_id"] in replace]:
                touched.add(self._table("stock")[row_id]["product_id"])
                self._remove("stock", row_id)
            for (store_id, product_id), r in lines.items():
                if store_id not in self._table("stores"):
                    raise Conflict("stock", ("store_id",))
                if product_id not in self._table("products"):
                    raise Conflict("stock", ("product_id",))
                if r["availability"] not in AVAILABILITY:
                    raise ValueError(f"availability {r['availability']!r}")
                values = {"availability": r["availability"], "quantity": r.get("quantity"), "price": r.get("price"),
                          "updated_at": r.get("updated_at") or now}
                found = self._db.keys[_STOCK_KEY].get((store_id, product_id))
                if found is not None:
                    self._table("stock")[found].update(values)
                else:
                    self._insert("stock", {"store_id": store_id, "product_id": product_id, **values})
            self._mark_stock(rev, touched)
        return len(lines)

    def insert_stock(self, rows: Iterable[tuple]) -> int:
        n, touched = 0, set()
        with self.transaction():
            rev = self._next_catalogue_rev()
            for row in rows:
                self._insert("stock", dict(zip(STOCK_FIELDS, row)))
                touched.add(row[1])
                n += 1
            self._mark_stock(rev, touched)
        return n

    def stock_of_product(self, product_id: int, availability: Iterable[str] | None = None) -> list[dict]:
        wanted = None if availability is None else set(availability)
        return sorted(({f: r[f] for f in STOCK_FIELDS} for r in list(self._table("stock").values())
                       if r["product_id"] == int(product_id) and (wanted is None or r["availability"] in wanted)),
                      key=lambda r: r["store_id"])

    def stocked_stores(self, product_id: int) -> list[tuple]:
        stores = self._table("stores")
        out = []
        for r in list(self._table("stock").values()):
            store = stores.get(r["store_id"])
            if (r["product_id"] == int(product_id) and r["availability"] in IN_STOCK and store is not None
                    and store["status"] == "open"):
                out.append((store["id"], store["lon"], store["lat"], r["availability"], r["quantity"], r["price"],
                            r["updated_at"]))
        return sorted(out)

    def stock_of_store(self, store_id: int) -> list[dict]:
        return sorted(({f: r[f] for f in STOCK_FIELDS} for r in list(self._table("stock").values())
                       if r["store_id"] == int(store_id)), key=lambda r: r["product_id"])

    def count_stock(self) -> int:
        return len(self._table("stock"))

    # --------------------------------------------------------------------------- scans of a product
    def record_product_scan(self, store: dict, product_id: int, scanned_at: int, client_kind: str,
                            client_hash: str, dedup_window_s: int) -> bool | None:
        with self.transaction():
            counted = self.record_scan(store, scanned_at, client_kind, client_hash, dedup_window_s)
            if counted is not None:
                if int(product_id) not in self._table("products"):
                    raise Conflict("product_scans", ("product_id",))
                self._insert("product_scans", {"scan_id": max(self._table("scans")), "product_id": int(product_id)})
        return counted

    def product_scan_counts(self) -> dict[int, int]:
        scans, out = self._table("scans"), {}
        for r in list(self._table("product_scans").values()):
            if scans.get(r["scan_id"], {}).get("counted"):
                out[r["product_id"]] = out.get(r["product_id"], 0) + 1
        return out

    def insert_product_scans(self, rows: Iterable[tuple]) -> int:
        n = 0
        with self.transaction():
            taken = {r["scan_id"] for r in self._table("product_scans").values()}
            for scan_id, product_id in rows:
                if int(scan_id) not in self._table("scans") or int(scan_id) in taken:
                    raise Conflict("product_scans", ("scan_id",))
                if int(product_id) not in self._table("products"):
                    raise Conflict("product_scans", ("product_id",))
                self._insert("product_scans", {"scan_id": int(scan_id), "product_id": int(product_id)})
                taken.add(int(scan_id))
                n += 1
        return n

    def _product_scans(self, since, until, brands, retailers, categories, products):
        """Counted product scans in the window: ``(product_id, scan, store)``, filters on the store."""
        of_scan = {r["scan_id"]: r["product_id"] for r in list(self._table("product_scans").values())}
        wanted = None if not products else {int(p) for p in products}
        for scan, store in self._counted(since, until, brands, retailers, categories):
            product_id = of_scan.get(scan["id"])
            if product_id is not None and store is not None and (wanted is None or product_id in wanted):
                yield product_id, scan, store

    def product_scans_by_place(self, since=None, until=None, brands=None, retailers=None, categories=None,
                               products=None) -> list[ProductPlaceCount]:
        counts: dict[tuple, int] = {}
        for product_id, _, store in self._product_scans(since, until, brands, retailers, categories, products):
            key = (product_id, store["province"], store["city"], store["district"])
            counts[key] = counts.get(key, 0) + 1
        return [ProductPlaceCount(*key, n) for key, n in counts.items()]

    def product_scans_by_hour(self, since=None, until=None, brands=None, retailers=None, categories=None,
                              products=None) -> list[HourCount]:
        counts: dict[int, int] = {}
        for _, scan, _ in self._product_scans(since, until, brands, retailers, categories, products):
            hour = scan["scanned_at"] // 3600 * 3600
            counts[hour] = counts.get(hour, 0) + 1
        return [HourCount(h, n) for h, n in sorted(counts.items())]
