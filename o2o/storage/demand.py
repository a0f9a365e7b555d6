"""Shoppers' searches, kept privately, and the demand read over them: the SQL both backends share
(a part of :class:`o2o.storage.core.SqlRepository`, kept apart to keep each module short).

A search row holds what was looked for and how it went, never who looked: the time (UTC epoch
seconds), the H3 cell at resolution 9 of the point searched from (about 0.1 km², never the point),
the kind (``nearby``, ``products``, ``product_nearby``, ``places``), the words, the brand,
category and product it was for, the other filters (JSON), how many results came back and the
distance to the nearest match (null: none). No address, browser, cookie or coordinate.

Cells are stored as their 64-bit H3 index (below 2**63, so a signed ``bigint``/``INTEGER``). A
cell's parent at a coarser resolution is pure bit arithmetic on that integer (the resolution
field set, the finer digits set to 7), so the demand map at any resolution 3–9 is one
``GROUP BY`` in SQL, on SQLite and PostgreSQL alike (:func:`parent_bits`).
"""

from __future__ import annotations

from typing import Iterable, Iterator

SEARCH_FIELDS = ("id", "searched_at", "h3", "kind", "words", "brand", "category", "product_id", "filters",
                 "results", "nearest_m")
SEARCH_COLUMNS = SEARCH_FIELDS[1:]
SEARCH_KINDS = ("nearby", "products", "product_nearby", "places")
UNMET_M = 5000.0      # a search whose nearest match is farther than this (or absent) is unmet
CELL_RES = 9          # the resolution searches are kept at


def parent_bits(res: int) -> tuple[int, int]:
    """``(and_mask, or_bits)`` with ``(cell & and_mask) | or_bits`` = the cell's parent at ``res``
    (for cells at ``res`` or finer), both signed 64-bit integers.

    >>> a, o = parent_bits(7)
    >>> hex((0x89309a4b4c3ffff & a) | o)   # a resolution-9 cell → its resolution-7 parent
    '0x87309a4b4ffffff'
    """
    res = int(res)
    if not 0 <= res <= 15:
        raise ValueError("res must be an H3 resolution, 0–15")
    and_mask = ~(0xF << 52)
    or_bits = (res << 52) | ((1 << (3 * (15 - res))) - 1)
    return and_mask, or_bits


def parent_cells(cells, res: int):
    """:func:`parent_bits` over a numpy array of uint64 cells (vectorised)."""
    import numpy as np

    a, o = parent_bits(res)
    cells = np.asarray(cells, dtype=np.uint64)
    return (cells & np.uint64(a & 0xFFFFFFFFFFFFFFFF)) | np.uint64(o)


def sum_by_parent(rows, res: int) -> list[tuple[int, int, int]]:
    """``(cell, searches, unmet)`` rows of finer cells → the same per parent cell at ``res``."""
    import numpy as np

    if not rows:
        return []
    cells = np.fromiter((r[0] for r in rows), dtype=np.uint64, count=len(rows))
    counts = np.array([(r[1], r[2]) for r in rows], dtype=np.int64).reshape(-1, 2)
    parents, inverse = np.unique(parent_cells(cells, res), return_inverse=True)
    searches = np.bincount(inverse, weights=counts[:, 0], minlength=len(parents)).astype(np.int64)
    missed = np.bincount(inverse, weights=counts[:, 1], minlength=len(parents)).astype(np.int64)
    return list(zip(parents.tolist(), searches.tolist(), missed.tolist()))


def unmet(nearest_m) -> bool:
    """Whether a search went unmet: no match, or the nearest farther than :data:`UNMET_M`."""
    return nearest_m is None or nearest_m > UNMET_M


