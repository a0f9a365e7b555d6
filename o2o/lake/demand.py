"""The searches' lake (issue 17): shoppers' searches as GeoParquet, and demand per H3 cell over it.

Like the scan lake (:mod:`.export`, :mod:`.query`), for the billion-row case: hive partitions by
Beijing day (``ROOT/day=2026-11-11/part-00000.parquet``), rows in time order, zstd. A row holds
what the database keeps, less the free text (``words`` and ``filters`` stay in the database: the
lake serves aggregations): ``search_id``, ``searched_at``, ``h3`` (the resolution-9 cell),
``kind``, ``brand``, ``category``, ``product_id``, ``results``, ``nearest_m``, ``unmet``, and a
``geometry`` that is the cell's centre (never the point searched from, which is not kept).

:func:`demand_cells_local` (one process, a pyarrow dataset scan) and :func:`demand_cells_dask`
(Dask, any scheduler) answer what :func:`o2o.services.demand.cells` answers from the database:
the same cells, searches and unmet counts (tested).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..storage.demand import SEARCH_FIELDS, UNMET_M, parent_cells
from . import layout

FORMAT = "o2o-searches-lake"
COLUMNS = ("search_id", "searched_at", "h3", "kind", "brand", "category", "product_id", "results", "nearest_m",
           "unmet", "geometry")
_F = {name: i for i, name in enumerate(SEARCH_FIELDS)}
CELLS_META = pd.DataFrame({"cell": pd.Series([], dtype="uint64"), "searches": pd.Series([], dtype="int64"),
                           "unmet": pd.Series([], dtype="int64")})


def _schema() -> pa.Schema:
    d = pa.dictionary(pa.int32(), pa.string())
    return pa.schema([pa.field("search_id", pa.int64(), nullable=False),
                      pa.field("searched_at", pa.timestamp("s", tz="UTC"), nullable=False),
                      pa.field("h3", pa.uint64()), pa.field("kind", d), pa.field("brand", d), pa.field("category", d),
                      pa.field("product_id", pa.int64()), pa.field("results", pa.int32()),
                      pa.field("nearest_m", pa.float64()), pa.field("unmet", pa.bool_(), nullable=False),
                      pa.field("geometry", pa.binary())])


SCHEMA = _schema()


def batch_table(rows: list[tuple]) -> tuple[pa.Table, np.ndarray]:
    """Rows in SEARCH_FIELDS order → (table of :data:`SCHEMA`, Beijing day numbers)."""
    cols = list(zip(*rows))
    col = lambda name: cols[_F[name]]  # noqa: E731
    at = np.asarray(col("searched_at"), dtype=np.int64)
    h3 = pd.array(col("h3"), dtype="UInt64")
    nearest = np.array([np.nan if v is None else v for v in col("nearest_m")], dtype=float)
    located = ~h3.isna()
    cells = h3.to_numpy(dtype=np.uint64, na_value=0)
    geometry = None
    if located.any():
        from ..services.demand import cell_centres

        lon, lat = np.full(len(rows), np.nan), np.full(len(rows), np.nan)
        lon[located], lat[located] = cell_centres(cells[located])
        wkb = layout.wkb_points(np.nan_to_num(lon), np.nan_to_num(lat))
        geometry = pa.array([w if ok else None for w, ok in zip(wkb.to_pylist(), located.tolist())], pa.binary())
    else:
        geometry = pa.nulls(len(rows), pa.binary())

    def dict_column(values):
        codes, labels = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
        return layout.dictionary(codes, [str(x) for x in labels])

    table = pa.table({
        "search_id": pa.array(np.asarray(col("id"), dtype=np.int64)),
        "searched_at": pa.array(at, type=pa.timestamp("s", tz="UTC")),
        "h3": pa.array(cells, type=pa.uint64(), mask=~located),
        "kind": dict_column(col("kind")), "brand": dict_column(col("brand")), "category": dict_column(col("category")),
        "product_id": pa.array(list(col("product_id")), type=pa.int64()),
        "results": pa.array(np.asarray(col("results"), dtype=np.int32)),
        "nearest_m": pa.array(nearest, mask=np.isnan(nearest)),
        "unmet": pa.array(np.isnan(nearest) | (nearest > UNMET_M)),
        "geometry": geometry,
    }, schema=SCHEMA)
    return table, layout.beijing_days(at)


def export_searches(repo, out_dir, batch_size: int = 200_000) -> dict:
    """Write every search of ``repo`` to a lake at ``out_dir`` (built aside, then swapped in)."""
    t0 = time.perf_counter()
    rows_total, files, max_id = 0, [], 0
    schema = SCHEMA.with_metadata({b"geo": __import__("json").dumps(layout.geo_metadata()).encode()})
    with layout.Staging(out_dir) as tmp:
        for n, rows in enumerate(repo.search_batches(batch_size)):
            if not rows:
                continue
            table, days = batch_table(rows)
            max_id = max(max_id, int(table.column("search_id").to_numpy().max()))
            order = np.argsort(days, kind="stable")
            table, days = table.take(pa.array(order)), days[order]
            bounds = np.flatnonzero(np.diff(days)) + 1
            for s, e in zip(np.concatenate([[0], bounds]).tolist(), np.concatenate([bounds, [len(days)]]).tolist()):
                path = Path(tmp) / f"day={layout.day_label(int(days[s]))}" / f"part-{n:05d}.parquet"
                path.parent.mkdir(parents=True, exist_ok=True)
                pq.write_table(table.slice(s, e - s).cast(schema), path, compression=layout.COMPRESSION)
                files.append(path)
            rows_total += len(rows)
        summary = {"rows": rows_total, "files": len(files), "max_search_id": max_id,
                   "bytes": sum(p.stat().st_size for p in files), "seconds": round(time.perf_counter() - t0, 3)}
        layout.write_manifest(tmp, summary, format=FORMAT, partitioning=["day"], columns=list(COLUMNS),
                              omitted="words and filters (free text stays in the database)")
    return summary


def search_filter(since=None, until=None, brands=(), categories=(), product_id=None) -> list[tuple]:
    """The pyarrow/Dask filter of located searches in ``[since, until)`` (epoch s) for these values."""
    f: list[tuple] = [("h3", ">", 0)]
    if since is not None:
        f += [("day", ">=", layout.beijing_day_of(int(since))),
              ("searched_at", ">=", pd.Timestamp(int(since), unit="s", tz="UTC"))]
    if until is not None:
        f += [("day", "<=", layout.beijing_day_of(int(until) - 1)),
              ("searched_at", "<", pd.Timestamp(int(until), unit="s", tz="UTC"))]
    for column, values in (("brand", brands), ("category", categories)):
        if values:
            f.append((column, "in", sorted(set(values))))
    if product_id is not None:
        f.append(("product_id", "==", int(product_id)))
    return f


def cell_counts(data, res: int) -> pd.DataFrame:
    """Searches and unmet searches per parent cell at ``res`` of one chunk (arrow or pandas)."""
    if isinstance(data, pd.DataFrame):
        h3, unmet = data["h3"].to_numpy(dtype=np.uint64), data["unmet"].to_numpy(dtype=bool)
    else:
        h3, unmet = data.column("h3").to_numpy(), data.column("unmet").to_numpy(zero_copy_only=False)
    if len(h3) == 0:
        return CELLS_META.copy()
    cells = parent_cells(h3, res)
    out = pd.DataFrame({"cell": cells, "searches": 1, "unmet": unmet.astype(np.int64)})
    return out.groupby("cell", as_index=False, sort=False).sum()


def _finish(parts: list[pd.DataFrame]) -> pd.DataFrame:
    from ..services.demand import frame

    if not parts:
        return CELLS_META.copy()
    df = pd.concat(parts).groupby("cell", as_index=False, sort=False).sum()
    return frame(list(df[["cell", "searches", "unmet"]].itertuples(index=False, name=None)))


def _dataset(path):
    import pyarrow.dataset as ds

    if not (Path(path) / layout.MANIFEST).exists():
        raise FileNotFoundError(f"no searches' lake at {path}")
    partitioning = ds.partitioning(pa.schema([("day", pa.string())]), flavor="hive")
    return ds.dataset(str(path), format="parquet", partitioning=partitioning)


def demand_cells_local(path, res: int, since=None, until=None, brands=(), categories=(),
                       product_id=None) -> pd.DataFrame:
    """Demand per H3 cell at ``res`` from the lake, in this process (as :func:`o2o.services.demand.cells`)."""
    flt = pq.filters_to_expression([search_filter(since, until, brands, categories, product_id)])
    parts = [cell_counts(b, res) for b in _dataset(path).to_batches(columns=["h3", "unmet"], filter=flt,
                                                                     batch_size=1 << 20) if b.num_rows]
    return _finish(parts)


def demand_cells_dask(path, res: int, since=None, until=None, brands=(), categories=(), product_id=None,
                      client=None) -> pd.DataFrame:
    """The same on Dask (``client``: a ``dask.distributed.Client``, or the current scheduler)."""
    import dask.dataframe as dd

    _dataset(path)
    ddf = dd.read_parquet(str(path), columns=["h3", "unmet"], filters=[search_filter(since, until, brands, categories,
                                                                                     product_id)])
    partial = ddf.map_partitions(cell_counts, res, meta=CELLS_META)
    summed = partial.groupby("cell").sum(split_out=1)
    result = client.compute(summed, sync=True) if client is not None else summed.compute()
    return _finish([result.reset_index()])
