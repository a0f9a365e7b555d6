"""The search index's parts: a store as the index sees it (its attribute values and text), the
CJK n-gram index over names and addresses, a parsed query, a result, the shared segmenter, and
the typed forms of a name (folded, squashed, pinyin, initials) with how well a prefix fits them.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

from ..seed.catalogue import CATEGORY_ZH, brand_zh
from .places import Place
from .text import (address_parts, fold, has_cjk, name_parts, normalise, pinyin_forms, runs,
                   short_place_name, squash)


# Words shoppers use for the festival's categories, beside the categories' own names.
CATEGORY_WORDS = {
    "Apparel": ("服装", "服饰", "衣服", "女装", "男装", "clothing", "fashion", "clothes"),
    "Sportswear": ("运动", "运动服", "体育用品", "运动鞋", "sports", "sport"),
    "Home Appliances": ("家电", "家用电器", "电器", "冰箱", "空调", "洗衣机", "appliances"),
    "Electronics": ("数码", "电器", "手机", "电脑", "3c", "digital"),
    "Department Store": ("百货", "商场", "购物中心", "商厦", "mall"),
    "Supermarket": ("超市", "商超", "生鲜", "便利", "grocery", "groceries"),
    "Beauty": ("美妆", "化妆品", "彩妆", "护肤", "cosmetics", "makeup"),
    "Jewellery": ("珠宝", "首饰", "黄金", "金店", "jewelry", "gold"),
    "Home & Furniture": ("家居", "家具", "家装", "建材", "furniture"),
    "Kids & Baby": ("母婴", "童装", "儿童", "婴儿", "孕婴", "kids", "baby", "children"),
    "Footwear": ("鞋", "鞋子", "鞋靴", "女鞋", "男鞋", "shoes"),
}
# Words that say nothing about which store: dropped from a segmented query.
STOP_WORDS = frozenset(("的", "在", "和", "附近", "附近的", "最近", "最近的", "旁边", "哪里", "哪儿", "哪",
                        "有", "家", "个", "一下", "门店", "店铺", "专卖店", "旗舰店", "实体店", "线下", "线下店",
                        "near", "me", "nearby", "store", "stores", "shop", "the", "in", "at"))

_SEP = "\x00"
_EMPTY = np.empty(0, dtype=np.int64)
_MAX_CACHE = 4096
_FUZZY_MIN_LEN = 4


def _unique_union(arrays: list[np.ndarray]) -> np.ndarray:
    arrays = [a for a in arrays if len(a)]
    if not arrays:
        return _EMPTY
    if len(arrays) == 1:
        return arrays[0]
    return np.unique(np.concatenate(arrays))


class _NgramIndex:
    """Character unigrams (CJK only) and bigrams of a list of texts, as a CSR posting table.

    Built vectorised with numpy: the texts' code points in one array, a key per position, and
    (key, text) pairs sorted once. ``contains(word)`` intersects the postings of the word's
    grams, then checks the survivors really contain the word.
    """

    def __init__(self, texts: list[str]):
        self.texts = texts
        n = len(texts)
        if n == 0:
            self.keys, self.offsets, self.postings = (np.empty(0, np.int64), np.zeros(1, np.int64), _EMPTY)
            return
        joined = _SEP.join(texts) + _SEP
        cp = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
        lengths = np.fromiter((len(t) + 1 for t in texts), dtype=np.int64, count=n)
        doc = np.repeat(np.arange(n, dtype=np.int64), lengths)
        sep = cp == 0
        a, b = cp[:-1], cp[1:]
        bi_ok = ~(sep[:-1] | sep[1:])
        bi = (a[bi_ok] << 21) | b[bi_ok]
        bi_doc = doc[:-1][bi_ok]
        uni_ok = (cp >= 0x3400) & ~sep  # single Latin letters are not worth a posting list
        keys = np.concatenate((cp[uni_ok], bi))
        docs = np.concatenate((doc[uni_ok], bi_doc))
        pairs = np.sort(keys * (n + 1) + docs)
        if len(pairs) > 1:
            pairs = pairs[np.r_[True, pairs[1:] != pairs[:-1]]]
        keys, docs = np.divmod(pairs, n + 1)
        first = np.r_[True, keys[1:] != keys[:-1]] if len(keys) else np.empty(0, bool)
        self.keys, starts = keys[first], np.flatnonzero(first)
        self.offsets = np.append(starts, len(keys)).astype(np.int64)
        self.postings = docs.astype(np.int64)

    def _grams(self, word: str) -> list[int]:
        cps = [ord(c) for c in word]
        if len(cps) == 1:
            return [cps[0]]
        return sorted({(x << 21) | y for x, y in zip(cps, cps[1:])})

    def _posting(self, key: int) -> np.ndarray:
        i = int(np.searchsorted(self.keys, key))
        if i >= len(self.keys) or self.keys[i] != key:
            return _EMPTY
        return self.postings[self.offsets[i]: self.offsets[i + 1]]

    def contains(self, word: str) -> np.ndarray:
        """Sorted positions of the texts that contain ``word``."""
        if not word or (len(word) == 1 and ord(word) < 0x3400):
            return _EMPTY
        lists = sorted((self._posting(g) for g in self._grams(word)), key=len)
        if not len(lists[0]):
            return _EMPTY
        found = lists[0]
        for other in lists[1:]:
            found = np.intersect1d(found, other, assume_unique=True)
            if not len(found):
                return _EMPTY
        if len(word) > 2:
            texts = self.texts
            found = np.fromiter((i for i in found.tolist() if word in texts[i]), dtype=np.int64)
        return found

    @property
    def nbytes(self) -> int:
        return int(self.keys.nbytes + self.offsets.nbytes + self.postings.nbytes)


@dataclass
class _Doc:
    """One store as the index sees it."""

    id: int
    lon: float
    lat: float
    brand: str
    retailer: str
    category: str
    place: tuple            # (province, city, district)
    text: str               # name and address, folded
    values: tuple[str, ...]  # attribute values, folded
    name: str
    address: str
    roads: tuple[str, ...] = ()
    malls: tuple[str, ...] = ()


@functools.lru_cache(maxsize=65536)
def _attribute_values(brand: str, retailer: str, category: str, province, city, district) -> tuple:
    """Folded attribute values of a store (cached: thousands of stores share them)."""
    values = [brand, brand_zh(brand) or "", retailer, category, CATEGORY_ZH.get(category, ""),
              *CATEGORY_WORDS.get(category, ()), province or "", city or "", district or ""]
    return tuple(dict.fromkeys(v for v in (normalise(x) for x in values) if v))


def _doc_of(store: dict) -> _Doc:
    name = store.get("name") or ""
    address = store.get("address") or ""
    province, city, district = store.get("province"), store.get("city"), store.get("district")
    brand, category, retailer = store.get("brand") or "", store.get("category") or "", store.get("retailer") or ""
    values = _attribute_values(brand, retailer, category, province, city, district)
    name_n, address_n = fold(name), fold(address)
    extra = []
    sign, _branch = name_parts(name_n, folded=True)
    if sign:
        extra.append(sign)
    roads, malls = address_parts(address_n, tuple(v for v in (province, city, district) if v), folded=True)
    extra += roads + malls
    if extra:
        values = values + tuple(v for v in extra if v not in values)
    return _Doc(int(store["id"]), float(store["lon"]), float(store["lat"]), brand, retailer, category,
                (province, city, district), name_n + _SEP + address_n, values, name, address,
                tuple(roads), tuple(malls))


@dataclass
class Query:
    """A query as understood: the words to match, the places named, what was ignored."""

    clauses: list[str] = field(default_factory=list)
    places: list[list[Place]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


@dataclass
class SearchResult:
    ids: np.ndarray
    distance_m: np.ndarray            # from the shopper
    matched_all: np.ndarray           # bool per result: holds every word
    place: Place | None = None        # the place the words named (the first, if several)
    fallback: tuple | None = None     # (ids, distance_m) of the nearest match when a radius held none
    query: Query | None = None


_TOKENIZER_LOCK = threading.Lock()
_TOKENIZER_WORDS: set[str] = set()
_tokenizer_instance = None


def _shared_tokenizer():
    """jieba's tokenizer, one per process (its dictionary takes most of a second to load)."""
    global _tokenizer_instance
    with _TOKENIZER_LOCK:
        if _tokenizer_instance is None:
            import logging

            import jieba

            jieba.setLogLevel(logging.WARNING)
            tokenizer = jieba.Tokenizer()
            tokenizer.initialize()
            _tokenizer_instance = tokenizer
    return _tokenizer_instance


def word_forms(name: str) -> set[str]:
    """Every way a shopper may type a name: folded, squashed, pinyin and initials, short place name."""
    folded = normalise(name)
    forms = {folded, squash(folded)}
    for variant in {folded, short_place_name(folded)}:
        p = pinyin_forms(variant)
        if p:
            forms.update(p)
        forms.add(variant)
    forms.update(runs(folded))
    return {f for f in forms if f}


def prefix_quality(typed: str, forms: Iterable[str]) -> int | None:
    """0 if a form is ``typed``, 1 if one starts with it, 2 if one contains it; None otherwise.

    Only Chinese is matched inside a form (``徐汇`` in ``上海市徐汇区``): Latin letters inside a
    pinyin form are not a syllable boundary (``hang`` is not in ``wushang`` for a shopper).
    """
    best = None
    inside = len(typed) >= 2 and has_cjk(typed)
    for form in forms:
        if form == typed:
            return 0
        if form.startswith(typed):
            best = 1
        elif best is None and inside and typed in form:
            best = 2
    return best
