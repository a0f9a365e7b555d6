"""Fill a database with the deterministic demo festival."""

from __future__ import annotations

from ..seed import DEFAULT_RANDOM_SEED
from ..seed.stores import generate
from ..storage.base import StoreRepository


# Below this many stores, the seed leaves products out unless asked (O2O_SEED_PRODUCTS=true, or
# ``seed --products``): the tests seed a few thousand stores often, and the stock costs about as
# much again as the stores themselves (docs/benchmarks.md, "Products in stores").
PRODUCTS_FROM_STORES = 5_000


def products_wanted(setting, n_stores: int) -> bool:
    """Whether a seed of ``n_stores`` includes products: ``setting`` true/false, or auto/None (by size)."""
    text = str(setting).strip().lower() if setting is not None else "auto"
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    if text != "auto":
        raise ValueError(f"O2O_SEED_PRODUCTS must be true, false or auto, not {setting!r}")
    return n_stores >= PRODUCTS_FROM_STORES


def seed(repo: StoreRepository, n_stores: int = 30_000, n_scans: int = 0,
         random_seed: int = DEFAULT_RANDOM_SEED, regions=None, products: bool | None = None) -> dict:
    """Add the demo retailers and ``n_stores`` stores (with ``products``: each brand's catalogue and
    every store's stock, :mod:`o2o.seed.products`; None: only from :data:`PRODUCTS_FROM_STORES`
    stores up). Returns what was added.

    Retailers that already exist (by name) are reused, so seeding twice adds stores twice
    only if asked to: the CLI refuses to seed a database that already has stores.
    """
    data = generate(n_stores, random_seed, regions=regions)
    existing = {r["name"]: r["id"] for r in repo.list_retailers()}
    ids = {}
    for retailer in data.retailers:
        name = retailer["name"]
        ids[name] = existing.get(name) or repo.create_retailer(name, retailer["domains"])
    stores = data.stores
    rows = []
    if len(stores):
        stores = stores.assign(retailer_id=stores["retailer"].map(ids))
        rows = stores.drop(columns=["retailer"]).to_dict("records")
    inserted = repo.insert_stores(rows)
    n_scans_stored = 0
    if n_scans > 0 and inserted:
        import pandas as pd

        from ..seed.scans import generate_scans

        stored = pd.DataFrame(list(repo.iter_stores()))
        n_scans_stored = repo.insert_scans(generate_scans(stored, n_scans, random_seed))
    n_products = n_stock = n_product_scans = 0
    if products_wanted(products, n_stores) and inserted:
        n_products, lines = _seed_products(repo, ids, random_seed)
        n_stock = repo.insert_stock(lines)
        if n_scans_stored:
            n_product_scans = seed_product_scans(repo, lines, random_seed)
    if inserted:
        repo.analyze(("stores", "scans", "products", "stock", "product_scans"))  # plan for the data now there
    return {"retailers": len(data.retailers), "stores": inserted, "scans": n_scans_stored,
            "products": n_products, "stock": n_stock, "product_scans": n_product_scans}


def seed_product_scans(repo: StoreRepository, stock_lines: list[tuple],
                       random_seed: int = DEFAULT_RANDOM_SEED) -> int:
    """Mark about a third of the stored scans that have no product yet as scans of a product the
    store has (:func:`o2o.seed.scans.generate_product_scans`), so the analysts' product panel has
    data; how many."""
    from ..seed.scans import generate_product_scans

    scans = [(row[0], row[1]) for batch in repo.scan_batches() for row in batch]
    return repo.insert_product_scans(generate_product_scans(scans, stock_lines, random_seed))


def seed_products(repo: StoreRepository, retailer_ids: dict[str, int],
                  random_seed: int = DEFAULT_RANDOM_SEED) -> tuple[int, int]:
    """Each brand's catalogue (upserted by sku) and its open stores' stock, written anew for the
    stores that have none; ``(products, stock lines)``."""
    n_products, lines = _seed_products(repo, retailer_ids, random_seed)
    return n_products, repo.insert_stock(lines)


def _seed_products(repo: StoreRepository, retailer_ids: dict[str, int], random_seed: int) -> tuple[int, list[tuple]]:
    """The catalogues, upserted; ``(products, the stock lines to insert)``."""
    import numpy as np

    from ..seed.catalogue import BRANDS
    from ..seed.products import catalogue, stock

    stores_of: dict[str, list[int]] = {}
    for row in repo.index_rows(0):
        if row.status == "open":
            stores_of.setdefault(row.brand, []).append(row.id)
    n_products = 0
    lines = []
    for i, brand in enumerate(BRANDS):
        rid = retailer_ids.get(brand.retailer)
        if rid is None:
            continue
        items = catalogue(brand, i, random_seed)
        n_products += repo.upsert_products(rid, items)
        found = repo.find_product_ids(rid, [p["sku"] for p in items])
        product_ids = np.array([found[p["sku"]] for p in items], dtype=np.int64)
        prices = np.array([p["price"] for p in items], dtype=float)
        lines += stock(np.array(sorted(stores_of.get(brand.name, ())), dtype=np.int64), product_ids, prices, i,
                       random_seed)
    return n_products, lines
