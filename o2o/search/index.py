"""The search index over open stores: Chinese as shoppers type it, ranked by distance.

What a store can be found by:

- its **attributes**, each a whole value: brand (English and the catalogue's Chinese name),
  retailer, category (English, Chinese and the words shoppers use for it: 家电, 超市, 化妆品 …),
  province, city, district, and the sign, roads and malls read from its name and address;
- its **name and address** as text, by any part of them (a CJK n-gram index, as Lucene's CJK
  analyser does: every character and every pair of adjacent characters, so no segmentation is
  needed to find ``南京东路`` inside ``上海市黄浦区南京东路300号``).

A query is folded (width, traditional → simplified, case), split into words where it has spaces
or changes script, and a Chinese run that finds nothing whole is segmented with jieba (which
knows the brands, places, roads and malls of the index). A Latin word is matched as English,
as full pinyin (``youyiku``), as pinyin initials (``yyk``), as a prefix of a pinyin name while
typing, and, when none of those find anything, with one typo (a Damerau–Levenshtein edit:
swapped, missing, extra or wrong letter). A word that names a province, city or district
(``杭州``, ``徐汇``, ``hangzhou``) is not searched for: it keeps only the stores in that place.

Ranking: stores holding every word first, then fewer; within each, the nearest to the shopper,
or to the named place's centre when the shopper is not inside it.

The index is built once from every open store, then kept fresh the way the spatial index is
(:mod:`o2o.services.index_sync`): changed stores go to a small *delta* searched directly, and
their old entries are masked out of the base, which is rebuilt when the churn grows.
"""

from __future__ import annotations

import bisect
import threading
from collections import OrderedDict
from typing import Iterable

import numpy as np

from ..geo.distance import haversine_m
from ..geo.index import Filters
from ..seed.catalogue import CATEGORY_ZH, brand_zh
from .places import Gazetteer, Place, load_gazetteer
from .text import has_cjk, normalise, pinyin_forms, runs, short_place_name, squash

from .areas import SuggestionSupport
from .docs import (_EMPTY, _FUZZY_MIN_LEN, _MAX_CACHE, CATEGORY_WORDS, SearchResult, _Doc, _doc_of,
                   _NgramIndex, _unique_union)
from .query import QueryParsing


