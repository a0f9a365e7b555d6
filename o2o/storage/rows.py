"""Named rows the repository hands out (they are tuples too, so they unpack and compare as before).

Stores themselves travel as dicts with the contract's field names (:data:`o2o.storage.base.STORE_FIELDS`);
bulk scan batches as plain tuples in :data:`~o2o.storage.base.SCAN_FIELDS` order (millions of rows).
"""

from __future__ import annotations

from typing import NamedTuple


IndexRow = NamedTuple("IndexRow", [("id", int), ("lon", float), ("lat", float), ("brand", str),
                                   ("retailer", str), ("category", str), ("status", str)])
IndexRow.__doc__ = "What the in-memory index needs of a store."


class NameCount(NamedTuple):
    """A brand or category and its number of open stores."""
    name: str
    stores: int


class PlaceCount(NamedTuple):
    """Counted scans of one store in a window, with where the store is now."""
    store_id: int
    lon: float
    lat: float
    province: str | None
    city: str | None
    brand: str
    scans: int


class ProductPlaceCount(NamedTuple):
    """Counted scans of one product in a window in one district, the stores' places as they are now."""
    product_id: int
    province: str | None
    city: str | None
    district: str | None
    scans: int


class HourCount(NamedTuple):
    """Counted scans in the hour starting at ``hour`` (UTC epoch seconds)."""
    hour: int
    scans: int


class TimeRange(NamedTuple):
    """First and last counted scan (UTC epoch seconds), or ``(None, None)``."""
    first: int | None
    last: int | None


OpenStore = NamedTuple("OpenStore", [("id", int), ("lon", float), ("lat", float), ("brand", str), ("retailer", str),
                                     ("category", str), ("province", "str | None"), ("city", "str | None")])
OpenStore.__doc__ = "An open store as the analytics aggregate it."


class EndedSession(NamedTuple):
    """A signed-out session, remembered until ``expires_at`` (UTC epoch seconds)."""
    sid: str
    expires_at: int
