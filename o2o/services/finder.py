"""Finding stores: nearby, in a map viewport, by id, by brand."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from slugify import slugify

from ..geo.clustering import cluster_points
from ..geo.index import Filters, StoreIndex
from ..storage.base import StoreRepository

MAX_VIEWPORT_FEATURES = 500


@dataclass(frozen=True)
class NearbyQuery:
    lon: float
    lat: float
    k: int = 20
    radius_m: float | None = None
    filters: Filters = field(default_factory=Filters)
    text: str | None = None         # words to search for (o2o.search): names, brands, places …


@dataclass
class NearbyResult:
    stores: list[dict]              # each with distance_m, nearest first
    nearest: dict | None = None     # set when a radius left no store: the nearest one anywhere
    place: object | None = None     # the place a text search named (o2o.search.places.Place)


def find_nearby(repo: StoreRepository, index: StoreIndex, query: NearbyQuery, search=None) -> NearbyResult:
    """The ``k`` nearest open stores matching the filters, within ``radius_m`` if given.

    With ``query.text``, the text search of ``search`` (a :class:`o2o.search.index.SearchIndex`)
    chooses and orders the stores: those holding every word first, then the nearest (from the
    named place's centre when the words name a place the shopper is not in).

    When the radius holds none, :attr:`NearbyResult.nearest` names the nearest matching store
    at any distance, so a shopper is never left with an empty answer and no way on.
    """
    if query.text:
        if search is None:
            raise ValueError("a text search needs the search index")
        return _search_nearby(repo, search, query)
    ids, dist, fallback = nearby_ids(index, query)
    stores = _with_distance(repo, ids, dist)
    nearest = None
    if fallback is not None:
        found = _with_distance(repo, *fallback)
        nearest = found[0] if found else None
    return NearbyResult(stores, nearest)


def nearby_ids(index: StoreIndex, query: NearbyQuery):
    """``(ids, distances_m, fallback)``: the index's answer, and when a radius holds no store,
    ``fallback = (ids, distances_m)`` of the nearest matching store at any distance."""
    ids, dist = index.nearest(query.lon, query.lat, k=query.k, radius_m=query.radius_m,
                              filters=query.filters)
    fallback = None
    if len(ids) == 0 and query.radius_m is not None:
        fallback = index.nearest(query.lon, query.lat, k=1, filters=query.filters)
    return ids, dist, fallback


def search_ids(search, query: NearbyQuery):
    """The text search's answer as ids and distances (an :class:`o2o.search.index.SearchResult`)."""
    return search.search(query.lon, query.lat, query.text, k=query.k, radius_m=query.radius_m,
                         filters=query.filters)


def _search_nearby(repo: StoreRepository, search, query: NearbyQuery) -> NearbyResult:
    found = search_ids(search, query)
    stores = _with_distance(repo, found.ids, found.distance_m)
    nearest = None
    if found.fallback is not None:
        got = _with_distance(repo, *found.fallback)
        nearest = got[0] if got else None
    return NearbyResult(stores, nearest, place=found.place)


def _with_distance(repo: StoreRepository, ids, dist) -> list[dict]:
    records = {s["id"]: s for s in repo.get_stores(ids.tolist())}
    out = []
    for sid, d in zip(ids.tolist(), dist.tolist()):
        store = records.get(sid)
        if store is not None and store["status"] == "open":
            store["distance_m"] = round(d, 1)
            out.append(store)
    return out


@dataclass
class ViewResult:
    stores: list[dict]
    clusters: list[dict]            # {"lon", "lat", "count", "bbox": [w, s, e, n]}
    total: int                      # open stores in the viewport matching the filters


def zoom_for_bbox(min_lon: float, min_lat: float, max_lon: float, max_lat: float) -> float:
    """The Web Mercator zoom at which a 1024-pixel-wide map shows this box (when none is given)."""
    width = max(max_lon - min_lon, 1e-9)
    return max(0.0, min(22.0, math.log2(360.0 / width * 4)))


def ids_in_view(index: StoreIndex, bbox: tuple[float, float, float, float], zoom: float | None = None,
                filters: Filters = Filters(), max_features: int = MAX_VIEWPORT_FEATURES):
    """``(single store ids, clusters, total)`` for a viewport; see :func:`stores_in_view`."""
    ids, lon, lat = index.in_bbox(*bbox, filters=filters)
    if zoom is None:
        zoom = zoom_for_bbox(*bbox)
    groups = cluster_points(lon, lat, zoom, max_features=max_features)
    singles = np.sort(ids[groups.singles], kind="stable")
    clusters = [
        {"lon": float(x), "lat": float(y), "count": int(c), "bbox": [float(v) for v in b]}
        for x, y, c, b in zip(groups.lon, groups.lat, groups.count, groups.bbox)
    ]
    return singles, clusters, int(len(ids))


def stores_in_view(repo: StoreRepository, index: StoreIndex, bbox: tuple[float, float, float, float],
                   zoom: float | None = None, filters: Filters = Filters(),
                   max_features: int = MAX_VIEWPORT_FEATURES) -> ViewResult:
    """Open stores in a viewport, grouped into clusters where dense; never over ``max_features``."""
    singles, clusters, total = ids_in_view(index, bbox, zoom, filters, max_features)
    stores = [s for s in repo.get_stores(singles.tolist()) if s["status"] == "open"]
    return ViewResult(stores, clusters, total)


def list_brands(repo: StoreRepository) -> list[dict]:
    """Every brand with its slug and number of open stores, most stores first."""
    rows = [{"name": name, "slug": brand_slug(name), "stores": n} for name, n in repo.brand_counts()]
    return sorted(rows, key=lambda r: (-r["stores"], r["name"]))


def brand_slug(name: str) -> str:
    """URL slug of a brand name: ``Marks & Spencer`` → ``marks-spencer``."""
    return slugify(name) or slugify(name, allow_unicode=True) or "brand"


def brand_by_slug(repo: StoreRepository, slug: str) -> dict | None:
    for brand in list_brands(repo):
        if brand["slug"] == slug:
            return brand
    return None


@dataclass
class BrandStores:
    brand: dict                     # name, slug, stores (open)
    stores: list[dict]              # the brand's open stores, each with distance_m, nearest first
    origin: tuple[float, float]     # (lon, lat) the distances are from


DEFAULT_ORIGIN = (116.397, 39.909)  # Tiananmen, when a brand has no open store to centre on


def brand_stores(repo: StoreRepository, index: StoreIndex, slug: str,
                 origin: tuple[float, float] | None = None) -> BrandStores | None:
    """A brand's open stores nearest ``origin`` first (without one: from the brand's biggest city);
    None when no brand has this slug."""
    brand = brand_by_slug(repo, slug)
    if brand is None:
        return None
    if origin is None:
        centres = repo.city_centres(1, brand=brand["name"])
        origin = (centres[0]["lon"], centres[0]["lat"]) if centres else DEFAULT_ORIGIN
    ids, dist = index.nearest(origin[0], origin[1], k=max(brand["stores"], 1), filters=Filters.of([brand["name"]]))
    return BrandStores(brand, _with_distance(repo, ids, dist), origin)
