"""The open stores that hold a product, in memory: compact, exact and fresh.

A product's stocked stores (open, ``in_stock`` or ``limited``) are read with one join
(:meth:`~o2o.storage.base.Products.stocked_stores`) and kept as columns: store ids (``int64``,
ascending), coordinates (``float64``: distances are the same as the database's values give), the
stock word as an ``int8`` code, the quantity (``int64``; a sentinel for none), the store's price
(``float64``; NaN for none) and the update time as an ``int32`` code into the few distinct times of
that product's lines. About 45 bytes a line instead of ~300 as Python tuples; the tuple a caller
sees is built only for the ``k`` stores an answer returns.

Fresh: before each answer one read of ``meta`` (:meth:`~o2o.storage.base.Products.stock_marks`)
gives the product's own stock mark (it moves with every write of one of its stock lines, on any
worker) and the stores' revision (a store closed or moved). A product whose mark moved is read
again; the others stay cached, so a busy stock feed re-reads only the products it touches.

Exact: the great-circle distance (:func:`o2o.geo.distance.haversine_m`) to every stocked store,
then the ``k`` smallest, ties by store id (a partial sort: ``np.partition`` for the k-th distance,
then an exact sort of the few at or below it).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from ..geo.distance import haversine_m
from ..storage.base import StoreRepository

AVAILABILITY_CODES = ("in_stock", "limited", "out_of_stock")
_CODE = {word: i for i, word in enumerate(AVAILABILITY_CODES)}
NO_QUANTITY = np.iinfo(np.int64).min
MAX_CACHED_PRODUCTS = 512
MAX_CACHED_LINES = 2_000_000   # ~90 MB of columns at most per process


@dataclass(frozen=True)
class StockedStores:
    """One product's stocked open stores as columns, by store id."""

    ids: np.ndarray            # int64
    lon: np.ndarray            # float64
    lat: np.ndarray            # float64
    availability: np.ndarray   # int8: index into AVAILABILITY_CODES
    quantity: np.ndarray       # int64: NO_QUANTITY for none
    price: np.ndarray          # float64: NaN for none
    stamp: np.ndarray          # int32: index into stamps
    stamps: tuple              # the distinct updated_at texts

    @classmethod
    def from_rows(cls, rows: list[tuple]) -> StockedStores:
        """From ``(store_id, lon, lat, availability, quantity, price, updated_at)`` rows, by store id."""
        n = len(rows)
        stamps: dict[str, int] = {}
        cols = list(zip(*rows)) if n else [()] * 7
        return cls(
            ids=np.fromiter(cols[0], dtype=np.int64, count=n),
            lon=np.fromiter(cols[1], dtype=np.float64, count=n),
            lat=np.fromiter(cols[2], dtype=np.float64, count=n),
            availability=np.fromiter((_CODE[a] for a in cols[3]), dtype=np.int8, count=n),
            quantity=np.fromiter((NO_QUANTITY if q is None else q for q in cols[4]), dtype=np.int64, count=n),
            price=np.fromiter((np.nan if p is None else p for p in cols[5]), dtype=np.float64, count=n),
            stamp=np.fromiter((stamps.setdefault(t, len(stamps)) for t in cols[6]), dtype=np.int32, count=n),
            stamps=tuple(stamps))

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def nbytes(self) -> int:
        """The columns' bytes (the distinct times' text not counted: a few per product)."""
        return sum(a.nbytes for a in (self.ids, self.lon, self.lat, self.availability, self.quantity, self.price,
                                      self.stamp))

    def row(self, i: int) -> tuple:
        """Line ``i`` as :meth:`~o2o.storage.base.Products.stocked_stores` gives it."""
        quantity, price = int(self.quantity[i]), float(self.price[i])
        return (int(self.ids[i]), float(self.lon[i]), float(self.lat[i]), AVAILABILITY_CODES[self.availability[i]],
                None if quantity == NO_QUANTITY else quantity, None if price != price else price,
                self.stamps[self.stamp[i]])

    def nearest(self, lon: float, lat: float, k: int, radius_m: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(positions, metres) of the ``k`` nearest lines within ``radius_m``, nearest first, ties by id."""
        if not len(self.ids) or k <= 0:
            return np.zeros(0, dtype=np.intp), np.zeros(0)
        dist = haversine_m(lon, lat, self.lon, self.lat)
        candidates = np.arange(len(dist)) if radius_m is None else np.flatnonzero(dist <= radius_m)
        if len(candidates) > k:
            kth = np.partition(dist[candidates], k - 1)[k - 1]
            candidates = candidates[dist[candidates] <= kth]   # every tie at the k-th distance stays
        order = candidates[np.lexsort((self.ids[candidates], dist[candidates]))][:k]
        return order, dist[order]


class StockCache:
    """One process's stocked stores per product, least recently used out (thread-safe)."""

    def __init__(self, max_products: int = MAX_CACHED_PRODUCTS, max_lines: int = MAX_CACHED_LINES):
        self._lock = threading.Lock()
        self._cached: OrderedDict[int, tuple[tuple, StockedStores]] = OrderedDict()
        self._lines = 0
        self.max_products, self.max_lines = max_products, max_lines
        self.reads = 0   # how many times a product's stores were read from the database

    def clear(self) -> None:
        with self._lock:
            self._cached.clear()
            self._lines = 0

    def __len__(self) -> int:
        return len(self._cached)

    @property
    def lines(self) -> int:
        return self._lines

    def get(self, repo: StoreRepository, product_id: int) -> StockedStores:
        """The product's stocked open stores, read again only if its stock or the stores changed."""
        marks = repo.stock_marks(product_id)
        with self._lock:
            hit = self._cached.get(product_id)
            if hit is not None and hit[0] == marks:
                self._cached.move_to_end(product_id)
                return hit[1]
        stocked = StockedStores.from_rows(repo.stocked_stores(product_id))
        with self._lock:
            self.reads += 1
            old = self._cached.pop(product_id, None)
            if old is not None:
                self._lines -= len(old[1])
            self._cached[product_id] = (marks, stocked)
            self._lines += len(stocked)
            while len(self._cached) > 1 and (len(self._cached) > self.max_products or self._lines > self.max_lines):
                _, (_, gone) = self._cached.popitem(last=False)
                self._lines -= len(gone)
        return stocked

    def nearest(self, repo: StoreRepository, product_id: int, lon: float, lat: float, k: int = 20,
                radius_m: float | None = None) -> list[tuple[int, float, tuple]]:
        """``(store_id, distance_m, stock row)`` of the ``k`` nearest open stores with the product in
        stock or limited, nearest first (ties by id), within ``radius_m``."""
        stocked = self.get(repo, product_id)
        positions, dist = stocked.nearest(lon, lat, k, radius_m)
        return [(int(stocked.ids[i]), float(d), stocked.row(i)) for i, d in zip(positions.tolist(), dist.tolist())]
