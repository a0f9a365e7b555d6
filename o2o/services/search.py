"""Search use cases beside ``nearby?q=``: places by name, and suggestions as the shopper types.

Both read the process's :class:`o2o.search.index.SearchIndex` (and its gazetteer); neither
touches the database.
"""

from __future__ import annotations

from ..seed.catalogue import CATEGORY_ZH
from ..geo.distance import haversine_m
from ..search.docs import CATEGORY_WORDS, prefix_quality
from ..search.index import SearchIndex
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
    pool = max(limit * 3, 60)

    def row(quality, place, area=False):
        # Near the shopper (within 50 km) first, at equal quality: 徐汇区 for "xu" in Shanghai.
        far = 0 if lon is None or haversine_m(lon, lat, *place.centre) <= 50_000 else 1
        if area:
            return (quality, far, _LEVEL_RANK[place.level], 0, 0, place.name, place)
        return (quality, far, _LEVEL_RANK[place.level], -search.place_store_count(place),
                -place.population, place.name, place)

    scored: list[tuple] = [row(q, p) for q, p in gazetteer.matching(typed, limit=pool)]
    if not scored and len(words) > 1:
        # 上海 徐汇: the last word, inside the places the others name.
        outer = [p for w in words[:-1] for p in gazetteer.named(w)]
        for quality, place in gazetteer.matching(words[-1], limit=pool):
            if not outer or any(_inside(place, o) for o in outer):
                scored.append(row(quality, place))
    for quality, place in search.area_places(typed, lon, lat, limit=limit, one_per_name=one_per_name):
        scored.append(row(quality, place, area=True))
    scored.sort(key=lambda r: r[:6])
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
    items = _suggest_typed(search, text, typed, lon, lat)
    words = text.split()
    joined_pinyin = all(w.isascii() for w in words) and any(i["type"] != "store" for i in items)
    if len(words) > 1 and not joined_pinyin:
        # 海尔 xu: what the last word is becoming, with the words before it kept: choosing 徐汇区
        # searches "海尔 徐汇区".
        context = " ".join(words[:-1])
        last = _typed(words[-1])
        stores = [i for i in items if i["type"] == "store"]
        items = [dict(i, query=f"{context} {i['text']}") for i in _suggest_typed(search, words[-1], last, lon, lat)
                 if i["type"] != "store"]
        items = _capped(sorted(items, key=lambda i: i["type"] == "store") + stores)
    return items[:limit]


def _capped(items: list[dict]) -> list[dict]:
    # Keep every kind in view: at most 4 brands, 2 categories, 3 places, 3 stores.
    caps = {"brand": 4, "category": 2, "place": 3, "store": 3, "product": 3}
    taken = []
    for item in items:
        if caps[item["type"]] > 0:
            caps[item["type"]] -= 1
            taken.append(item)
    return taken


def _suggest_typed(search: SearchIndex, text: str, typed: str, lon, lat) -> list[dict]:
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
    return _capped([row[3] for row in out])


def _place_quality(typed: str, place: Place) -> int:
    forms = {normalise(place.name), place.short, place.pinyin, place.initials}
    quality = prefix_quality(typed, [f for f in forms if f])
    return 2 if quality is None else quality
