"""Great-circle distance on the sphere the contract defines (radius 6,371,008.8 m).

Distances are computed two equivalent ways: haversine from (lon, lat), and from the
straight-line chord between unit vectors, which is what the spatial index measures.
Chord length is a monotonic function of the great-circle angle, so ranking by chord
ranks by great-circle distance exactly: no projection, no 8 % of wrong neighbours.
"""

from __future__ import annotations

import numpy as np

EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lon1, lat1, lon2, lat2):
    """Great-circle distance in metres between (lon1, lat1) and (lon2, lat2), vectorised.

    >>> round(haversine_m(116.3975, 39.9087, 121.4737, 31.2304) / 1000)
    1068
    """
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(v, dtype=float)) for v in (lon1, lat1, lon2, lat2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    d = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return float(d) if d.ndim == 0 else d


def unit_vectors(lon, lat):
    """(N, 3) unit vectors on the sphere for arrays of longitudes and latitudes in degrees."""
    lon_r = np.radians(np.asarray(lon, dtype=float))
    lat_r = np.radians(np.asarray(lat, dtype=float))
    cos_lat = np.cos(lat_r)
    return np.column_stack((cos_lat * np.cos(lon_r), cos_lat * np.sin(lon_r), np.sin(lat_r)))


def chord_to_m(chord):
    """Great-circle metres for a chord length between unit vectors."""
    return 2.0 * EARTH_RADIUS_M * np.arcsin(np.minimum(np.asarray(chord, dtype=float) / 2.0, 1.0))


def m_to_chord(distance_m):
    """Chord length between unit vectors for a great-circle distance in metres."""
    angle = np.minimum(np.asarray(distance_m, dtype=float) / EARTH_RADIUS_M, np.pi)
    return 2.0 * np.sin(angle / 2.0)
