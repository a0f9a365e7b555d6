"""Shoppers' product questions: which products match these words, and which open stores nearest me
have this one.

Both are answered from memory and kept exact and fresh the way the store index is: each question
first reads the catalogue's two counters (:meth:`~o2o.storage.base.Products.catalogue_marks`, one
indexed read of ``meta``) and the stores' revision; the product search index is rebuilt when the
products changed, and a product's stocked stores (:mod:`.stocked`, compact columns) are read again
when that product's stock or any store changed since they were cached. A store that sells out or
closes drops out of the next answer, on every worker.

``nearby`` is exact: the great-circle distance (:func:`o2o.geo.distance.haversine_m`) to every open
store holding the product, then the ``k`` smallest (ties by id). A product is in at most the few
thousand stores of its retailer, so this is a vectorised pass over a few thousand points.
"""

from __future__ import annotations

import os
import threading
import time

from ..search.products import ProductSearch
from ..storage.base import StoreRepository
from ..threads import join_quietly
from .stocked import StockCache

PRODUCT_FIELDS = ("id", "retailer_id", "retailer", "sku", "title", "brand", "category", "price", "online_url",
                  "gtin", "image_url", "updated_at")


class Catalogue:
    """One process's product search index and stocked-store cache (thread-safe).

    With ``open_repo`` (``() -> a repository of its own``), :meth:`ensure_started` builds the search
    index in a background thread of each process (like the stores' :class:`~o2o.services.index_sync.SearchSync`),
    so the first product search need not wait seconds for it: a search that arrives while it is being
    built waits for that build rather than starting its own. Either way each search first reads the
    products' counter, so an index older than the products is rebuilt before it answers.
    """

    def __init__(self, open_repo=None):
        self._lock = threading.Lock()
        self._build_lock = threading.Lock()   # one build at a time; latecomers wait for it
        self._open_repo = open_repo
        self._pid: int | None = None
        self._ready = threading.Event()
        self.thread: threading.Thread | None = None
        self.built_in_s: float | None = None
        self._search: ProductSearch | None = None
        self._search_rev = -1
        self._retailers: dict[int, str] = {}
        self._stocked = StockCache()   # the stores holding each product (least recently used out)
        self._stopped = False           # after stop(): no more background builds

    # ------------------------------------------------------------------------------ products
    def ensure_started(self) -> None:
        """Start the background build unless this process has one (cheap: called per request)."""
        if self._open_repo is None or self._pid == os.getpid() or self._stopped:
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._ready.clear()
            self.thread = threading.Thread(target=self._build_own_repo, name="o2o-product-search-build",
                                           daemon=True)
            self.thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Start no more background builds (searches then build the index themselves), and wait up
        to ``timeout_s`` for one under way to end (see :meth:`SearchSync.stop`)."""
        self._stopped = True
        join_quietly(self.thread, timeout_s, "the product search index's build")

    def wait_ready(self, timeout_s: float | None = None) -> bool:
        """Whether the background build has finished (waiting up to ``timeout_s``)."""
        return self._ready.wait(timeout_s)

    def _build_own_repo(self) -> None:
        import logging

        repo = None
        try:
            repo = self._open_repo()
            self._rebuild(repo)
        except Exception:  # noqa: BLE001 - searches then build the index themselves
            logging.getLogger(__name__).exception("building the product search index failed")
        finally:
            self._ready.set()
            if repo is not None and not getattr(repo, "pooled", False):  # PostGIS: the pool is the process's
                repo.close()

    def search_index(self, repo: StoreRepository) -> ProductSearch:
        """The search index, as fresh as the products (rebuilt first when they changed)."""
        self.ensure_started()
        _, products_rev = repo.catalogue_marks()
        with self._lock:
            if self._search is not None and self._search_rev == products_rev:
                return self._search
        return self._rebuild(repo)

    def _rebuild(self, repo: StoreRepository) -> ProductSearch:
        with self._build_lock:
            # The counter is read before the products (a change in between is seen next time), and
            # again here: the build this caller waited for may already be the one it needs.
            _, products_rev = repo.catalogue_marks()
            with self._lock:
                if self._search is not None and self._search_rev == products_rev:
                    return self._search
            started = time.perf_counter()
            retailers = {r["id"]: r["name"] for r in repo.list_retailers()}
            built = ProductSearch(repo.list_products(), retailers)
            with self._lock:
                self._search, self._search_rev, self._retailers = built, products_rev, retailers
            self.built_in_s = time.perf_counter() - started
        return built

    def _retailer_name(self, repo: StoreRepository, retailer_id: int) -> str | None:
        name = self._retailers.get(retailer_id)
        if name is None:  # not built yet, or a retailer newer than the index: one indexed read
            retailer = repo.get_retailer(retailer_id)
            name = None if retailer is None else retailer["name"]
        return name

    def public(self, product: dict, retailer: str | None = None) -> dict:
        """A product as the API hands it out (with its retailer's name)."""
        out = {f: product.get(f) for f in PRODUCT_FIELDS}
        out["retailer"] = retailer if retailer is not None else self._retailers.get(product["retailer_id"])
        return out

    def search(self, repo: StoreRepository, text: str = "", brand: str | None = None,
               retailer: str | None = None, limit: int = 20) -> list[dict]:
        index = self.search_index(repo)
        return [self.public(p) for p in index.search(text, brand=brand, retailer=retailer, limit=limit)]

    def in_store(self, repo: StoreRepository, store_id: int, limit: int = 60) -> list[dict]:
        """What one store has in stock or limited, by title: products with the stock line's
        ``availability``, ``quantity``, ``store_price`` and ``stock_updated_at`` (two indexed reads:
        a store page never waits for the search index to be built)."""
        lines = [line for line in repo.stock_of_store(store_id) if line["availability"] != "out_of_stock"]
        by_id = {p["id"]: p for p in repo.get_products([line["product_id"] for line in lines])}
        out, names = [], {}
        for line in lines:
            product = by_id.get(line["product_id"])
            if product is None:
                continue
            rid = product["retailer_id"]
            if rid not in names:
                names[rid] = self._retailer_name(repo, rid)
            out.append({**self.public(product, names[rid]), "availability": line["availability"], "quantity": line["quantity"],
                        "store_price": line["price"], "stock_updated_at": line["updated_at"]})
        return sorted(out, key=lambda p: (p["title"], p["id"]))[:limit]

    def get(self, repo: StoreRepository, product_id: int) -> dict | None:
        product = repo.get_product(product_id)
        if product is None:
            return None
        return self.public(product, self._retailer_name(repo, product["retailer_id"]))

    # ------------------------------------------------------------------------------ nearby
    def nearest(self, repo: StoreRepository, product_id: int, lon: float, lat: float, k: int = 20,
                radius_m: float | None = None) -> list[tuple[int, float, tuple]]:
        """``(store_id, distance_m, stock row)`` of the ``k`` nearest open stores with the product in
        stock or limited, nearest first (ties by id), within ``radius_m``. The stock row is
        ``(store_id, lon, lat, availability, quantity, price, updated_at)``."""
        return self._stocked.nearest(repo, product_id, lon, lat, k, radius_m)

    def nearby(self, repo: StoreRepository, product_id: int, lon: float, lat: float, k: int = 20,
               radius_m: float | None = None) -> list[dict]:
        """The ``k`` nearest open stores with the product in stock or limited, nearest first
        (within ``radius_m``); each store dict adds ``distance_m``, ``availability``, ``quantity``,
        ``price`` (the store's; null: the product's price) and ``stock_updated_at``."""
        found = self.nearest(repo, product_id, lon, lat, k, radius_m)
        stores = {s["id"]: s for s in repo.get_stores([sid for sid, _, _ in found])}
        out = []
        for sid, dist, row in found:
            store = stores.get(sid)
            if store is None or store["status"] != "open":
                continue
            _, _, _, availability, quantity, price, updated_at = row
            store.update(distance_m=round(dist, 1), availability=availability, quantity=quantity,
                         price=price, stock_updated_at=updated_at)
            out.append(store)
        return out
