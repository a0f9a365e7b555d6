"""The in-memory fake's searches and demand (a part of :class:`o2o.storage.memory.MemoryRepository`,
kept apart to keep each module short; the SQL backends' is :mod:`.demand`)."""

from __future__ import annotations

from typing import Iterable, Iterator

from .demand import SEARCH_COLUMNS, SEARCH_FIELDS, parent_bits, unmet


class MemoryDemand:
    """Mixed into :class:`~o2o.storage.memory.MemoryRepository`: uses its tables and ``_db``."""

    def insert_searches(self, rows: Iterable[tuple]) -> int:
        with self.transaction():
            table = self._table("searches")
            next_id = max(table, default=0) + 1
            n = 0
            for row in rows:
                table[next_id] = {"id": next_id, **dict(zip(SEARCH_COLUMNS, row))}
                next_id += 1
                n += 1
            return n

    def count_searches(self) -> int:
        return len(self._table("searches"))

    def _searches(self, since, until, brands, categories, product_id) -> list[dict]:
        out = []
        for s in list(self._table("searches").values()):
            if s["h3"] is None or (since is not None and s["searched_at"] < since) \
                    or (until is not None and s["searched_at"] >= until) \
                    or (brands and s["brand"] not in brands) or (categories and s["category"] not in categories) \
                    or (product_id is not None and s["product_id"] != int(product_id)):
                continue
            out.append(s)
        return out

    def _demand_by(self, key, rows) -> list[tuple[int, int, int]]:
        counts: dict[int, list[int]] = {}
        for s in rows:
            c = counts.setdefault(key(s), [0, 0])
            c[0] += 1
            c[1] += int(unmet(s["nearest_m"]))
        return [(k, n, u) for k, (n, u) in counts.items()]

    def demand_cells(self, res: int, since=None, until=None, brands=None, categories=None,
                     product_id=None) -> list[tuple[int, int, int]]:
        a, o = parent_bits(res)
        return self._demand_by(lambda s: (int(s["h3"]) & a) | o,
                               self._searches(since, until, brands, categories, product_id))

    def demand_by_hour(self, since=None, until=None, brands=None, categories=None,
                       product_id=None) -> list[tuple[int, int, int]]:
        return sorted(self._demand_by(lambda s: (int(s["searched_at"]) // 3600) * 3600,
                                      self._searches(since, until, brands, categories, product_id)))

    def search_batches(self, batch_size: int = 500_000, after_id: int = 0) -> Iterator[list[tuple]]:
        rows = [tuple(s[f] for f in SEARCH_FIELDS) for _, s in sorted(self._table("searches").items())
                if s["id"] > after_id]
        for start in range(0, len(rows), batch_size):
            yield rows[start:start + batch_size]

    def purge_searches(self, before: int) -> int:
        with self.transaction():
            table = self._table("searches")
            old = [i for i, s in table.items() if s["searched_at"] < int(before)]
            for i in old:
                del table[i]
            return len(old)
