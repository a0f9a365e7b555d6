"""Searching products as shoppers type them: Chinese characters, full pinyin, pinyin initials, English.

The same machinery as the stores' search (:mod:`o2o.search.index`): texts folded by
:func:`~o2o.search.text.fold` (width, traditional → simplified, case), a CJK n-gram index
(:class:`~o2o.search.index._NgramIndex`) over each product's title, brand (and its Chinese name),
category (and its Chinese name) and sku, and a second one over the pinyin of the Chinese in them,
full and initials (``yurongfu``, ``yrf``). Every word of the query must match; a Chinese run that
matches nothing whole (``优衣库羽绒服``) is cut greedily into the longest pieces that do.

Ranking: products whose title holds more of the words first, then shorter titles, then by id.
The index is immutable: :class:`o2o.services.products.Catalogue` builds a new one when the
products change (a catalogue is thousands of rows, built in well under a second).
"""

from __future__ import annotations

import functools

import numpy as np

from ..seed.catalogue import category_zh
from .index import _NgramIndex
from .text import fold, has_cjk, pinyin_forms, runs, squash

_EMPTY = np.empty(0, dtype=np.int64)


@functools.lru_cache(maxsize=65536)
def _pinyin_text(run: str) -> str:
    forms = pinyin_forms(run)
    return f"{forms[0]} {forms[1]}" if forms else ""


def _zh_brand(brand: str) -> str | None:
    from ..seed.catalogue import BRANDS

    for b in BRANDS:
        if b.name == brand:
            return b.name_zh
    return None


class ProductSearch:
    """An immutable search index over products (dicts with the contract's product fields)."""

    def __init__(self, products: list[dict], retailer_names: dict[int, str] | None = None):
        self.products = sorted(products, key=lambda p: p["id"])
        names = retailer_names or {}
        self._brands = [fold(p.get("brand") or "") for p in self.products]
        zh = {b: _zh_brand(b) for b in {p.get("brand") for p in self.products}}
        self._brands_zh = [fold(zh.get(p.get("brand")) or "") for p in self.products]
        self._retailers = [fold(names.get(p.get("retailer_id"), "")) for p in self.products]
        self._titles = [fold(p.get("title") or "") for p in self.products]
        texts, pinyin = [], []
        for p, title, brand_zh in zip(self.products, self._titles, self._brands_zh):
            parts = [title, fold(p.get("brand") or ""), brand_zh, fold(p.get("category") or ""),
                     fold(category_zh(p.get("category")) or ""), fold(p.get("sku") or "")]
            text = " ".join(x for x in parts if x)
            texts.append(text)
            pinyin.append(" ".join(_pinyin_text(r) for r in runs(text) if has_cjk(r)))
        self._text = _NgramIndex(texts)
        self._pinyin = _NgramIndex(pinyin)
        self._squashed = [squash(t) for t in texts]

    def __len__(self) -> int:
        return len(self.products)

    def _latin(self, word: str) -> np.ndarray:
        found = [self._text.contains(word), self._pinyin.contains(word)]
        bare = squash(word)
        if len(word) < 2 or (bare != word and len(bare) >= 2):  # one letter, or "h&m": a scan
            found.append(np.fromiter((i for i, t in enumerate(self._squashed) if bare and bare in t), dtype=np.int64))
        arrays = [a for a in found if len(a)]
        return np.unique(np.concatenate(arrays)) if arrays else _EMPTY

    def _cjk(self, run: str) -> list[np.ndarray]:
        """Positions matching the run whole, or each of its longest matching pieces (all must match)."""
        whole = self._text.contains(run)
        if len(whole) or len(run) <= 1:
            return [whole]
        pieces, i = [], 0
        while i < len(run):
            for j in range(len(run), i, -1):
                found = self._text.contains(run[i:j])
                if len(found) or j == i + 1:
                    pieces.append(found)
                    i = j
                    break
        return pieces

    def search(self, text: str = "", brand: str | None = None, retailer: str | None = None,
               limit: int = 20) -> list[dict]:
        """Products holding every word of ``text`` (all of them without words), optionally of one
        ``brand`` (its name or Chinese name) or ``retailer`` (its name), best first."""
        keep = np.ones(len(self.products), dtype=bool)
        if brand:
            b = fold(brand)
            keep &= np.array([b in (x, y) for x, y in zip(self._brands, self._brands_zh)], dtype=bool)
        if retailer:
            r = fold(retailer)
            keep &= np.array([r == x for x in self._retailers], dtype=bool)
        words = runs(fold(text or ""))
        score = np.zeros(len(self.products), dtype=np.int64)
        for word in words:
            lists = self._cjk(word) if has_cjk(word) else [self._latin(word)]
            hit = np.zeros(len(self.products), dtype=bool)
            hit[lists[0]] = True
            for other in lists[1:]:
                mask = np.zeros(len(self.products), dtype=bool)
                mask[other] = True
                hit &= mask
            keep &= hit
            if not keep.any():
                return []
            score += np.fromiter((word in t for t in self._titles), dtype=np.int64, count=len(self.products))
        positions = np.flatnonzero(keep)
        order = sorted(positions.tolist(), key=lambda i: (-int(score[i]), len(self._titles[i]), self.products[i]["id"]))
        return [self.products[i] for i in order[:limit]]
