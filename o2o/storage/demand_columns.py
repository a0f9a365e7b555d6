"""A columnar copy of the searches, kept in memory by each repository object, so that demand at
any resolution is a few numpy passes rather than a ``GROUP BY`` over every search (a part of
:mod:`o2o.storage.demand`, kept apart to keep each module short).

The copy holds, per located search: the time, the resolution-9 cell (an index into the distinct
cells searched from), codes of the brand and the category, the product (``NO_PRODUCT`` for none)
and whether it went unmet — about 30 bytes a search (30 MB at 1,000,000). Demand is then one
``bincount`` over the searches kept by the filters and a sort of the cells, not of the searches.
It is built on first use from pages of rows in id order and, at each read, topped up with the
rows after the last id it holds (``WHERE id > ?``: an index range, cheap).

It stays equal to the table: every read compares the number of rows the copy has seen (located or
not) with ``count(*)`` of the table; fewer rows in the table (a purge, a rolled-back insert, any
delete) or more even after a second top-up (a row with a lower id committed late, PostgreSQL) and
the copy is rebuilt. A purge
through the same repository drops the copy at once. Rows are never updated in place.
"""

from __future__ import annotations

import threading

import numpy as np

from .demand import UNMET_M, parent_cells

NO_PRODUCT = np.iinfo(np.int64).min
COLUMNS = "id, searched_at, h3, brand, category, product_id, nearest_m"
PAGE = 200_000


class SearchColumns:
    """The copy of one database's searches; :meth:`cells` answers ``demand_cells`` from it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self.last_id = 0
        self.rows_seen = 0            # rows read so far, located or not (compared with count(*))
        self.codes: dict[str, dict[str, int]] = {"brand": {}, "category": {}}
        self.cell_index: dict[int, int] = {}      # a resolution-9 cell → its place in ``distinct``
        self.distinct = np.empty(0, np.uint64)      # the distinct cells, in the order first seen
        self.at = np.empty(0, np.int64)
        self.cell = np.empty(0, np.int32)        # each search's place in ``distinct``
        self.brand = np.empty(0, np.int32)
        self.category = np.empty(0, np.int32)
        self.product = np.empty(0, np.int64)
        self.unmet = np.empty(0, bool)

    def _append(self, rows: list[tuple]) -> None:
        self.rows_seen += len(rows)
        self.last_id = int(rows[-1][0])
        rows = [r for r in rows if r[2] is not None]
        if not rows:
            return
        _, at, h3, brand, category, product, nearest = zip(*rows)
        code_b, code_c, index = self.codes["brand"], self.codes["category"], self.cell_index
        seen = len(index)
        cell = np.array([index.setdefault(c, len(index)) for c in h3], dtype=np.int32)
        if len(index) > seen:
            new_cells = np.array(list(index)[seen:], dtype=np.int64).view(np.uint64)
            self.distinct = np.concatenate([self.distinct, new_cells])
        near = np.array([np.nan if m is None else m for m in nearest], dtype=np.float64)
        parts = {
            "at": np.array(at, dtype=np.int64),
            "cell": cell,
            "brand": np.array([-1 if b is None else code_b.setdefault(b, len(code_b)) for b in brand], np.int32),
            "category": np.array([-1 if c is None else code_c.setdefault(c, len(code_c)) for c in category],
                                 np.int32),
            "product": np.array([NO_PRODUCT if p is None else p for p in product], dtype=np.int64),
            "unmet": np.isnan(near) | (near > UNMET_M),
        }
        for name, new in parts.items():
            setattr(self, name, np.concatenate([getattr(self, name), new]))

    def refresh(self, repo) -> None:
        """Top the copy up from ``repo`` (rebuilt when the table lost rows or gained earlier ones)."""
        self._top_up(repo)
        total = repo.count_searches()
        if total > self.rows_seen:  # rows written since the top-up, most likely: once more
            self._top_up(repo)
            total = repo.count_searches()
        if total != self.rows_seen:  # rows deleted (a purge), or committed late under a lower id
            self._reset()
            self._top_up(repo)

    def _top_up(self, repo) -> None:
        for rows in repo._search_column_pages(self.last_id, PAGE):
            self._append(rows)

    def cells(self, res: int, since=None, until=None, brands=None, categories=None,
              product_id=None) -> list[tuple[int, int, int]]:
        keep = None

        def both(mask):
            return mask if keep is None else keep & mask

        if since is not None:
            keep = both(self.at >= int(since))
        if until is not None:
            keep = both(self.at < int(until))
        for name, values in (("brand", brands), ("category", categories)):
            if values:
                codes = [self.codes[name][v] for v in values if v in self.codes[name]]
                keep = both(np.isin(getattr(self, name), np.array(codes, dtype=np.int32)))
        if product_id is not None:
            keep = both(self.product == int(product_id))
        cell, unmet = (self.cell, self.unmet) if keep is None else (self.cell[keep], self.unmet[keep])
        if not len(cell):
            return []
        # per resolution-9 cell first (a bincount over the searches), then per parent over the
        # cells searched from (far fewer than the searches: their sort is cheap)
        searches = np.bincount(cell, minlength=len(self.distinct))
        missed = np.bincount(cell[unmet], minlength=len(self.distinct))
        some = np.flatnonzero(searches)
        parents, inverse = np.unique(parent_cells(self.distinct[some], res), return_inverse=True)
        return list(zip(parents.tolist(), np.bincount(inverse, weights=searches[some]).astype(np.int64).tolist(),
                        np.bincount(inverse, weights=missed[some]).astype(np.int64).tolist()))
