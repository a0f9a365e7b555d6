"""Vector tiles made by PostGIS (``ST_AsMVT``), the same tiles as :mod:`o2o.geo.tiles` makes from
the in-memory index: the same Web Mercator pixel arithmetic (the same formulas, in the same
order, on doubles), the same 64-pixel squares, the same rounding (``floor(v + 0.5)``).

The app serves its tiles from the index (no query per tile); this exists to compare the two
(``bench/bench_tiles.py``; ``tests/integration/test_tiles_postgis.py`` checks they agree), and for
a deployment that would rather have PostgreSQL make them.

Kept apart from :mod:`o2o.storage.postgis` (it only reads, with that repository's connections).
"""

from __future__ import annotations

from ..geo import tiles

# Below this zoom a tile is a large part of the world: a whole-table scan (a geography box that
# wide is not a lon/lat box). From it on, the GiST index on ``geog`` finds the candidates first:
# a box a little wider than the tile (its edges densified, so great circles follow the parallels).
INDEX_FROM_ZOOM = 3
MARGIN_DEG = 0.01

_SQL = """
WITH pts AS (
    SELECT s.id, s.name, s.brand, s.category,
           (s.lon + 180.0) / 360.0 * ?::float8 AS px,
           (1.0 - ln(tan(radians(least(greatest(s.lat, ?::float8), ?::float8)))
                     + 1.0 / cos(radians(least(greatest(s.lat, ?::float8), ?::float8)))) / pi()) / 2.0 * ?::float8 AS py
    FROM stores s{join}
    WHERE s.status = 'open'{where}
), inside AS (
    SELECT *, px - ?::float8 AS lx, py - ?::float8 AS ly FROM pts
    WHERE least(floor(px / 256.0), ?::float8) = ?::float8 AND least(floor(py / 256.0), ?::float8) = ?::float8
), squares AS (
    SELECT *, least(greatest(floor(lx / ?::float8), 0), ?::float8) AS cx,
              least(greatest(floor(ly / ?::float8), 0), ?::float8) AS cy
    FROM inside
), grouped AS (
    SELECT *, count(*) OVER w AS n, avg(px) OVER w AS apx, avg(py) OVER w AS apy,
              row_number() OVER w AS k
    FROM squares WINDOW w AS (PARTITION BY {partition})
)
SELECT ST_AsMVT(f, 'stores', 4096, 'geom', 'fid') FROM (
    SELECT id AS fid, id, name, brand, category, NULL::boolean AS cluster, NULL::bigint AS point_count,
           ST_MakePoint(floor(lx * 16.0 + 0.5), floor(ly * 16.0 + 0.5)) AS geom
    FROM grouped WHERE n = 1
    UNION ALL
    SELECT NULL, NULL, NULL, NULL, NULL, true, n,
           ST_MakePoint(floor((apx - ?::float8) * 16.0 + 0.5), floor((apy - ?::float8) * 16.0 + 0.5))
    FROM grouped WHERE n > 1 AND k = 1
) f
"""


def store_tile_mvt(repo, z: int, x: int, y: int, brands=None, retailers=None, categories=None,
                   cell_px: int = tiles.CELL_PX, cluster_below_zoom: int = tiles.CLUSTER_BELOW_ZOOM) -> bytes:
    """Tile ``z/x/y`` of the open stores as MVT bytes, made by ``ST_AsMVT`` on a
    :class:`~o2o.storage.postgis.PostgisRepository` (empty bytes: no store)."""
    scale = 256.0 * 2.0 ** z
    last = float(2 ** z - 1)
    ox, oy = x * 256.0, y * 256.0
    where, params = "", []
    if z >= INDEX_FROM_ZOOM:
        w, s, e, n = tiles.query_bounds(z, x, y)
        where += (" AND s.geog && ST_Segmentize(ST_MakeEnvelope(?, ?, ?, ?, 4326)::geography, 50000)")
        params += [max(-180.0, w - MARGIN_DEG), max(-90.0, s - MARGIN_DEG), min(180.0, e + MARGIN_DEG),
                   min(90.0, n + MARGIN_DEG)]
    flt, fparams = repo._filters(brands, retailers, categories)
    join = " JOIN retailers r ON r.id = s.retailer_id" if retailers else ""
    clustered = z < cluster_below_zoom
    per_side = float(256 // cell_px - 1)
    partition = "cx, cy" if clustered else "id"  # from that zoom on, every store alone
    sql = _SQL.format(join=join, where=where + flt, partition=partition)
    lat_max = tiles.MAX_MERCATOR_LAT
    args = [scale, -lat_max, lat_max, -lat_max, lat_max, scale, *params, *fparams,
            ox, oy, last, float(x), last, float(y),
            float(cell_px), per_side, float(cell_px), per_side, ox, oy]
    row = repo._query(sql, args, one=True)
    return bytes(row[0]) if row and row[0] is not None else b""
