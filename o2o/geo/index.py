"""An in-memory spatial index of open stores: exact great-circle k-nearest and radius queries.

Stores are held as unit vectors in a :class:`scipy.spatial.cKDTree`. The straight-line chord
between unit vectors grows monotonically with the great-circle angle, so the tree's nearest
neighbours *are* the great-circle nearest neighbours and its chord radius *is* a great-circle
radius: answers are exact, not approximations from a projection.

Filters (brand, retailer, category) are answered by a smaller tree per filter value, built on
first use, so a filtered query costs about as much as an unfiltered one instead of scanning
past thousands of other brands' stores.

Changes arrive while the app runs. A cKDTree cannot change, so the index is split the way
log-structured stores are: the *base* (arrays and trees built in one go) and a small *delta*
of stores added or moved since, scanned by brute force. A closed or moved store is masked out
of the base. When the delta or the masked share grows past a threshold, the base is rebuilt.

>>> idx = StoreIndex()
>>> idx.load([1, 2, 3], [116.39, 116.40, 121.47], [39.90, 39.91, 31.23],
...          brands=["Uniqlo", "GAP", "Uniqlo"], retailers=["FR", "Gap", "FR"],
...          categories=["Apparel"] * 3)
>>> ids, dist = idx.nearest(116.391, 39.901, k=2)
>>> ids.tolist()
[1, 2]
>>> idx.nearest(116.391, 39.901, k=5, brands=["Uniqlo"])[0].tolist()
[1, 3]
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
from scipy.spatial import cKDTree

from .distance import EARTH_RADIUS_M, unit_vectors

_TWO_R = 2.0 * EARTH_RADIUS_M
_EMPTY_IDS = np.empty(0, dtype=np.int64)
_EMPTY_F = np.empty(0, dtype=float)
_FIELDS = ("brand", "retailer", "category")


@dataclass(frozen=True)
class Filters:
    """Exact-name filters; ``None`` means "any". Within a field the names are OR-ed."""

    brands: tuple[str, ...] | None = None
    retailers: tuple[str, ...] | None = None
    categories: tuple[str, ...] | None = None

    @classmethod
    def of(cls, brands=None, retailers=None, categories=None) -> "Filters":
        def norm(values):
            if values is None:
                return None
            values = tuple(dict.fromkeys(v for v in values))
            return values or None

        return cls(norm(brands), norm(retailers), norm(categories))

    def is_empty(self) -> bool:
        return self.brands is None and self.retailers is None and self.categories is None

    def by_field(self):
        return {"brand": self.brands, "retailer": self.retailers, "category": self.categories}


_NO_FILTERS = Filters()


class _Vocab:
    """Maps names to small integer codes and back, so filters compare integers."""

    def __init__(self):
        self.code_of: dict[str, int] = {}
        self.names: list[str] = []

    def encode(self, name: str) -> int:
        code = self.code_of.get(name)
        if code is None:
            code = self.code_of[name] = len(self.names)
            self.names.append(name)
        return code

    def encode_many(self, names: Sequence[str]) -> np.ndarray:
        return np.fromiter((self.encode(n) for n in names), dtype=np.int32, count=len(names))

    def codes(self, names: Iterable[str]) -> list[int]:
        return [self.code_of[n] for n in names if n in self.code_of]


def _unit_vector(lon: float, lat: float) -> np.ndarray:
    # math on scalars is ~20x faster than numpy ufuncs on 0-d arrays: this is the hot path.
    lon_r = math.radians(lon)
    lat_r = math.radians(lat)
    cos_lat = math.cos(lat_r)
    return np.array((cos_lat * math.cos(lon_r), cos_lat * math.sin(lon_r), math.sin(lat_r)))


def _radius_to_chord(radius_m: float | None) -> float:
    if radius_m is None:
        return math.inf
    angle = min(radius_m / EARTH_RADIUS_M, math.pi)
    # A hair of slack so a store at exactly the radius is not lost to rounding; the exact
    # distance is checked again afterwards.
    return 2.0 * math.sin(angle / 2.0) * (1 + 1e-12) + 1e-15


class StoreIndex:
    """k-nearest and radius queries over open stores, exact on the sphere. Thread-safe."""

    def __init__(self, rebuild_fraction: float = 0.02, min_rebuild: int = 512):
        self.rebuild_fraction = rebuild_fraction
        self.min_rebuild = min_rebuild
        self._lock = threading.RLock()
        self._vocab = {f: _Vocab() for f in _FIELDS}
        self._set_base(_EMPTY_IDS, _EMPTY_F, _EMPTY_F, *(np.empty(0, np.int32) for _ in _FIELDS))

    # ----------------------------------------------------------------------------- building
    def load(self, ids, lon, lat, brands, retailers, categories) -> None:
        """Replace the whole index with these open stores (parallel sequences)."""
        ids = np.asarray(ids, dtype=np.int64)
        lon = np.asarray(lon, dtype=float)
        lat = np.asarray(lat, dtype=float)
        codes = [self._vocab[f].encode_many(list(v)) for f, v in zip(_FIELDS, (brands, retailers, categories))]
        with self._lock:
            self._set_base(ids, lon, lat, *codes)

    def _set_base(self, ids, lon, lat, brand, retailer, category) -> None:
        order = np.argsort(ids, kind="stable")
        ids, lon, lat = ids[order], lon[order], lat[order]
        if len(ids) > 1 and np.any(ids[1:] == ids[:-1]):
            raise ValueError("duplicate store ids in the index")
        self._ids = ids
        self._lon = lon
        self._lat = lat
        self._codes = {"brand": brand[order], "retailer": retailer[order], "category": category[order]}
        self._alive = np.ones(len(ids), dtype=bool)
        self._n_dead = 0
        self._tree = cKDTree(unit_vectors(lon, lat) if len(ids) else np.empty((0, 3)))
        self._subtrees: dict[tuple[str, int], tuple[cKDTree, np.ndarray]] = {}
        self._plans: dict[Filters, tuple] = {}
        self._lat_order = np.argsort(lat, kind="stable")
        self._lat_sorted = lat[self._lat_order]
        # The delta: id -> (lon, lat, xyz, brand code, retailer code, category code)
        self._delta: dict[int, tuple] = {}
        self._delta_arrays = None

    def _base_position(self, store_id: int) -> int:
        pos = int(np.searchsorted(self._ids, store_id))
        if pos < len(self._ids) and self._ids[pos] == store_id:
            return pos
        return -1

    def upsert(self, store_id: int, lon: float, lat: float, brand: str, retailer: str,
               category: str, is_open: bool = True) -> None:
        """Add, move or re-label a store; ``is_open=False`` removes it."""
        with self._lock:
            self._mask_out(store_id)
            if is_open:
                codes = tuple(self._vocab[f].encode(v) for f, v in zip(_FIELDS, (brand, retailer, category)))
                self._delta[int(store_id)] = (float(lon), float(lat), _unit_vector(lon, lat), *codes)
            self._delta_arrays = None
            self._maybe_rebuild()

    def remove(self, store_id: int) -> None:
        """Take a store out (closed or deleted). Unknown ids are ignored."""
        with self._lock:
            self._mask_out(store_id)
            self._delta_arrays = None
            self._maybe_rebuild()

    def _mask_out(self, store_id: int) -> None:
        self._delta.pop(int(store_id), None)
        pos = self._base_position(store_id)
        if pos >= 0 and self._alive[pos]:
            self._alive[pos] = False
            self._n_dead += 1

    def _maybe_rebuild(self) -> None:
        churn = len(self._delta) + self._n_dead
        if churn > max(self.min_rebuild, self.rebuild_fraction * len(self._ids)):
            self.compact()

    def compact(self) -> None:
        """Fold the delta into a freshly built base (done automatically when it grows)."""
        with self._lock:
            alive = self._alive
            ids = [self._ids[alive]]
            lon = [self._lon[alive]]
            lat = [self._lat[alive]]
            codes = {f: [self._codes[f][alive]] for f in _FIELDS}
            if self._delta:
                d_ids = np.fromiter(self._delta.keys(), dtype=np.int64, count=len(self._delta))
                rows = list(self._delta.values())
                ids.append(d_ids)
                lon.append(np.array([r[0] for r in rows]))
                lat.append(np.array([r[1] for r in rows]))
                for j, f in enumerate(_FIELDS):
                    codes[f].append(np.array([r[3 + j] for r in rows], dtype=np.int32))
            self._set_base(np.concatenate(ids), np.concatenate(lon), np.concatenate(lat),
                           *(np.concatenate(codes[f]) for f in _FIELDS))

    def __len__(self) -> int:
        return int(len(self._ids) - self._n_dead + len(self._delta))

    def __contains__(self, store_id: int) -> bool:
        if int(store_id) in self._delta:
            return True
        pos = self._base_position(store_id)
        return pos >= 0 and bool(self._alive[pos])

    @property
    def nbytes(self) -> int:
        """Approximate memory held by the base arrays and trees, in bytes."""
        arrays = [self._ids, self._lon, self._lat, self._alive,
                  self._lat_order, self._lat_sorted, *self._codes.values()]
        total = sum(a.nbytes for a in arrays)
        n_tree_points = self._tree.n + sum(t.n for t, _ in self._subtrees.values())
        # cKDTree keeps its data (n x 3 float64) and an index array (n x intp), plus nodes.
        total += n_tree_points * (3 * 8 + 8 + 8)
        total += sum(p.nbytes for _, p in self._subtrees.values())
        return int(total)

    # ----------------------------------------------------------------------------- querying
    def _sources(self, filters: Filters):
        """The trees to search and the post-filters, planned once per distinct filter."""
        plan = self._plans.get(filters)
        if plan is None:
            if len(self._plans) > 1024:
                self._plans.clear()
            plan = self._plans[filters] = self._plan(filters)
        return plan

    def _plan(self, filters: Filters):
        # Positions None: the whole base's tree, whose indices are base positions already.
        if filters.is_empty():
            return [(self._tree, None)], None
        by_field = filters.by_field()
        # Use the field whose chosen values cover the fewest stores; others are post-filters.
        best_field, best_codes, best_size = None, None, None
        for field, names in by_field.items():
            if names is None:
                continue
            codes = self._vocab[field].codes(names)
            size = sum(self._subtree(field, c)[0].n for c in codes)
            if best_size is None or size < best_size:
                best_field, best_codes, best_size = field, codes, size
        sources = [self._subtree(best_field, c) for c in best_codes]
        post = {f: np.array(self._vocab[f].codes(n), dtype=np.int32)
                for f, n in by_field.items() if n is not None and f != best_field}
        return sources, (post or None)

    def _subtree(self, field: str, code: int):
        key = (field, code)
        hit = self._subtrees.get(key)
        if hit is None:
            positions = np.flatnonzero(self._codes[field] == code)
            tree = cKDTree(unit_vectors(self._lon[positions], self._lat[positions])
                           if len(positions) else np.empty((0, 3)))
            hit = self._subtrees[key] = (tree, positions)
        return hit

    def _keep(self, positions: np.ndarray, post) -> np.ndarray:
        keep = self._alive[positions] if self._n_dead else np.ones(len(positions), dtype=bool)
        if post is not None:
            for field, codes in post.items():
                keep &= np.isin(self._codes[field][positions], codes)
        return keep

    def nearest(self, lon: float, lat: float, k: int = 20, radius_m: float | None = None,
                brands=None, retailers=None, categories=None, filters: Filters | None = None):
        """The ``k`` open stores nearest to (lon, lat), nearest first, optionally within ``radius_m``.

        Returns ``(ids, distances_m)``, two numpy arrays. Ties in distance are broken by id.
        """
        if filters is None:
            filters = (_NO_FILTERS if brands is None and retailers is None and categories is None
                       else Filters.of(brands, retailers, categories))
        q = _unit_vector(lon, lat)
        bound = _radius_to_chord(radius_m)
        if k <= 0:
            return _EMPTY_IDS, _EMPTY_F
        # One more than asked: if the (k+1)-th is as far as the k-th, stores tie at the cut and
        # the search widens until it sees all of them, so the lowest ids among them are kept.
        kq = k + 1
        with self._lock:
            sources, post = self._sources(filters)
            clean = len(sources) == 1 and post is None and not self._n_dead and not self._delta
            while True:
                if clean:
                    ids, chord = self._query_clean(sources[0], q, kq, bound)  # the common case
                else:
                    ids, chord = self._query_general(sources, post, q, kq, bound, filters)
                if len(ids) < kq or chord[k] != chord[k - 1]:
                    break
                kq *= 2
        if len(ids) > 1 and (chord[1:] == chord[:-1]).any():  # ties: break by id
            order = np.lexsort((ids, chord))
            ids, chord = ids[order], chord[order]
        ids, chord = ids[:k], chord[:k]
        # chord -> great-circle metres, in place: 2R·asin(min(c/2, 1))
        dist = chord * 0.5
        np.minimum(dist, 1.0, out=dist)
        np.arcsin(dist, out=dist)
        dist *= _TWO_R
        if radius_m is not None and len(dist) and dist[-1] > radius_m:
            inside = dist <= radius_m
            ids, dist = ids[inside], dist[inside]
        return ids, dist

    def _query_clean(self, source, q, k, bound):
        """One tree, nothing masked, no delta: the tree's answer is the answer."""
        tree, positions = source
        n = tree.n
        if n == 0:
            return _EMPTY_IDS, _EMPTY_F
        kk = min(k, n)
        d, i = tree.query(q, k=kk, distance_upper_bound=bound)
        if kk == 1:
            d, i = np.atleast_1d(d), np.atleast_1d(i)
        if i[-1] >= n:  # misses (beyond the radius) sort last: cut them off
            cut = int(np.argmax(i >= n))
            d, i = d[:cut], i[:cut]
        pos = i if positions is None else positions[i]
        return self._ids[pos], d

    def _query_general(self, sources, post, q, k, bound, filters):
        """Several trees, masked stores or a delta: query each, widen past masked ones, merge."""
        found_ids, found_d = [], []
        for tree, positions in sources:
            n = tree.n
            if n == 0:
                continue
            kk = min(k, n)
            while True:
                d, i = tree.query(q, k=kk, distance_upper_bound=bound)
                if kk == 1:
                    d, i = np.atleast_1d(d), np.atleast_1d(i)
                hit = i < n
                full = bool(hit.all())
                d, i = d[hit], i[hit]
                pos = i if positions is None else positions[i]
                if post is None and not self._n_dead:
                    break
                keep = self._keep(pos, post)
                if full and kk < n and keep.sum() < k:
                    kk = min(n, kk * 4)  # too many masked out: look further
                    continue
                d, pos = d[keep], pos[keep]
                break
            found_ids.append(self._ids[pos])
            found_d.append(d)
        if self._delta:
            d_ids, d_chord = self._delta_nearest(q, filters, bound)
            found_ids.append(d_ids)
            found_d.append(d_chord)
        if not found_ids:
            return _EMPTY_IDS, _EMPTY_F
        ids, chord = np.concatenate(found_ids), np.concatenate(found_d)
        order = np.lexsort((ids, chord))[:k]
        return ids[order], chord[order]

    def _delta_view(self):
        if self._delta_arrays is None:
            rows = list(self._delta.values())
            self._delta_arrays = (
                np.fromiter(self._delta.keys(), dtype=np.int64, count=len(rows)),
                np.array([r[2] for r in rows]).reshape(-1, 3),
                {f: np.array([r[3 + j] for r in rows], dtype=np.int32) for j, f in enumerate(_FIELDS)},
                np.array([r[0] for r in rows]),
                np.array([r[1] for r in rows]),
            )
        return self._delta_arrays

    def _delta_mask(self, codes, filters: Filters, n: int) -> np.ndarray:
        keep = np.ones(n, dtype=bool)
        for field, names in filters.by_field().items():
            if names is not None:
                keep &= np.isin(codes[field], self._vocab[field].codes(names))
        return keep

    def _delta_nearest(self, q, filters: Filters, bound: float):
        ids, xyz, codes, _, _ = self._delta_view()
        chord = np.sqrt(((xyz - q) ** 2).sum(axis=1))
        keep = self._delta_mask(codes, filters, len(ids)) & (chord <= bound)
        return ids[keep], chord[keep]

    def in_bbox(self, min_lon: float, min_lat: float, max_lon: float, max_lat: float,
                brands=None, retailers=None, categories=None, filters: Filters | None = None):
        """Open stores inside a lon/lat box: ``(ids, lon, lat)`` arrays, in no particular order."""
        if filters is None:
            filters = Filters.of(brands, retailers, categories)
        with self._lock:
            lo = np.searchsorted(self._lat_sorted, min_lat, side="left")
            hi = np.searchsorted(self._lat_sorted, max_lat, side="right")
            pos = self._lat_order[lo:hi]
            lon = self._lon[pos]
            pos = pos[(lon >= min_lon) & (lon <= max_lon)]
            if self._n_dead:
                pos = pos[self._alive[pos]]
            for field, names in filters.by_field().items():
                if names is not None:
                    pos = pos[np.isin(self._codes[field][pos], self._vocab[field].codes(names))]
            out = [(self._ids[pos], self._lon[pos], self._lat[pos])]
            if self._delta:
                d_ids, _, codes, d_lon, d_lat = self._delta_view()
                keep = self._delta_mask(codes, filters, len(d_ids))
                keep &= (d_lon >= min_lon) & (d_lon <= max_lon) & (d_lat >= min_lat) & (d_lat <= max_lat)
                out.append((d_ids[keep], d_lon[keep], d_lat[keep]))
        if len(out) == 1:
            return out[0]
        return tuple(np.concatenate(parts) for parts in zip(*out))
