"""Products and their stock in stores: the SQL both backends share (a part of
:class:`o2o.storage.core.SqlRepository`, kept apart to keep each module short).

A product belongs to a retailer (``sku`` unique per retailer); a stock line says whether one store
has one product (``availability`` in :data:`AVAILABILITY`, optional ``quantity`` and store ``price``,
``updated_at``). Every write of either bumps the ``catalogue_rev`` counter in ``meta`` inside its
transaction, so each process's product index and stock masks learn of a change with one row's read
(as ``rev`` does for stores). A stock write also stamps each product it touched with that counter
(``stock_rev:{product id}`` in ``meta``), so a process's cached stores-with-the-product are read
again only when *that* product's stock moved (:meth:`ProductsSql.stock_marks`).
"""

from __future__ import annotations

from typing import Iterable

from .dialect import utc_now, valid_id
from .rows import HourCount, ProductPlaceCount

AVAILABILITY = ("in_stock", "limited", "out_of_stock")
PRODUCT_WRITABLE = ("sku", "title", "brand", "category", "price", "online_url", "gtin", "image_url")
PRODUCT_FIELDS = ("id", "retailer_id", *PRODUCT_WRITABLE, "created_at", "updated_at")
STOCK_FIELDS = ("store_id", "product_id", "availability", "quantity", "price", "updated_at")
CATALOGUE_REV_KEY = "catalogue_rev"
PRODUCTS_REV_KEY = "products_rev"       # products alone (the product search index follows it)
STOCK_REV_PREFIX = "stock_rev:"         # + a product id: the catalogue_rev of the last write of its stock
IN_STOCK = ("in_stock", "limited")      # what a shopper can find in the store


