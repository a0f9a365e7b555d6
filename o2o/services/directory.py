"""The crawlable store directory (province → city → stores) and the sitemap's URLs.

Both are answered from one in-memory table of the open stores' names and places (the provinces
and cities are the stores' own fields, as the region look-up stored them). It is read whole once
per process, then kept in step like the feature cache: the store index tells it which stores
changed (:attr:`o2o.services.index_sync.IndexSync.listeners`) and only those are read again.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from xml.sax.saxutils import escape

from pypinyin import lazy_pinyin

from ..storage.base import StoreRepository

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
MAX_SITEMAP_URLS = 50_000   # the protocol's limit per file
OTHER = "其他"               # the region of a store without a province or city


@dataclass(frozen=True)
class Listed:
    """A store as the directory lists it."""
    id: int
    name: str
    brand: str
    province: str
    city: str
    district: str
    address: str


def _pinyin_key(name: str) -> tuple:
    """Chinese place names in pinyin order (安徽, 北京, 重庆 …), as Chinese directories list them."""
    return (" ".join(lazy_pinyin(name)), name)


def _listed(store: dict) -> Listed:
    province = store.get("province") or OTHER
    return Listed(store["id"], store.get("name") or "", store.get("brand") or "", province,
                  store.get("city") or province, store.get("district") or "", store.get("address") or "")


class Directory:
    """Open stores by province and city (thread-safe)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._stores: dict[int, Listed] = {}
        self._loaded = False
        self._pending: set[int] = set()
        self._tree = None   # {province: {city: [Listed, …] by district, name, id}}, built on demand

    # -------------------------------------------------------------------------- keeping in step
    def changed(self, store_ids) -> None:
        """The index's listener: these stores changed (None: everything may have)."""
        with self._lock:
            if store_ids is None:
                self._loaded = False
                self._pending.clear()
            else:
                self._pending.update(int(s) for s in store_ids)
            self._tree = None

    def sync(self, repo: StoreRepository) -> None:
        """Read what changed since the last look (everything, the first time)."""
        with self._lock:
            loaded, pending = self._loaded, self._pending
            self._pending = set()
        if not loaded:
            stores = {s["id"]: _listed(s) for s in repo.iter_stores() if s["status"] == "open"}
            with self._lock:
                self._stores, self._loaded, self._tree = stores, True, None
            return
        if pending:
            found = {s["id"]: s for s in repo.get_stores(sorted(pending))}
            with self._lock:
                for sid in pending:
                    store = found.get(sid)
                    if store is not None and store["status"] == "open":
                        self._stores[sid] = _listed(store)
                    else:
                        self._stores.pop(sid, None)
                self._tree = None

    # -------------------------------------------------------------------------- reading
    def tree(self) -> dict[str, dict[str, list[Listed]]]:
        with self._lock:
            if self._tree is None:
                tree: dict[str, dict[str, list[Listed]]] = {}
                for s in sorted(self._stores.values(), key=lambda s: (s.district, s.name, s.id)):
                    tree.setdefault(s.province, {}).setdefault(s.city, []).append(s)
                self._tree = {p: dict(sorted(cities.items(), key=lambda kv: _pinyin_key(kv[0])))
                              for p, cities in sorted(tree.items(), key=lambda kv: _pinyin_key(kv[0]))}
            return self._tree

    def provinces(self) -> list[tuple[str, int, int]]:
        """``(province, cities, stores)`` in name order."""
        return [(p, len(cities), sum(len(v) for v in cities.values())) for p, cities in self.tree().items()]

    def cities(self, province: str) -> list[tuple[str, int]] | None:
        """``(city, stores)`` of a province in name order; None for an unknown province."""
        cities = self.tree().get(province)
        return None if cities is None else [(c, len(v)) for c, v in cities.items()]

    def stores(self, province: str, city: str) -> list[Listed] | None:
        """A city's open stores by district and name; None for an unknown city."""
        return self.tree().get(province, {}).get(city)

    def store_ids(self) -> list[int]:
        with self._lock:
            return sorted(self._stores)

    def brands(self) -> list[str]:
        with self._lock:
            return sorted({s.brand for s in self._stores.values() if s.brand})


# ------------------------------------------------------------------------------ sitemap XML
def sitemap_parts(n_urls: int, per_file: int) -> int:
    """How many files ``n_urls`` take at ``per_file`` each (at least one)."""
    return max(1, -(-n_urls // max(1, per_file)))


def urlset(urls) -> bytes:
    """A ``<urlset>`` of absolute URLs (escaped as XML; the protocol wants them entity-escaped)."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f'<urlset xmlns="{SITEMAP_NS}">']
    lines += [f"<url><loc>{escape(u)}</loc></url>" for u in urls]
    lines.append("</urlset>")
    return ("\n".join(lines) + "\n").encode()


def sitemap_index(part_urls) -> bytes:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f'<sitemapindex xmlns="{SITEMAP_NS}">']
    lines += [f"<sitemap><loc>{escape(u)}</loc></sitemap>" for u in part_urls]
    lines.append("</sitemapindex>")
    return ("\n".join(lines) + "\n").encode()
