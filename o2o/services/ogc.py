"""OGC API – Features (Part 1: Core): what the collections hold, and pages of their items.

Pure use cases over what a process already keeps in memory: the stores come from the spatial
index (:class:`o2o.geo.index.StoreIndex`: ids and positions of every open store), ordered by id
so that ``offset`` paging is stable; their Features come from the app's feature cache, like a
``nearby`` answer. The web layer (:mod:`o2o.web.ogc`) adds the links and the formats.

Products have no position of their own (a product is in many stores): they are published as the
``products`` collection of Features whose ``geometry`` is ``null`` (allowed by the standard and
read by GDAL and OWSLib), paged by id; a ``bbox`` matches none of them, as a feature without a
geometry intersects no box.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from ..geo.index import Filters, StoreIndex

WORLD = (-180.0, -90.0, 180.0, 90.0)
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
]
MAX_LIMIT = 1000
DEFAULT_LIMIT = 10


@dataclass(frozen=True)
class Page:
    """One page of a collection's items: the ids on it, and how many match in all."""
    ids: list[int]
    matched: int
    offset: int
    limit: int

    @property
    def has_next(self) -> bool:
        return self.offset + len(self.ids) < self.matched

    @property
    def has_prev(self) -> bool:
        return self.offset > 0


class StorePages:
    """Open store ids in id order, per bbox and filters, from the index (one process's copy).

    The whole world's ordered ids are kept for the index's revision, so paging through every
    store (what GDAL and QGIS do) sorts once, not once per page.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._key = None
        self._all: np.ndarray | None = None
        self._extent: tuple | None = None

    def _world(self, index: StoreIndex, revision) -> np.ndarray:
        with self._lock:
            if self._key == revision and self._all is not None:
                return self._all
        ids, lon, lat = index.in_bbox(*WORLD)
        ordered = np.sort(ids)
        extent = ((float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max()))
                  if len(ids) else None)
        with self._lock:
            self._key, self._all, self._extent = revision, ordered, extent
        return ordered

    def extent(self, index: StoreIndex, revision) -> tuple | None:
        """``(min_lon, min_lat, max_lon, max_lat)`` of the open stores, None when there are none."""
        self._world(index, revision)
        return self._extent

    def page(self, index: StoreIndex, revision, bbox: tuple | None = None, filters: Filters = Filters(),
             offset: int = 0, limit: int = DEFAULT_LIMIT) -> Page:
        """The open stores inside ``bbox`` (all of them without one) matching ``filters``, by id,
        ``limit`` of them from ``offset``."""
        if bbox is None and filters.is_empty():
            ordered = self._world(index, revision)
        else:
            ids, _, _ = index.in_bbox(*(bbox or WORLD), filters=filters)
            ordered = np.sort(ids)
        return Page(ordered[offset:offset + limit].tolist(), int(len(ordered)), offset, limit)

    def contains(self, index: StoreIndex, store_id: int) -> bool:
        return store_id in index


def page_of(items: list, offset: int, limit: int) -> Page:
    """A page of a list already in order (the products, by id)."""
    return Page(items[offset:offset + limit], len(items), offset, limit)


class ProductList:
    """Every product in id order with its retailer's name, kept until the catalogue changes
    (its counter: :meth:`o2o.storage.base.Products.catalogue_marks`)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._rev = None
        self._products: list[dict] = []
        self._by_id: dict[int, dict] = {}

    def get(self, repo) -> tuple[list[dict], dict[int, dict]]:
        _, products_rev = repo.catalogue_marks()
        with self._lock:
            if self._rev == products_rev:
                return self._products, self._by_id
        retailers = {r["id"]: r["name"] for r in repo.list_retailers()}
        products = []
        for p in repo.list_products():
            p = dict(p)
            p["retailer"] = retailers.get(p.get("retailer_id"))
            products.append(p)
        products.sort(key=lambda p: p["id"])
        by_id = {p["id"]: p for p in products}
        with self._lock:
            self._rev, self._products, self._by_id = products_rev, products, by_id
        return products, by_id