class ProductsSql:
    """Mixed into :class:`~o2o.storage.core.SqlRepository`: uses its primitives and dialect."""

    def _product_select(self) -> str:
        iso = self.dialect.iso
        return (f"SELECT id, retailer_id, {', '.join(PRODUCT_WRITABLE)}, {iso.format('created_at')} AS created_at,"
                f" {iso.format('updated_at')} AS updated_at FROM products")

    def _next_catalogue_rev(self, key: str = CATALOGUE_REV_KEY) -> int:
        row = self._execute(
            "INSERT INTO meta (key, value) VALUES (?, '1') ON CONFLICT (key) DO UPDATE"
            " SET value = CAST(CAST(meta.value AS bigint) + 1 AS text) RETURNING value",
            (key,)).fetchone()
        return int(row[0])

    def catalogue_rev(self) -> int:
        row = self._query("SELECT value FROM meta WHERE key = ?", (CATALOGUE_REV_KEY,), one=True)
        return int(row[0]) if row else 0

    def stock_marks(self, product_id: int) -> tuple[int, int, int]:
        """``(the product's stock_rev, rev, reset_rev)`` in one indexed read of ``meta``: what a cached
        list of the stores holding the product depends on (its stock lines; the stores' status)."""
        key = f"{STOCK_REV_PREFIX}{int(product_id)}"
        marks = dict(self._query("SELECT key, value FROM meta WHERE key IN ('rev', 'reset_rev', ?)", (key,)))
        return int(marks.get(key, 0)), int(marks.get("rev", 0)), int(marks.get("reset_rev", 0))

    def _mark_stock(self, rev: int, product_ids) -> None:
        """Inside the write's transaction: these products' stock changed at catalogue ``rev``."""
        if not product_ids:
            return
        self._executemany("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE"
                          " SET value = excluded.value",
                          [(f"{STOCK_REV_PREFIX}{int(p)}", str(rev)) for p in sorted(set(product_ids))])

    def catalogue_marks(self) -> tuple[int, int]:
        marks = dict(self._query("SELECT key, value FROM meta WHERE key IN (?, ?)",
                                 (CATALOGUE_REV_KEY, PRODUCTS_REV_KEY)))
        return int(marks.get(CATALOGUE_REV_KEY, 0)), int(marks.get(PRODUCTS_REV_KEY, 0))

    # -- products
    def upsert_products(self, retailer_id: int, rows: Iterable[dict]) -> int:
        now = utc_now()
        columns = ("retailer_id", *PRODUCT_WRITABLE, "created_at", "updated_at")
        sets = ", ".join(f"{c} = excluded.{c}" for c in PRODUCT_WRITABLE if c != "sku")
        sql = (f"INSERT INTO products ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
               f" ON CONFLICT (retailer_id, sku) DO UPDATE SET {sets}, updated_at = excluded.updated_at")
        records = [(int(retailer_id), *(r.get(c) for c in PRODUCT_WRITABLE), now, now) for r in rows]
        with self.transaction():
            self._next_catalogue_rev()
            self._next_catalogue_rev(PRODUCTS_REV_KEY)
            if records:
                self._executemany(sql, records)
        return len(records)

    def get_product(self, product_id: int) -> dict | None:
        if not valid_id(product_id):
            return None
        return self._query(self._product_select() + " WHERE id = ?", (int(product_id),), one=True, dicts=True)

    def get_products(self, product_ids: Iterable[int]) -> list[dict]:
        ids = [int(i) for i in product_ids if valid_id(i)]
        rows = {}
        for chunk in self.dialect.chunks(ids):
            where, params = self.dialect.in_list("id", chunk)
            rows.update((r["id"], r) for r in self._query(self._product_select() + " WHERE " + where, params, dicts=True))
        return [rows[i] for i in ids if i in rows]

    def list_products(self, retailer_id: int | None = None) -> list[dict]:
        if retailer_id is None:
            return self._query(self._product_select() + " ORDER BY id", dicts=True)
        return self._query(self._product_select() + " WHERE retailer_id = ? ORDER BY id", (int(retailer_id),),
                           dicts=True)

    def find_product_ids(self, retailer_id: int, skus: Iterable[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        for chunk in self.dialect.chunks(list(dict.fromkeys(skus))):
            where, params = self.dialect.in_list("sku", chunk)
            out.update(self._query(f"SELECT sku, id FROM products WHERE retailer_id = ? AND {where}",
                                   [int(retailer_id), *params]))
        return out

    def count_products(self) -> int:
        return self._query("SELECT count(*) FROM products", one=True)[0]

    # -- stock
    def set_stock(self, rows: Iterable[dict], replace_stores: Iterable[int] = ()) -> int:
        now = utc_now()
        lines = {(int(r["store_id"]), int(r["product_id"])): r for r in rows}  # the last line of a pair wins
        records = [(*key, r["availability"], r.get("quantity"), r.get("price"), r.get("updated_at") or now)
                   for key, r in lines.items()]
        sql = ("INSERT INTO stock (store_id, product_id, availability, quantity, price, updated_at)"
               " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (store_id, product_id) DO UPDATE SET"
               " availability = excluded.availability, quantity = excluded.quantity, price = excluded.price,"
               " updated_at = excluded.updated_at")
        with self.transaction():
            rev = self._next_catalogue_rev()
            replace = [int(s) for s in dict.fromkeys(replace_stores)]
            touched = {r[1] for r in records}
            for chunk in self.dialect.chunks(replace):
                where, params = self.dialect.in_list("store_id", chunk)
                touched.update(p for (p,) in self._query(f"SELECT DISTINCT product_id FROM stock WHERE {where}", params))
                self._execute(f"DELETE FROM stock WHERE {where}", params)
            if records:
                if len(records) > 1000 and {r[0] for r in records} <= set(replace):
                    self._insert_many("stock", STOCK_FIELDS, records)  # the lines were just emptied: no clash
                elif self.dialect.name == "postgis" and len(records) > 1000:
                    self._copy_upsert_stock(records)
                else:
                    self._executemany(sql, records)
            self._mark_stock(rev, touched)
        return len(records)

    def _copy_upsert_stock(self, records: list[tuple]) -> None:
        """PostgreSQL: ``COPY`` the lines into a temporary table, then one ``INSERT … ON CONFLICT``
        (an ``executemany`` of 200,000 upserts is 200,000 statements for the server to run)."""
        self._execute("CREATE TEMP TABLE stock_in (store_id bigint, product_id bigint, availability text,"
                      " quantity integer, price double precision, updated_at timestamptz) ON COMMIT DROP")
        self._insert_many("stock_in", STOCK_FIELDS, records)
        self._execute("INSERT INTO stock (store_id, product_id, availability, quantity, price, updated_at)"
                      " SELECT store_id, product_id, availability, quantity, price, updated_at FROM stock_in"
                      " ON CONFLICT (store_id, product_id) DO UPDATE SET availability = excluded.availability,"
                      " quantity = excluded.quantity, price = excluded.price, updated_at = excluded.updated_at")

    def insert_stock(self, rows: Iterable[tuple]) -> int:
        touched: set[int] = set()

        def noted():
            for row in rows:
                touched.add(row[1])
                yield row

        with self.transaction():
            rev = self._next_catalogue_rev()
            n = self._insert_many("stock", STOCK_FIELDS, noted())
            self._mark_stock(rev, touched)
        return n

    def _stock_select(self) -> str:
        return (f"SELECT store_id, product_id, availability, quantity, price,"
                f" {self.dialect.iso.format('updated_at')} AS updated_at FROM stock")

    def stock_of_product(self, product_id: int, availability: Iterable[str] | None = None) -> list[dict]:
        if not valid_id(product_id):
            return []
        sql, params = self._stock_select() + " WHERE product_id = ?", [int(product_id)]
        if availability is not None:
            where, p = self.dialect.in_list("availability", list(availability))
            sql, params = f"{sql} AND {where}", params + p
        return self._query(sql + " ORDER BY store_id", params, dicts=True)

    def stocked_stores(self, product_id: int) -> list[tuple]:
        if not valid_id(product_id):
            return []
        where, params = self.dialect.in_list("st.availability", list(IN_STOCK))
        return [tuple(r) for r in self._query(
            "SELECT s.id, s.lon, s.lat, st.availability, st.quantity, st.price,"
            f" {self.dialect.iso.format('st.updated_at')} FROM stock st JOIN stores s ON s.id = st.store_id"
            f" WHERE st.product_id = ? AND {where} AND s.status = 'open' ORDER BY s.id", [int(product_id), *params])]

    def stock_of_store(self, store_id: int) -> list[dict]:
        if not valid_id(store_id):
            return []
        return self._query(self._stock_select() + " WHERE store_id = ? ORDER BY product_id", (int(store_id),),
                           dicts=True)

    def count_stock(self) -> int:
        return self._query("SELECT count(*) FROM stock", one=True)[0]

    # -- scans of a product
    def record_product_scan(self, store: dict, product_id: int, scanned_at: int, client_kind: str,
                            client_hash: str, dedup_window_s: int) -> bool | None:
        last_id = "last_insert_rowid()" if self.dialect.name == "sqlite" else "lastval()"
        with self.transaction():
            counted = self.record_scan(store, scanned_at, client_kind, client_hash, dedup_window_s)
            if counted is not None:  # the scan's id: the last this connection made, inside this transaction
                self._execute(f"INSERT INTO product_scans (scan_id, product_id) SELECT {last_id}, ?", (int(product_id),))
        return counted

    def product_scan_counts(self) -> dict[int, int]:
        return {int(p): int(n) for p, n in self._query(
            f"SELECT ps.product_id, count(*) FROM product_scans ps JOIN scans s ON s.id = ps.scan_id"
            f" WHERE s.counted = {self.dialect.true} GROUP BY ps.product_id")}

    def insert_product_scans(self, rows: Iterable[tuple]) -> int:
        with self.transaction():
            return self._insert_many("product_scans", ("scan_id", "product_id"), rows)

    def _product_scan_where(self, since, until, brands, retailers, categories, products) -> tuple[str, list]:
        where, params = self._window(since, until, "sc.")
        flt, fparams = self._filters(brands, retailers, categories)
        if products:
            pw, pparams = self.dialect.in_list("ps.product_id", [int(p) for p in products])
            flt, fparams = f"{flt} AND {pw}", fparams + pparams
        return f"{where}{flt}", params + fparams

    def product_scans_by_place(self, since=None, until=None, brands=None, retailers=None, categories=None,
                               products=None) -> list[ProductPlaceCount]:
        where, params = self._product_scan_where(since, until, brands, retailers, categories, products)
        return [ProductPlaceCount._make(r) for r in self._query(
            "SELECT ps.product_id, s.province, s.city, s.district, count(*) FROM product_scans ps"
            " JOIN scans sc ON sc.id = ps.scan_id JOIN stores s ON s.id = sc.store_id"
            f" JOIN retailers r ON r.id = s.retailer_id WHERE {where}"
            " GROUP BY ps.product_id, s.province, s.city, s.district", params)]

    def product_scans_by_hour(self, since=None, until=None, brands=None, retailers=None, categories=None,
                              products=None) -> list[HourCount]:
        where, params = self._product_scan_where(since, until, brands, retailers, categories, products)
        return [HourCount._make(r) for r in self._query(
            f"SELECT {self.dialect.hour.format('sc.scanned_at')} AS hour, count(*) FROM product_scans ps"
            " JOIN scans sc ON sc.id = ps.scan_id JOIN stores s ON s.id = sc.store_id"
            f" JOIN retailers r ON r.id = s.retailer_id WHERE {where} GROUP BY 1 ORDER BY 1", params)]
