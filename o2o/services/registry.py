"""Retailers registering, moving, changing and closing their stores, one at a time.

Each function takes the repository, the district polygons, the current index and the retailer
(a :class:`~o2o.services.accounts.Principal`) and plain values, so the API, the CLI and the
importer share exactly the same rules.
"""

from __future__ import annotations

import secrets

from ..geo.index import Filters, StoreIndex
from ..storage.base import StoreRepository
from .accounts import Principal
from .units import unit_of_work
from .validation import FieldProblem, clean_store

DUPLICATE_RADIUS_M = 20.0
_NOT_MAINLAND = {"香港": "Hong Kong", "澳门": "Macau", "台湾": "Taiwan"}


class NotFound(LookupError):
    pass


class Forbidden(PermissionError):
    pass


def locate(regions, lon: float, lat: float) -> dict:
    """Province, city and district of a WGS-84 point; FieldProblem if not in mainland China."""
    where = regions.locate_one(lon, lat)
    if where is None:
        raise FieldProblem([("lat", f"the location ({lat:.6f}, {lon:.6f}) is outside mainland China: "
                                    "stores must be on land in a mainland province (check lat/lon and crs)")],
                           status=422, code="outside_mainland")
    if not where["mainland"]:
        region = next((en for zh, en in _NOT_MAINLAND.items() if where["province"].startswith(zh)),
                      where["province"])
        raise FieldProblem([("lat", f"the location ({lat:.6f}, {lon:.6f}) is in {region}, outside mainland "
                                    "China: this festival's stores are in mainland China only")],
                           status=422, code="outside_mainland")
    return {"province": where["province"], "city": where["city"], "district": where["district"]}


def find_duplicate(index: StoreIndex, brand: str, lon: float, lat: float,
                   ignore_id: int | None = None) -> tuple[int, float] | None:
    """An open store of the same brand within 20 m (id, distance), other than ``ignore_id``."""
    ids, dist = index.nearest(lon, lat, k=2, radius_m=DUPLICATE_RADIUS_M, filters=Filters.of([brand]))
    for store_id, d in zip(ids.tolist(), dist.tolist()):
        if store_id != ignore_id:
            return store_id, d
    return None


def _duplicate_problem(dup: tuple[int, float], brand: str) -> FieldProblem:
    store_id, d = dup
    return FieldProblem(
        [("lat", f"an open {brand} store (id {store_id}) is {d:.1f} m away: this looks like a duplicate; "
                 "send allow_duplicate=true if it is a separate store")],
        status=409, code="duplicate_store", duplicate_of=store_id)


def register(repo: StoreRepository, regions, index: StoreIndex, retailer: Principal,
             payload: dict) -> tuple[dict, bool]:
    """Create a store, or update the retailer's store with the same ``external_id``.

    Returns ``(store, created)``. One unit of work: the look-up of the code and the write are one
    transaction, and a concurrent registration of the same new code turns into an update.
    """
    fields = clean_store(payload, retailer.domains)
    allow_duplicate = fields.pop("allow_duplicate", False)
    fields.update(locate(regions, fields["lon"], fields["lat"]))  # before the transaction: it takes ms
    return unit_of_work(repo, lambda: _register(repo, index, retailer, dict(fields), allow_duplicate))


def _register(repo, index, retailer, fields, allow_duplicate) -> tuple[dict, bool]:
    external_id = fields.get("external_id")
    if external_id:
        existing = repo.find_store_ids(retailer.id, [external_id]).get(external_id)
        if existing is not None:
            store = _apply_update(repo, index, retailer, existing, fields, allow_duplicate)
            return store, False
    if not allow_duplicate:
        dup = find_duplicate(index, fields["brand"], fields["lon"], fields["lat"])
        if dup:
            # The index is the process's, kept current by other requests: it can already hold a store
            # that a concurrent registration of this same code committed after the look-up above
            # (PostgreSQL, READ COMMITTED). Asked again, the database sees it: that is an update.
            existing = repo.find_store_ids(retailer.id, [external_id]).get(external_id) if external_id else None
            if existing is not None:
                return _apply_update(repo, index, retailer, existing, fields, allow_duplicate), False
            raise _duplicate_problem(dup, fields["brand"])
    fields.setdefault("external_id", None)
    if not fields["external_id"]:
        fields["external_id"] = "o2o-" + secrets.token_hex(6)
    if not fields.get("online_url"):
        fields["online_url"] = f"https://{retailer.domains[0]}/" if retailer.domains else None
    fields.setdefault("address", "")
    fields["retailer_id"] = retailer.id
    store_id = repo.insert_store(fields, actor=retailer.actor)
    return repo.get_store(store_id), True


