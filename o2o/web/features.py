"""Store Features for the hot search endpoints, serialised once per store version and reused.

A nearby answer is twenty stores of which only the distance, the open-now flag and the host in
the ``/go`` link change from one request to the next. Everything else is serialised once (with
orjson) when a store is first asked for, and kept until the store changes: the process learns
of every change through the same revision check that keeps its spatial index fresh, and drops
those stores from this cache then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple

import orjson

from ..geo.hours import HoursError, parse_hours, parse_special
from ..seed.catalogue import brand_zh, category_zh
from ..services.finder import brand_slug
from ..services.store_cache import StoreCache
from . import geojson


@dataclass(frozen=True)
class Fragment:
    head: bytes                      # '{"type":"Feature",…,"properties":{…' without the closing braces
    ranges: tuple | None             # parsed opening hours, None if unknown
    id_bytes: bytes = b""
    special: dict | None = None      # festival hours, parsed: {date: ranges}, None if none


ONE_DAY = timedelta(days=1)


class Moment(NamedTuple):
    """When a batch of Features is answered: the Beijing date and minute of the day."""
    day: date
    minute: int


def moment(now: datetime) -> Moment:
    """``now`` (Beijing time) as the Features' open-now flags need it."""
    return Moment(now.date(), now.hour * 60 + now.minute)


def _open_flag(frag: Fragment, at: Moment) -> bytes:
    """``open_now`` as JSON: as :func:`o2o.geo.hours.is_open_at` decides, from the parsed hours."""
    minute = at.minute
    if frag.special:   # festival hours: a dated exception replaces that day's hours
        today = frag.special.get(at.day, frag.ranges)
        yesterday = frag.special.get(at.day - ONE_DAY, frag.ranges)
        if today is None and yesterday is None:
            return b"null"
        if any(start <= minute < end for start, end in today or ()) \
                or any(start <= minute + 1440 < end for start, end in yesterday or ()):
            return b"true"
        return b"false"
    if frag.ranges is None:
        return b"null"
    for start, end in frag.ranges:
        if start <= minute < end or start <= minute + 1440 < end:
            return b"true"
    return b"false"


class FeatureCache(StoreCache[Fragment]):
    """WGS-84 store Features as bytes, by store id; bounded, dropped when a store changes."""

    def __init__(self, max_entries: int = 100_000):
        super().__init__(max_entries)

    def _build(self, store: dict) -> Fragment:
        props = dict(store)
        props["category_zh"] = category_zh(store["category"])
        props["brand_zh"] = brand_zh(store["brand"])
        props["brand_slug"] = brand_slug(store["brand"])
        props["nav"] = geojson.nav_links(store)
        props["url"] = f"/stores/{store['id']}"
        head = (b'{"type":"Feature","id":' + str(store["id"]).encode()
                + b',"geometry":' + orjson.dumps({"type": "Point", "coordinates": [store["lon"], store["lat"]]})
                + b',"properties":' + orjson.dumps(props)[:-1])
        try:
            ranges = tuple(parse_hours(store["hours"])) if store.get("hours") else None
        except HoursError:
            ranges = None
        try:
            special = parse_special(store.get("special_hours")) or None
        except HoursError:
            special = None
        return Fragment(head, ranges, str(store["id"]).encode(), special)

    def fragments(self, repo, store_ids: list[int]) -> dict[int, Fragment]:
        """Fragments of open stores among ``store_ids`` (fetching and serialising the missing ones)."""
        return self._get_many(store_ids, lambda missing: {
            s["id"]: self._build(s) for s in repo.get_stores(missing) if s["status"] == "open"})

    def held(self, store_ids: list[int]) -> dict[int, Fragment]:
        """The fragments of ``store_ids`` that are cached (no database read)."""
        entries = self._entries
        with self._lock:
            return {sid: frag for sid in store_ids if (frag := entries.get(sid)) is not None}

    @staticmethod
    def feature(frag: Fragment, store_id: int, go_base: bytes, at: Moment, distance_m: float | None) -> bytes:
        """One Feature: the cached part, then this request's go_url, open_now (at ``at``) and distance_m.

        ``go_base`` is the ``/go/`` URL prefix of this request's host (``b"https://host/go/"``).
        """
        parts = [frag.head, b',"go_url":"', go_base, frag.id_bytes, b'","open_now":', _open_flag(frag, at)]
        if distance_m is not None:
            parts += [b',"distance_m":', b"%.1f" % distance_m]
        parts.append(b"}}")
        return b"".join(parts)


def collection(parts: list[bytes], members: dict | None = None) -> bytes:
    """A FeatureCollection from serialised Features, plus any extra top-level members."""
    body = b'{"type":"FeatureCollection","features":[' + b",".join(parts) + b"]"
    for key, value in (members or {}).items():
        body += b',"' + key.encode() + b'":' + (value if isinstance(value, bytes) else orjson.dumps(value))
    return body + b"}"