class DemandSql:
    """Mixed into :class:`~o2o.storage.core.SqlRepository`: uses its primitives and dialect."""

    def insert_searches(self, rows: Iterable[tuple]) -> int:
        with self.transaction():
            return self._insert_many("searches", SEARCH_COLUMNS, rows)

    def count_searches(self) -> int:
        return self._query("SELECT count(*) FROM searches", one=True)[0]

    def _search_where(self, since=None, until=None, brands=None, categories=None, product_id=None,
                      located: bool = True) -> tuple[str, list]:
        sql, params = (["h3 IS NOT NULL"] if located else ["1 = 1"]), []
        if since is not None:
            sql.append("searched_at >= ?")
            params.append(int(since))
        if until is not None:
            sql.append("searched_at < ?")
            params.append(int(until))
        for column, values in (("brand", brands), ("category", categories)):
            if values:
                where, p = self.dialect.in_list(column, list(values))
                sql.append(where)
                params += p
        if product_id is not None:
            sql.append("product_id = ?")
            params.append(int(product_id))
        return " AND ".join(sql), params

    def demand_cells(self, res: int, since=None, until=None, brands=None, categories=None,
                     product_id=None) -> list[tuple[int, int, int]]:
        # From this repository's columnar copy of the searches, topped up by id and checked against
        # count(*) at each read (o2o.storage.demand_columns); equal to demand_cells_sql.
        from .demand_columns import SearchColumns

        parent_bits(res)  # checks res
        copy = self.__dict__.get("_search_columns")
        if copy is None:
            copy = self.__dict__.setdefault("_search_columns", SearchColumns())
        with copy.lock:
            copy.refresh(self)
            return copy.cells(res, since, until, brands, categories, product_id)

    def _search_column_pages(self, after_id: int, size: int) -> Iterator[list[tuple]]:
        from .demand_columns import COLUMNS

        yield from self._pages(f"SELECT {COLUMNS} FROM searches WHERE id > ? ORDER BY id LIMIT ?", size, after_id,
                               batches=True)

    def demand_cells_sql(self, res: int, since=None, until=None, brands=None, categories=None,
                         product_id=None) -> list[tuple[int, int, int]]:
        # Per resolution-9 cell in SQL, in the order of the covering index (h3, nearest_m): no sort;
        # then the cells' parents summed here, vectorised (a parent's children are far fewer rows
        # than its searches: a sort of every search by an expression is what this avoids).
        # With a brand, category or product, a scan of the table beats walking the whole index and
        # looking each row up: ``+h3`` keeps the index out of it (the filtered rows are sorted).
        parent_bits(res)  # checks res
        where, params = self._search_where(since, until, brands, categories, product_id)
        cell = "+h3" if (brands or categories or product_id is not None) else "h3"
        rows = self._query(
            f"SELECT {cell}, count(*), sum(CASE WHEN nearest_m IS NULL OR nearest_m > ? THEN 1 ELSE 0 END)"
            f" FROM searches WHERE {where} GROUP BY 1", [UNMET_M, *params])
        return sum_by_parent(rows, res)

    def demand_by_hour(self, since=None, until=None, brands=None, categories=None,
                       product_id=None) -> list[tuple[int, int, int]]:
        where, params = self._search_where(since, until, brands, categories, product_id)
        rows = self._query(
            "SELECT (searched_at / 3600) * 3600, count(*), sum(CASE WHEN nearest_m IS NULL OR nearest_m > ?"
            f" THEN 1 ELSE 0 END) FROM searches WHERE {where} GROUP BY 1 ORDER BY 1", [UNMET_M, *params])
        return [(int(h), int(n), int(u)) for h, n, u in rows]

    def search_batches(self, batch_size: int = 500_000, after_id: int = 0) -> Iterator[list[tuple]]:
        for rows in self._pages(f"SELECT {', '.join(SEARCH_FIELDS)} FROM searches WHERE id > ? ORDER BY id LIMIT ?",
                                batch_size, after_id, batches=True):
            yield [tuple(r) for r in rows]

    def purge_searches(self, before: int) -> int:
        self.__dict__.pop("_search_columns", None)  # read afresh (other repositories see count(*) fall)
        with self.transaction():
            return self._execute("DELETE FROM searches WHERE searched_at < ?", (int(before),)).rowcount
