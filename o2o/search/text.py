"""Text as Chinese shoppers type it: normalising, splitting, pinyin, and reading addresses.

Everything here is pure (no index, no database) and cached where it is called with the same
words again and again (pinyin of a brand, a district, a road).

- :func:`normalise` folds what should not matter: full-width forms and compatibility characters
  (NFKC: ``Ｕｎｉｑｌｏ`` → ``uniqlo``), traditional characters to simplified with OpenCC's tables
  (``優衣庫`` → ``优衣库``), and case.
- :func:`runs` splits a query into words: at spaces and punctuation, and where Chinese meets Latin
  letters or digits (``优衣库nanjing`` → ``优衣库``, ``nanjing``).
- :func:`pinyin_forms` gives a Chinese word's full pinyin and its initials (``优衣库`` →
  ``youyiku``, ``yyk``), as shoppers type them on a phone's pinyin keyboard.
- :func:`address_parts` finds the roads and the malls or buildings in a Chinese address.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RE = re.compile(f"[{_CJK}]")
# A word: a run of CJK characters, or a run of Latin letters and digits (with & ' inside: h&m).
_RUN_RE = re.compile(f"[{_CJK}]+|[0-9a-z]+(?:[&'][0-9a-z]+)*")

_t2s_lock = threading.Lock()
_t2s = None


def _converter():
    global _t2s
    if _t2s is None:
        with _t2s_lock:
            if _t2s is None:
                import opencc

                _t2s = opencc.OpenCC("t2s")
    return _t2s


def has_cjk(text: str) -> bool:
    return bool(_CJK_RE.search(text))


def fold(text: str) -> str:
    """Fold width, traditional characters and case, so what a shopper types meets what is stored.

    >>> fold("優衣庫 ＵＮＩＱＬＯ（南京東路店）")
    '优衣库 uniqlo(南京东路店)'
    """
    text = unicodedata.normalize("NFKC", text or "")
    if has_cjk(text):
        text = _converter().convert(text)
    return text.lower().strip()


# The same, cached: for words that come again and again (queries, brands, places). Names and
# addresses, each different, are folded with :func:`fold` so they do not churn the cache.
normalise = functools.lru_cache(maxsize=65536)(fold)


def runs(text: str) -> list[str]:
    """The words of a normalised text: CJK runs and Latin/digit runs, in order.

    >>> runs("优衣库nanjing, jack&jones 361度")
    ['优衣库', 'nanjing', 'jack&jones', '361', '度']
    """
    return _RUN_RE.findall(text)


def is_latin(word: str) -> bool:
    return not has_cjk(word)


def squash(text: str) -> str:
    """Latin text without spaces or punctuation, for names typed run together.

    >>> squash("jack & jones"), squash("h&m"), squash("361°")
    ('jackjones', 'hm', '361')
    """
    return re.sub(r"[^0-9a-z]", "", text)


@functools.lru_cache(maxsize=200_000)
def pinyin_forms(word: str) -> tuple[str, str] | None:
    """``(full, initials)`` pinyin of a Chinese word, or None if it has no Chinese characters.

    Characters that are not Chinese (digits, Latin letters) are kept as they are in both forms.

    >>> pinyin_forms("优衣库"), pinyin_forms("重庆百货"), pinyin_forms("361度")
    (('youyiku', 'yyk'), ('chongqingbaihuo', 'cqbh'), ('361du', '361d'))
    """
    if not has_cjk(word):
        return None
    from pypinyin import Style, lazy_pinyin

    syllables = lazy_pinyin(word, style=Style.NORMAL, errors="default", v_to_u=False)
    full = squash("".join(syllables).lower())
    initials = squash("".join(s[:1] if has_cjk(c) or s.isalpha() else s
                              for s, c in zip(syllables, _split_like(word, syllables))).lower())
    return (full, initials) if full else None


def _split_like(word: str, syllables: list[str]) -> list[str]:
    """Pair each pinyin syllable with the text it came from (lazy_pinyin keeps non-Chinese runs whole)."""
    out, i = [], 0
    for s in syllables:
        if i < len(word) and has_cjk(word[i]):
            out.append(word[i])
            i += 1
        else:
            j = i
            while j < len(word) and not has_cjk(word[j]):
                j += 1
            out.append(word[i:j])
            i = j
    return out


# --------------------------------------------------------------------------------- places
# Suffixes of administrative names, longest first: 杭州市 → 杭州, 徐汇区 → 徐汇, 内蒙古自治区 → 内蒙古.
_ADMIN_SUFFIXES = ("特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "自治州", "自治县",
                   "地区", "新区", "省", "市", "区", "县", "盟", "旗")


def short_place_name(name: str) -> str:
    """A place's name as people say it, without its administrative suffix (kept if too short).

    >>> short_place_name("杭州市"), short_place_name("广西壮族自治区"), short_place_name("东区")
    ('杭州', '广西', '东区')
    """
    for suffix in _ADMIN_SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


# ------------------------------------------------------------------------------ addresses
_ROAD_RE = re.compile(f"([{_CJK}]{{1,10}}?(?:大道|大街|路|街|巷|弄|道))(?:[0-9一二三四五六七八九十甲乙]+号)?")
_AFTER_NUMBER_RE = re.compile(f"[0-9]+号(?:院|楼)?([{_CJK}A-Za-z]{{2,16}}?)(?:[0-9]+(?:层|楼|f|F)|[0-9-]+室|$|[,，(（])")
_POI_SUFFIX_RE = re.compile(
    f"[{_CJK}]{{1,10}}?(?:广场|购物中心|购物公园|商场|商城|百货大楼|百货|天街|中心|大厦|城|里|坊|汇|荟|mall)")


def address_parts(address: str, skip: tuple[str, ...] = (), folded: bool = False) -> tuple[list[str], list[str]]:
    """``(roads, places)`` named in a Chinese address: 南京东路, 吾悦广场 …

    ``skip`` are the province, city and district names, taken off the front first; ``folded``
    says the address is already folded (:func:`fold`).

    >>> address_parts("杭州市拱墅区迎宾大道268号吾悦广场3层358", ("杭州市", "拱墅区"))
    (['迎宾大道'], ['吾悦广场'])
    >>> address_parts("上海市黄浦区南京东路300号恒基名人购物中心2层", ("上海市", "黄浦区"))
    (['南京东路'], ['恒基名人购物中心'])
    """
    text = address if folded else fold(address)
    for name in skip:
        name = normalise(name)
        if name and text.startswith(name):
            text = text[len(name):]
    roads = []
    m = _ROAD_RE.search(text)
    if m:
        roads.append(m.group(1))
    places = []
    after = _AFTER_NUMBER_RE.search(text)
    if after:
        places.append(after.group(1))
    else:
        poi = _POI_SUFFIX_RE.search(text[m.end():] if m else text)
        if poi:
            places.append(poi.group(0))
    return roads, [p for p in places if len(p) >= 2 and p not in roads]


_BRANCH_RE = re.compile(r"^([^(（]{1,30})[(（]([^)）]{1,40})[)）]")


def name_parts(name: str, folded: bool = False) -> tuple[str | None, str | None]:
    """``(sign, branch)`` of a store name written as shops in China write it: 优衣库(南京东路店).

    >>> name_parts("优衣库(拱墅吾悦广场店)"), name_parts("Apple Store")
    (('优衣库', '拱墅吾悦广场店'), (None, None))
    """
    m = _BRANCH_RE.match(name if folded else fold(name))
    if not m:
        return None, None
    return m.group(1).strip(), m.group(2).strip()
