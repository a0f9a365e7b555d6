"""Store Features for the hot search endpoints, serialised once per store version and reused.

A nearby answer is twenty stores of which only the distance, the open-now flag and the host in
the ``/go`` link change from one request to the next. Everything else is serialised once (with
orjson) when a store is first asked for, and kept until the store changes: the process learns
of every change through the same revision check that keeps its spatial index fresh, and drops
those stores from this cache then.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import NamedTuple

import orjson

from ..geo.hours import HoursError, parse_hours, parse_special
from ..seed.catalogue import brand_zh, category_zh
from ..services.finder import brand_slug
from ..services.store_cache import StoreCache
from . import geojson


_GO_URL, _OPEN_NOW = b',"go_url":"', b'","open_now":'


class Fragment:
    """A store's Feature as bytes, but for this request's ``go_url`` host, ``open_now`` and distance.

    It keeps one prefix: ``head`` (``'{"type":"Feature",…,"properties":{…'``), then ``go_url`` for
    the host last asked for, up to ``"open_now":``. A host is the same from one request to the next
    (``O2O_PUBLIC_URL``, or the one name the site is reached by), so a Feature is two joins; another
    host rebuilds the prefix from the head it begins with (no second copy of the head is kept)."""

    __slots__ = ("_prefix", "head_len", "ranges", "id_bytes", "special", "_flag")

    def __init__(self, head: bytes, ranges: tuple | None, id_bytes: bytes = b"", special: dict | None = None):
        self._prefix = (b"", head + _GO_URL + id_bytes + _OPEN_NOW)  # (go_base, prefix): one atomic swap
        self.head_len = len(head)
        self.ranges = ranges          # parsed opening hours, None if unknown
        self.id_bytes = id_bytes
        self.special = special        # festival hours, parsed: {date: ranges}, None if none
        self._flag = None             # (moment, open_now) last answered: the minute repeats

    @property
    def head(self) -> bytes:
        return self._prefix[1][:self.head_len]

    def prefix(self, go_base: bytes) -> bytes:
        """``head`` and ``go_url`` for ``go_base``, up to ``"open_now":``."""
        held = self._prefix
        if held[0] != go_base:
            held = (go_base, b"".join((held[1][:self.head_len], _GO_URL, go_base, self.id_bytes, _OPEN_NOW)))
            self._prefix = held
        return held[1]

    def open_now(self, at: "Moment") -> bytes:
        """``open_now`` at ``at`` as JSON (the last minute's answer kept: one swap, thread-safe)."""
        held = self._flag
        if held is not None and held[0] == at:
            return held[1]
        flag = _open_flag(self, at)
        self._flag = (at, flag)
        return flag


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

    def all_held(self, store_ids: list[int]) -> dict[int, Fragment] | None:
        """The fragments of ``store_ids`` if every one is cached, else None (no database read; a
        single dict look-up each, atomic under the GIL, so no lock is taken)."""
        get = self._entries.get
        out = {}
        for sid in store_ids:
            frag = get(sid)
            if frag is None:
                return None
            out[sid] = frag
        return out

    @staticmethod
    def feature(frag: Fragment, store_id: int, go_base: bytes, at: Moment, distance_m: float | None) -> bytes:
        """One Feature: the cached part, then this request's go_url, open_now (at ``at``) and distance_m.

        ``go_base`` is the ``/go/`` URL prefix of this request's host (``b"https://host/go/"``).
        """
        if distance_m is None:
            return b"".join((frag.prefix(go_base), frag.open_now(at), b"}}"))
        return b"".join((frag.prefix(go_base), frag.open_now(at), b',"distance_m":%.1f}}' % distance_m))


_OPEN = b'{"type":"FeatureCollection","features":['


def collection(parts: list[bytes], members: dict | None = None) -> bytes:
    """A FeatureCollection from serialised Features, plus any extra top-level members."""
    body = _OPEN + b",".join(parts) + b"]"
    return body + _members(members) + b"}"


def _members(members: dict | None) -> bytes:
    return b"".join(b',"' + key.encode() + b'":' + (value if isinstance(value, bytes) else orjson.dumps(value))
                    for key, value in (members or {}).items())


class Nearest:
    """A nearby answer's FeatureCollection written piece by piece into one list and joined once
    (the hot path: twenty Features of ~1.3 kB each are copied once, not twice)."""

    __slots__ = ("pieces", "count")

    def __init__(self, frags: dict[int, Fragment], ids: list[int], distances: list[float], go_base: bytes,
                 at: Moment):
        pieces = [_OPEN]
        add = pieces.append
        count = 0
        for sid, d in zip(ids, distances):
            frag = frags.get(sid)
            if frag is None:
                continue
            if count:
                add(b",")
            add(frag.prefix(go_base))
            add(frag.open_now(at))
            add(b',"distance_m":%.1f}}' % d)
            count += 1
        self.pieces, self.count = pieces, count

    def body(self, members: dict | None = None) -> bytes:
        pieces = self.pieces
        pieces.append(b"]")
        if members:
            pieces.append(_members(members))
        pieces.append(b"}")
        return b"".join(pieces)