def owned_store(repo: StoreRepository, retailer: Principal, store_id: int) -> dict:
    store = repo.get_store(store_id)
    if store is None:
        raise NotFound(f"no store with id {store_id}")
    if store["retailer_id"] != retailer.id:
        raise Forbidden(f"store {store_id} belongs to another retailer")
    return store


def update(repo: StoreRepository, regions, index: StoreIndex, retailer: Principal, store_id: int,
           payload: dict) -> dict:
    """Change some fields of one of the retailer's stores; a move re-derives its region."""
    owned_store(repo, retailer, store_id)
    fields = clean_store(payload, retailer.domains, partial=True)
    allow_duplicate = fields.pop("allow_duplicate", False)
    if "lon" in fields:  # a move: its new region (before the transaction: it takes ms)
        fields.update(locate(regions, fields["lon"], fields["lat"]))
    return unit_of_work(repo, lambda: _apply_update(repo, index, retailer, store_id, dict(fields),
                                                    allow_duplicate))


def _apply_update(repo, index, retailer, store_id, fields, allow_duplicate) -> dict:
    current = owned_store(repo, retailer, store_id)
    if fields.get("external_id") and fields["external_id"] != current["external_id"]:
        taken = repo.find_store_ids(retailer.id, [fields["external_id"]])
        if taken:
            raise FieldProblem([("external_id", f"external_id {fields['external_id']!r} is already used by "
                                                f"store {taken[fields['external_id']]}")], status=409,
                               code="conflict")
    lon = fields.get("lon", current["lon"])
    lat = fields.get("lat", current["lat"])
    status = fields.get("status", current["status"])
    brand = fields.get("brand", current["brand"])
    moved_or_reopened = "lon" in fields or "brand" in fields or (status == "open" and current["status"] != "open")
    if status == "open" and moved_or_reopened and not allow_duplicate:
        dup = find_duplicate(index, brand, lon, lat, ignore_id=store_id)
        if dup:
            raise _duplicate_problem(dup, brand)
    return repo.update_store(store_id, fields, actor=retailer.actor)


def close(repo: StoreRepository, retailer: Principal, store_id: int) -> dict:
    """Close a store: it leaves the searches, its record and history stay."""
    with repo.transaction():
        owned_store(repo, retailer, store_id)
        return repo.update_store(store_id, {"status": "closed"}, actor=retailer.actor)


def history(repo: StoreRepository, retailer: Principal, store_id: int) -> list[dict]:
    """Who changed one of the retailer's stores and how, oldest first: its registration
    (``"change": "created"``, ``before`` empty, ``after`` the fields it was registered with as far as
    they are still known: none), then each change with the values ``before`` and ``after`` it.
    ``actor`` is the person's e-mail or the API key's name (None for changes made before actors were
    recorded, and for stores of the demo seed)."""
    store = owned_store(repo, retailer, store_id)
    created_by = repo.store_creator(store_id)
    entries = [{"rev": None, "changed_at": store["created_at"], "change": "created", "actor": created_by,
                "before": {}, "after": {}}]
    for entry in repo.store_history(store_id):
        entries.append({"rev": entry["rev"], "changed_at": entry["changed_at"], "change": "updated",
                        "actor": entry.get("actor"), "before": entry["before"], "after": entry.get("after") or {}})
    return entries
