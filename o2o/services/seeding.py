"""Fill a database with the deterministic demo festival."""

from __future__ import annotations

from ..seed import DEFAULT_RANDOM_SEED
from ..seed.stores import generate
from ..storage.base import StoreRepository


def seed(repo: StoreRepository, n_stores: int = 30_000, n_scans: int = 0,
         random_seed: int = DEFAULT_RANDOM_SEED, regions=None) -> dict:
    """Add the demo retailers and ``n_stores`` stores. Returns what was added.

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
    return {"retailers": len(data.retailers), "stores": inserted, "scans": n_scans_stored}
