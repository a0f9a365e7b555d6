"""China's three coordinate systems: WGS-84 (GPS), GCJ-02 (Amap, Tencent) and BD-09 (Baidu).

GCJ-02 is WGS-84 put through a published, deterministic obfuscation; BD-09 is a further
polar-coordinate shift of GCJ-02. The forward directions are closed formulas. The inverses
have no closed form, so they are solved iteratively (a fixed-point iteration on the forward
function), which reaches a few millimetres in a handful of steps, instead of the one-step
approximation (``wgs = 2 * gcj - f(gcj)``) that is off by up to several metres.

Every function is vectorised: it takes scalars or numpy arrays of longitudes and latitudes
and returns the same shape.

>>> lon, lat = wgs84_to_gcj02(116.391, 39.907)
>>> back = gcj02_to_wgs84(lon, lat)
>>> round(float(back[0]), 9), round(float(back[1]), 9)
(116.391, 39.907)
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np

# The systems' names, once: the type of every `crs` field (so the OpenAPI enum comes from here).
Crs = Literal["wgs84", "gcj02", "bd09"]
WGS84, GCJ02, BD09 = SYSTEMS = get_args(Crs)

# Krasovsky 1940 ellipsoid, as used by the GCJ-02 algorithm.
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0

# Outside this box GCJ-02 equals WGS-84 (the obfuscation applies only to China).
_CHINA_BOX = (72.004, 0.8293, 137.8347, 55.8271)


def in_china_box(lon, lat):
    """True where a point lies in the rectangle inside which GCJ-02 differs from WGS-84."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    min_lon, min_lat, max_lon, max_lat = _CHINA_BOX
    return (lon >= min_lon) & (lon <= max_lon) & (lat >= min_lat) & (lat <= max_lat)


def _offsets(lon, lat):
    """The GCJ-02 shift (dlon, dlat) in degrees at WGS-84 position (lon, lat)."""
    x = lon - 105.0
    y = lat - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x
    dlat = dlat + common
    dlat = dlat + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat = dlat + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x
    dlon = dlon + common
    dlon = dlon + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon = dlon + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    rad_lat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    return dlon, dlat


def _as_arrays(lon, lat):
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def _shaped(lon, lat, like):
    if np.ndim(like) == 0:
        return float(lon), float(lat)
    return lon, lat


def wgs84_to_gcj02(lon, lat):
    """WGS-84 → GCJ-02 (closed form). Points outside China pass through unchanged."""
    lon_a, lat_a = _as_arrays(lon, lat)
    dlon, dlat = _offsets(lon_a, lat_a)
    inside = in_china_box(lon_a, lat_a)
    out_lon = np.where(inside, lon_a + dlon, lon_a)
    out_lat = np.where(inside, lat_a + dlat, lat_a)
    return _shaped(out_lon, out_lat, lon)


def _invert(forward, lon, lat, tol_deg=1e-10, max_iter=30):
    """Solve forward(w) = (lon, lat) for w by fixed-point iteration w ← w − (forward(w) − target)."""
    target_lon, target_lat = _as_arrays(lon, lat)
    w_lon, w_lat = target_lon.copy(), target_lat.copy()
    for _ in range(max_iter):
        f_lon, f_lat = forward(w_lon, w_lat)
        err_lon = np.asarray(f_lon) - target_lon
        err_lat = np.asarray(f_lat) - target_lat
        w_lon = w_lon - err_lon
        w_lat = w_lat - err_lat
        if np.nanmax(np.abs(err_lon), initial=0.0) < tol_deg and np.nanmax(
            np.abs(err_lat), initial=0.0
        ) < tol_deg:
            break
    return _shaped(w_lon, w_lat, lon)


def gcj02_to_wgs84(lon, lat):
    """GCJ-02 → WGS-84, iterative: the round trip with :func:`wgs84_to_gcj02` is within 1 cm."""
    return _invert(wgs84_to_gcj02, lon, lat)


def gcj02_to_bd09(lon, lat):
    """GCJ-02 → BD-09 (closed form)."""
    x, y = _as_arrays(lon, lat)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return _shaped(z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006, lon)


def bd09_to_gcj02(lon, lat):
    """BD-09 → GCJ-02, iterative inverse of :func:`gcj02_to_bd09`."""
    return _invert(gcj02_to_bd09, lon, lat)


def wgs84_to_bd09(lon, lat):
    """WGS-84 → BD-09."""
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    return gcj02_to_bd09(g_lon, g_lat)


def bd09_to_wgs84(lon, lat):
    """BD-09 → WGS-84, iterative end to end."""
    return _invert(wgs84_to_bd09, lon, lat)


_TO_WGS84 = {WGS84: lambda lon, lat: (lon, lat), GCJ02: gcj02_to_wgs84, BD09: bd09_to_wgs84}
_FROM_WGS84 = {WGS84: lambda lon, lat: (lon, lat), GCJ02: wgs84_to_gcj02, BD09: wgs84_to_bd09}


def normalise_crs(name: str | None) -> str:
    """Canonical name of a coordinate system, accepting common spellings; ValueError if unknown.

    >>> normalise_crs("GCJ-02"), normalise_crs("baidu"), normalise_crs(None)
    ('gcj02', 'bd09', 'wgs84')
    """
    if name is None or str(name).strip() == "":
        return WGS84
    key = str(name).strip().lower().replace("-", "").replace("_", "").replace(" ", "")
    aliases = {
        "wgs84": WGS84, "wgs": WGS84, "gps": WGS84, "epsg4326": WGS84, "4326": WGS84,
        "gcj02": GCJ02, "gcj": GCJ02, "amap": GCJ02, "gaode": GCJ02, "tencent": GCJ02,
        "qq": GCJ02, "高德": GCJ02, "火星": GCJ02, "火星坐标": GCJ02,
        "bd09": BD09, "bd09ll": BD09, "baidu": BD09, "百度": BD09,
    }
    if key not in aliases:
        raise ValueError(f"unknown coordinate system {name!r}; use one of wgs84, gcj02, bd09")
    return aliases[key]


def to_wgs84(lon, lat, crs: str | None):
    """Convert from ``crs`` (any spelling :func:`normalise_crs` accepts) to WGS-84."""
    return _TO_WGS84[normalise_crs(crs)](lon, lat)


def from_wgs84(lon, lat, crs: str | None):
    """Convert from WGS-84 to ``crs``."""
    return _FROM_WGS84[normalise_crs(crs)](lon, lat)
