"""Search use cases beside ``nearby?q=``: places by name, and suggestions as the shopper types.

Both read the process's :class:`o2o.search.index.SearchIndex` (and its gazetteer); neither
touches the database.
"""

from __future__ import annotations

import numpy as np

from ..geo.distance import haversine_m
from ..seed.catalogue import CATEGORY_ZH
from ..search.index import CATEGORY_WORDS, SearchIndex, prefix_quality, word_forms
from ..search.places import Place
from ..search.text import normalise, runs, squash

_LEVEL_RANK = {"province": 0, "city": 1, "district": 2, "mall": 3, "street": 4}


def _typed(text: str) -> str:
    """What the shopper typed, folded; Latin words joined (``hang zhou`` → ``hangzhou``)."""
    words = runs(normalise(text))
    if words and all(w.isascii() for w in words):
        return squash("".join(words))
    return "".join(words)


def find_places(search: SearchIndex, text: str, limit: int = 10, lon: float | None = None,
                lat: float | None = None, one_per_name: bool = False) -> list[Place]:
    """Provinces, cities and districts named by ``text`` (characters or pinyin), best first, then
    the malls and streets the stores' addresses know (each city's separately, nearest city first
    when the shopper's position is given)."""
    typed = _typed(text)
    if not typed:
        return []
    words = runs(normalise(text))
    gazetteer = search.gazetteer
    scored: list[tuple] = []
    for quality, place in gazetteer.matching(typed, limit=limit * 3):
        scored.append((quality, _LEVEL_RANK[place.level], -search.place_store_count(place),
                       -place.population, place.name, place))
    if not scored and len(words) > 1:
        # 上海 徐汇: the last word, inside the places the others name.
        outer = [p for w in words[:-1] for p in gazetteer.named(w)]
        for quality, place in gazetteer.matching(words[-1], limit=limit * 3):
            if not outer or any(_inside(place, o) for o in outer):
                scored.append((quality, _LEVEL_RANK[place.level], -search.place_store_count(place),
                               -place.population, place.name, place))
    for quality, place in search.area_places(typed, lon, lat, limit=limit, one_per_name=one_per_name):
        scored.append((quality, _LEVEL_RANK[place.level], 0, 0, place.name, place))
    scored.sort(key=lambda row: row[:5])
    out, seen = [], set()
    for row in scored:
        place = row[-1]
        key = (place.level, place.province, place.city, place.name)
        if key not in seen:
            seen.add(key)
            out.append(place)
    return out[:limit]


def _inside(place: Place, outer: Place) -> bool:
    if outer.level == "province":
        return place.province == outer.province
    if outer.level == "city":
        return place.city == outer.city
    return False


def suggest(search: SearchIndex, text: str, lon: float | None = None, lat: float | None = None,
            limit: int = 10) -> list[dict]:
    """As-you-type suggestions: brands, categories, places and (near the shopper) stores.

    Each brand and category suggestion carries the ``value`` to filter on (the API's English
    name); a place carries its ``bbox`` and centre so the map can fly there; a store its ``id``.
    """
    typed = _typed(text)
    if not typed:
        return []
    out: list[tuple] = []
    for brand, zh, stores in search.brand_names():
        quality = prefix_quality(typed, search.forms_of(brand, zh))
        if quality is not None:
            out.append((quality, 0, -stores, {"type": "brand", "text": zh or brand, "value": brand,
                                              "name": brand, "name_zh": zh, "stores": stores}))
    for category, zh in CATEGORY_ZH.items():
        quality = prefix_quality(typed, search.forms_of(category, zh))
        if quality is None:
            # a word shoppers use for it (商场 for department stores): a weaker match
            synonyms = set()
            for word in CATEGORY_WORDS.get(category, ()):
                synonyms |= search.forms_of(word)
            quality = prefix_quality(typed, synonyms)
            quality = None if quality is None else max(quality, 1) + 1
        if quality is not None:
            out.append((quality, 2, 0, {"type": "category", "text": zh, "value": category,
                                        "name": category, "name_zh": zh}))
    for rank, place in enumerate(find_places(search, text, limit=4, lon=lon, lat=lat, one_per_name=True)):
        out.append((_place_quality(typed, place), 1, rank, {
            "type": "place", "text": place.name, "level": place.level, "province": place.province,
            "city": place.city, "bbox": [round(v, 6) for v in place.bbox],
            "lon": round(place.centre[0], 6), "lat": round(place.centre[1], 6)}))
    if lon is not None and lat is not None:
        found = search.search(lon, lat, text, k=20)
        for rank, (sid, dist, full) in enumerate(zip(found.ids.tolist(), found.distance_m.tolist(),
                                                     found.matched_all.tolist())):
            doc = search.doc(sid)
            if doc is None or not full:
                continue
            # Only stores whose own name fits what is typed (not every store of a category).
            sign = doc.values[1] if len(doc.values) > 1 else None
            if found.place is None and prefix_quality(typed, search.forms_of(doc.name, sign, doc.brand)) is None:
                continue
            out.append((1, 3, rank, {"type": "store", "text": doc.name, "id": sid, "address": doc.address,
                                     "distance_m": round(dist, 1)}))
    out.sort(key=lambda row: row[:3])
    # Keep every kind in view: at most 4 brands, 2 categories, 3 places, 3 stores.
    caps = {"brand": 4, "category": 2, "place": 3, "store": 3}
    taken: list[dict] = []
    for row in out:
        kind = row[3]["type"]
        if caps[kind] > 0:
            caps[kind] -= 1
            taken.append(row[3])
    return taken[:limit]


def _place_quality(typed: str, place: Place) -> int:
    forms = {normalise(place.name), place.short, place.pinyin, place.initials}
    quality = prefix_quality(typed, [f for f in forms if f])
    return 2 if quality is None else quality


def nearest_first(places: list[Place], lon: float, lat: float) -> list[Place]:
    if not places:
        return places
    d = haversine_m(lon, lat, np.array([p.centre[0] for p in places]), np.array([p.centre[1] for p in places]))
    return [places[i] for i in np.argsort(d, kind="stable")]


__all__ = ["find_places", "suggest", "word_forms"]