class SearchIndex(QueryParsing, SuggestionSupport):
    """Text search over open stores. Thread-safe; see the module docstring."""

    def __init__(self, gazetteer: Gazetteer | None = None, rebuild_fraction: float = 0.02,
                 min_rebuild: int = 256):
        self._gazetteer = gazetteer
        self.rebuild_fraction = rebuild_fraction
        self.min_rebuild = min_rebuild
        self._lock = threading.RLock()
        self._set_base([])

    # ----------------------------------------------------------------------------- building
    @property
    def gazetteer(self) -> Gazetteer:
        if self._gazetteer is None:
            self._gazetteer = load_gazetteer()
        return self._gazetteer

    def load(self, stores: Iterable[dict]) -> None:
        """Replace the whole index with these stores (closed ones are left out)."""
        docs = [_doc_of(s) for s in stores if s.get("status", "open") == "open"]
        self.gazetteer  # load it now, not on the first query
        with self._lock:
            self._set_base(docs)

    def _set_base(self, docs: list[_Doc]) -> None:
        docs = sorted(docs, key=lambda d: d.id)
        self._docs = docs
        n = len(docs)
        self._ids = np.fromiter((d.id for d in docs), dtype=np.int64, count=n)
        self._lon = np.fromiter((d.lon for d in docs), dtype=float, count=n)
        self._lat = np.fromiter((d.lat for d in docs), dtype=float, count=n)
        self._alive = np.ones(n, dtype=bool)
        self._n_dead = 0
        self._text = _NgramIndex([d.text for d in docs])
        # Attribute values: each distinct value once, with the docs that have it.
        value_id: dict[str, int] = {}
        counts = np.fromiter((len(d.values) for d in docs), dtype=np.int64, count=n)
        pv = np.fromiter((value_id.setdefault(v, len(value_id)) for d in docs for v in d.values),
                         dtype=np.int64, count=int(counts.sum()))
        pd_ = np.repeat(np.arange(n, dtype=np.int64), counts)
        self._values = list(value_id)
        self._value_id = value_id
        order = np.lexsort((pd_, pv))
        pv, pd_ = pv[order], pd_[order]
        self._value_offsets = np.searchsorted(pv, np.arange(len(self._values) + 1)).astype(np.int64)
        self._value_docs = pd_
        self._value_text = _NgramIndex(self._values)
        # Filters and places: codes per doc.
        self._codes = {}
        for fname, get in (("brand", lambda d: d.brand), ("retailer", lambda d: d.retailer),
                           ("category", lambda d: d.category)):
            vocab: dict[str, int] = {}
            self._codes[fname] = (vocab, np.fromiter((vocab.setdefault(get(d), len(vocab)) for d in docs),
                                                     dtype=np.int32, count=n))
        # Stores by place: one pass to code each (province, city, district), then numpy groups.
        place_code: dict[tuple, int] = {}
        codes = np.fromiter((place_code.setdefault(d.place, len(place_code)) for d in docs),
                            dtype=np.int64, count=n)
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(place_code) + 1))
        by_tuple = {t: order[bounds[c]: bounds[c + 1]] for t, c in place_code.items()}
        groups: dict[tuple, list[np.ndarray]] = {}
        for (province, city, district), pos in by_tuple.items():
            for key in (("province", province, None, None), ("city", province, city, None),
                        ("district", province, city, district)):
                groups.setdefault(key, []).append(pos)
        self._place_docs = {k: np.sort(np.concatenate(v)) for k, v in groups.items()}
        self._city_docs: dict[str, np.ndarray] = {}
        for (level, _p, city, _d), pos in self._place_docs.items():
            if level == "city" and city:
                prev = self._city_docs.get(city)
                self._city_docs[city] = pos if prev is None else np.union1d(prev, pos)
        # Latin words that lead to values: pinyin (full and initials), and Latin values themselves.
        self._alias: dict[str, set[int]] = {}
        initials_only: set[str] = set()
        for vid, v in enumerate(self._values):
            forms = pinyin_forms(v)
            if forms:
                for form in forms:
                    if len(form) >= 2:
                        self._alias.setdefault(form, set()).add(vid)
                initials_only.add(forms[1])
                # 杭州市 is also typed hangzhou
                short = short_place_name(v)
                if short != v:
                    sf = pinyin_forms(short)
                    if sf:
                        self._alias.setdefault(sf[0], set()).add(vid)
            else:
                sq = squash(v)
                if len(sq) >= 2:
                    self._alias.setdefault(sq, set()).add(vid)
                for word in runs(v):
                    if len(word) >= 2:
                        self._alias.setdefault(word, set()).add(vid)
        self._alias_keys = sorted(self._alias)
        # A retailer's name is a weaker match than a brand's (``haier``: Haier's stores before
        # Casarte's, whose retailer is Haier Group).
        brands = {normalise(d.brand) for d in docs} | {normalise(brand_zh(d.brand) or "") for d in docs}
        self._weak = np.zeros(len(self._values), dtype=bool)
        for d in docs:
            vid = value_id.get(normalise(d.retailer))
            if vid is not None and self._values[vid] not in brands:
                self._weak[vid] = True
        # What a store *is* (its brand, category, place) matches more strongly than what its name
        # or address mentions: 百货 finds department stores before the shops in a 百货大楼.
        primary = set(brands)
        for d in docs:
            primary.update((normalise(d.category), normalise(CATEGORY_ZH.get(d.category, ""))))
            primary.update(normalise(x) for x in d.place if x)
        for words in CATEGORY_WORDS.values():
            primary.update(normalise(w) for w in words)
        self._primary = np.array([v in primary for v in self._values], dtype=bool)
        self._primary_values = primary
        # Typos are forgiven in words, not in initials (``zzzzzz`` is not 甘孜藏族自治州's gzzzzzz).
        initials_only -= {f for v in self._values for f in ((pinyin_forms(v) or ("",))[0],)}
        self._fuzzy_terms = sorted((set(self._alias_keys) - initials_only) | {
            p.pinyin for p in (self._gazetteer.places if self._gazetteer else []) if p.pinyin})
        self._fuzzy_by_length: dict[int, list[str]] = {}
        for term in self._fuzzy_terms:
            self._fuzzy_by_length.setdefault(len(term), []).append(term)
        # The delta: store id -> _Doc of stores added or changed since the base was built.
        self._delta: dict[int, _Doc] = {}
        self._cache: OrderedDict = OrderedDict()
        self._generation = getattr(self, "_generation", 0) + 1
        self._segmenter_words = None
        self._areas = None
        self._brands = None
        self._forms_cache: dict[str, set[str]] = getattr(self, "_forms_cache", {})

    def upsert(self, store: dict) -> None:
        """Add or change a store; a closed one is taken out."""
        with self._lock:
            self._mask_out(int(store["id"]))
            if store.get("status", "open") == "open":
                self._delta[int(store["id"])] = _doc_of(store)
            self._changed()

    def remove(self, store_id: int) -> None:
        with self._lock:
            self._mask_out(int(store_id))
            self._changed()

    def _mask_out(self, store_id: int) -> None:
        self._delta.pop(store_id, None)
        pos = int(np.searchsorted(self._ids, store_id))
        if pos < len(self._ids) and self._ids[pos] == store_id and self._alive[pos]:
            self._alive[pos] = False
            self._n_dead += 1

    def _changed(self) -> None:
        self._cache.clear()
        self._brands = None
        if len(self._delta) + self._n_dead > max(self.min_rebuild, self.rebuild_fraction * len(self._ids)):
            self.compact()

    def compact(self) -> None:
        """Fold the delta into a freshly built base (done by itself when the delta grows)."""
        with self._lock:
            docs = [d for d, alive in zip(self._docs, self._alive) if alive]
            docs += list(self._delta.values())
            self._set_base(docs)

    def __len__(self) -> int:
        return int(len(self._ids) - self._n_dead + len(self._delta))

    @property
    def nbytes(self) -> int:
        """Memory held by the arrays of the base (not counting the Python strings of the docs)."""
        arrays = [self._ids, self._lon, self._lat, self._alive, self._value_offsets, self._value_docs]
        arrays += [codes for _, codes in self._codes.values()]
        arrays += list(self._place_docs.values())
        return int(sum(a.nbytes for a in arrays) + self._text.nbytes + self._value_text.nbytes)

    # ----------------------------------------------------------------------------- matching
    def _value_postings(self, vids: Iterable[int]) -> np.ndarray:
        parts = [self._value_docs[self._value_offsets[v]: self._value_offsets[v + 1]] for v in vids]
        return _unique_union(parts)

    def _latin_value_ids(self, word: str, allow_fuzzy: bool = True) -> set[int]:
        """Values a Latin word leads to: exact alias, English inside a value, pinyin prefix, one typo."""
        vids = set(self._alias.get(word, ()))
        if len(word) >= 2:
            vids.update(int(v) for v in self._value_text.contains(word))
        if len(word) >= 3:
            i = bisect.bisect_left(self._alias_keys, word)
            while i < len(self._alias_keys) and self._alias_keys[i].startswith(word):
                vids.update(self._alias[self._alias_keys[i]])
                i += 1
        if not vids and allow_fuzzy:
            for term in self.fuzzy_terms(word):
                vids.update(self._alias.get(term, ()))
        return vids

    def fuzzy_terms(self, word: str) -> list[str]:
        """Known Latin terms one typo away from ``word`` (four letters or more)."""
        if len(word) < _FUZZY_MIN_LEN:
            return []
        from rapidfuzz import process
        from rapidfuzz.distance import DamerauLevenshtein

        out = []
        for length in (len(word) - 1, len(word), len(word) + 1):
            terms = self._fuzzy_by_length.get(length)
            if terms:
                hits = process.extract(word, terms, scorer=DamerauLevenshtein.distance,
                                       score_cutoff=1, limit=20)
                out += [term for term, _score, _i in hits]
        return out

    def _match_base(self, word: str) -> np.ndarray:
        """Sorted base positions of the stores a word matches (alive or not)."""
        key = (self._generation, word)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        if has_cjk(word):
            vids = [int(v) for v in self._value_text.contains(word)]
        else:
            vids = list(self._latin_value_ids(word))
        strong = _unique_union([self._value_postings(v for v in vids if not self._weak[v]),
                                self._text.contains(word)])
        weak = self._value_postings(v for v in vids if self._weak[v])
        primary = self._value_postings(v for v in vids if self._primary[v])
        pos = _unique_union([strong, weak])
        # How each store matches: 1 by its retailer's name only, 2 by name, address, sign, road
        # or mall, 3 by what it is (brand, category, place).
        level = np.ones(len(pos), dtype=np.int8)
        level[np.searchsorted(pos, strong)] = 2
        level[np.searchsorted(pos, primary)] = 3
        found = (pos, level)
        if len(self._cache) >= _MAX_CACHE:
            self._cache.popitem(last=False)
        self._cache[key] = found
        return found

    def _doc_level(self, doc: _Doc, word: str) -> int:
        """How one store of the delta matches a word (searched directly: there are few), as the
        base would: 0 not at all, 1 by its retailer's name only, 2 by its name, address, sign,
        road or mall, 3 by what it is (brand, category, place)."""
        own = {normalise(x) for x in (doc.brand, brand_zh(doc.brand) or "", doc.category,
                                      CATEGORY_ZH.get(doc.category, ""), *doc.place) if x}
        retailer = normalise(doc.retailer)

        def level_of(v):
            if v in own or v in self._primary_values:
                return 3
            return 1 if v == retailer else 2

        best = 2 if word in doc.text else 0
        for v in doc.values:
            if best == 3:
                break
            if self._value_matches(v, word):
                best = max(best, level_of(v))
        return best

    def _value_matches(self, v: str, word: str) -> bool:
        if word in v:
            return True
        if has_cjk(word):
            return False
        forms = pinyin_forms(v) or ()
        short = pinyin_forms(short_place_name(v)) if forms else None
        keys = set(forms) | ({short[0]} if short else set()) | ({squash(v)} if not forms else set())
        if not forms:
            keys.update(runs(v))
        if word in keys or (len(word) >= 3 and any(k.startswith(word) for k in keys)):
            return True
        if len(word) >= _FUZZY_MIN_LEN:
            from rapidfuzz.distance import DamerauLevenshtein

            return any(DamerauLevenshtein.distance(word, k, score_cutoff=1) <= 1 for k in keys if k)
        return False

    def word_matches_anything(self, word: str) -> bool:
        if len(self._match_base(word)[0]):
            return True
        return any(self._doc_level(d, word) for d in self._delta.values())

    # ----------------------------------------------------------------------------- search
    def _choose_place(self, candidates: list[Place], lon: float, lat: float) -> Place:
        """Of the places a word names, the one the shopper is in, else the one with most stores."""
        for place in candidates:
            if place.contains(lon, lat):
                return place
        return max(candidates, key=lambda p: (len(self._place_positions(p)), -candidates.index(p)))

    def _place_positions(self, place: Place) -> np.ndarray:
        if place.level == "city":
            return self._city_docs.get(place.city, _EMPTY)
        return self._place_docs.get(place.key, _EMPTY)

    def _in_place(self, doc: _Doc, place: Place) -> bool:
        province, city, district = doc.place
        if place.level == "province":
            return province == place.province
        if place.level == "city":
            return city == place.city
        return (province, city, district) == (place.province, place.city, place.district)

    def _filter_mask(self, positions: np.ndarray, filters: Filters) -> np.ndarray:
        keep = self._alive[positions] if self._n_dead else np.ones(len(positions), dtype=bool)
        for fname, names in filters.by_field().items():
            if names is None:
                continue
            vocab, codes = self._codes[fname]
            wanted = [vocab[n] for n in names if n in vocab]
            keep &= np.isin(codes[positions], wanted)
        return keep

    def search(self, lon: float, lat: float, text: str, k: int = 20, radius_m: float | None = None,
               filters: Filters = Filters()) -> SearchResult:
        """The ``k`` best open stores for ``text``, from the shopper at (lon, lat)."""
        with self._lock:
            query = self.parse(text)
            places = [self._choose_place(c, lon, lat) for c in query.places]
            if not query.clauses and not places:
                return SearchResult(_EMPTY, np.empty(0), np.empty(0, bool), None, None, query)
            # Base: matches per clause, counted; then the places and filters.
            n_clauses = len(query.clauses)
            per_clause = [self._match_base(w) for w in query.clauses]
            if per_clause:
                # strong: words matched not only by the retailer's name, plus (weighing more)
                # those matched by what the store is.
                weights = [(m[1] >= 2).astype(np.int64) + (m[1] == 3) * (n_clauses + 1) for m in per_clause]
                if len(per_clause) == 1:
                    pos, strong = per_clause[0][0], weights[0]
                    score = np.ones(len(pos), dtype=np.int64)
                else:
                    pos, inverse = np.unique(np.concatenate([m[0] for m in per_clause]), return_inverse=True)
                    score = np.bincount(inverse, minlength=len(pos)).astype(np.int64)
                    strong = np.bincount(inverse, weights=np.concatenate(weights), minlength=len(pos)).astype(np.int64)
            else:
                pos = np.arange(len(self._ids), dtype=np.int64)
                score = strong = np.zeros(len(pos), dtype=np.int64)
            for place in places:
                inside = np.isin(pos, self._place_positions(place), assume_unique=True)
                pos, score, strong = pos[inside], score[inside], strong[inside]
            keep = self._filter_mask(pos, filters)
            pos, score, strong = pos[keep], score[keep], strong[keep]
            ids, s_lon, s_lat = self._ids[pos], self._lon[pos], self._lat[pos]
            # Delta: checked store by store.
            if self._delta:
                d_rows = []
                for doc in self._delta.values():
                    if any(not self._in_place(doc, p) for p in places):
                        continue
                    if not self._doc_passes(doc, filters):
                        continue
                    levels = [self._doc_level(doc, w) for w in query.clauses]
                    sc = sum(lv > 0 for lv in levels)
                    st = sum(lv >= 2 for lv in levels) + sum(lv == 3 for lv in levels) * (n_clauses + 1)
                    if sc or not query.clauses:
                        d_rows.append((doc.id, doc.lon, doc.lat, sc, st))
                if d_rows:
                    d = np.array(d_rows, dtype=float).reshape(-1, 5)
                    ids = np.concatenate((ids, d[:, 0].astype(np.int64)))
                    s_lon, s_lat = np.concatenate((s_lon, d[:, 1])), np.concatenate((s_lat, d[:, 2]))
                    score = np.concatenate((score, d[:, 3].astype(np.int64)))
                    strong = np.concatenate((strong, d[:, 4].astype(np.int64)))
        place = places[0] if places else None
        dist = haversine_m(lon, lat, s_lon, s_lat) if len(ids) else np.empty(0)
        origin_dist = dist
        if places and not all(p.contains(lon, lat) for p in places):
            # The shopper is elsewhere: the most specific place's centre orders the list.
            centre = max(places, key=lambda p: ("province", "city", "district").index(p.level)).centre
            origin_dist = haversine_m(centre[0], centre[1], s_lon, s_lat)
        fallback = None
        if radius_m is not None:
            inside = dist <= radius_m
            if len(ids) and not inside.any():
                j = int(np.argmin(dist))
                fallback = (ids[j: j + 1], dist[j: j + 1])
            ids, dist, origin_dist, score, strong = (a[inside] for a in (ids, dist, origin_dist, score, strong))
        # Every word first; then by what the store is (brand, category, place) before what its
        # name or address mentions, before its retailer's name alone; then nearest; then by id. One float key holds the first three (distances < 2.1e7 m), so a
        # partial partition finds the best k among many matches without sorting them all.
        if len(ids) > 4 * k + 64:
            step, smax = 4.2e7, n_clauses * (n_clauses + 2)
            key = ((n_clauses - score) * (smax + 1) + (smax - strong)) * step + origin_dist
            kth = np.partition(key, k - 1)[k - 1]
            sel = np.flatnonzero(key <= kth)
            ids, dist, origin_dist, score, strong = (a[sel] for a in (ids, dist, origin_dist, score, strong))
        order = np.lexsort((ids, origin_dist, -strong, -score))[:k]
        return SearchResult(ids[order], dist[order], score[order] >= n_clauses, place, fallback, query)

    def _doc_passes(self, doc: _Doc, filters: Filters) -> bool:
        for fname, names in filters.by_field().items():
            if names is not None and getattr(doc, fname) not in names:
                return False
        return True

    def doc(self, store_id: int) -> _Doc | None:
        with self._lock:
            if store_id in self._delta:
                return self._delta[store_id]
            pos = int(np.searchsorted(self._ids, store_id))
            if pos < len(self._ids) and self._ids[pos] == store_id and self._alive[pos]:
                return self._docs[pos]
        return None
