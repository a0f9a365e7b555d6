"""What suggestions need from the search index: brands with their store counts, the typed forms
of names, and the malls and streets named by stores' addresses (a mixin of :class:`SearchIndex`)."""

from __future__ import annotations

import numpy as np

from ..geo.distance import haversine_m
from ..seed.catalogue import brand_zh
from .places import Place
from .text import pinyin_forms

from .docs import prefix_quality, word_forms


class SuggestionSupport:
    """Brands, forms and areas of :class:`o2o.search.index.SearchIndex`, for as-you-type suggestions."""

    def brand_names(self) -> list[tuple[str, str | None, int]]:
        """(brand, Chinese name, open stores) of every brand in the index, most stores first."""
        with self._lock:
            if self._brands is None:  # counted once per change of the index, not per keystroke
                vocab, codes = self._codes["brand"]
                counts = np.bincount(codes[self._alive], minlength=len(vocab)) if len(codes) else []
                totals = {name: int(counts[code]) for name, code in vocab.items()}
                for doc in self._delta.values():
                    totals[doc.brand] = totals.get(doc.brand, 0) + 1
                self._brands = sorted(((b, brand_zh(b), n) for b, n in totals.items() if n > 0),
                                      key=lambda r: (-r[2], r[0]))
            return self._brands

    def forms_of(self, *names: str | None) -> set[str]:
        """Every typed form of these names (cached): folded, squashed, pinyin, initials."""
        forms: set[str] = set()
        for name in names:
            if name:
                cached = self._forms_cache.get(name)
                if cached is None:
                    cached = self._forms_cache[name] = word_forms(name)
                forms |= cached
        return forms

    def _area_table(self):
        """Malls and streets of the addresses, computed once per base: name -> (places, centres).

        Each name (万达广场, 南京路) has one :class:`Place` per city whose stores' addresses name
        it, with the bbox and middle of those stores, and their centres as arrays for ordering.
        """
        with self._lock:
            if self._areas is None:
                groups: dict[str, dict[tuple, list[int]]] = {}
                for pos, d in enumerate(self._docs):
                    for kind, names in (("mall", d.malls), ("street", d.roads)):
                        for name in names:
                            groups.setdefault(name, {}).setdefault((kind, d.place[0], d.place[1]), []).append(pos)
                table = {}
                for name, cities in groups.items():
                    forms = pinyin_forms(name) or ("", "")
                    places, sizes = [], []
                    for (kind, province, city), positions in cities.items():
                        lons, lats = self._lon[positions], self._lat[positions]
                        places.append(Place(
                            name=name, level=kind, province=province, city=city,
                            bbox=(float(lons.min()) - 0.003, float(lats.min()) - 0.002,
                                  float(lons.max()) + 0.003, float(lats.max()) + 0.002),
                            centre=(float(np.median(lons)), float(np.median(lats))),
                            short=name, pinyin=forms[0], initials=forms[1]))
                        sizes.append(len(positions))
                    table[name] = (places, np.array([p.centre[0] for p in places]),
                                   np.array([p.centre[1] for p in places]), np.array(sizes))
                self._areas = table
            return self._areas

    def area_places(self, typed: str, lon: float | None = None, lat: float | None = None,
                    limit: int = 10, one_per_name: bool = False) -> list[tuple[int, Place]]:
        """``(quality, Place)`` of malls and streets named by ``typed``, one per city; nearest
        city first when the shopper is known, else the city where it has most stores."""
        hits = []
        for name, (places, c_lon, c_lat, sizes) in self._area_table().items():
            quality = prefix_quality(typed, self.forms_of(name))
            if quality is None:
                continue
            order = (haversine_m(lon, lat, c_lon, c_lat) if lon is not None else -sizes.astype(float))
            ranked = np.argsort(order, kind="stable")[: 1 if one_per_name else limit]
            hits += [(quality, float(order[i]), places[i]) for i in ranked.tolist()]
        hits.sort(key=lambda h: (h[0], h[1]))
        return [(q, p) for q, _o, p in hits[:limit]]

    def place_store_count(self, place: Place) -> int:
        return int(len(self._place_positions(place)))
