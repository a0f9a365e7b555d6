"""Heatmap and per-region counts over the lake: on Dask (any cluster), or in one process.

Both paths read the same files with the same pushed-down filter (:func:`scan_filter`): whole
``day=`` directories are skipped outside the time window (and ``province=`` directories outside
a province filter), row groups whose statistics miss the window or the bounding box are skipped,
and only counted scans of the brands/retailers/categories asked for come out of the reader. Each
chunk of rows is reduced where it was read (H3 cells of whole arrays with h3ronpy; counts per
store with one hash over integer codes) and only the small partial counts travel: on Dask a tree
reduction of ``groupby(...).sum()`` over the partitions, in one process a running sum over
pyarrow record batches.

The Dask functions take a ``client`` (``dask.distributed.Client``: a ``LocalCluster`` here, or
``Client("tcp://scheduler:8786")`` on a real cluster — the code is the same) or use whatever
Dask scheduler is current. The lake must be readable from every worker at the same path: a
shared disk, or an object-store URI (``s3://bucket/scans``) pyarrow understands; and ``o2o``
must be importable on the workers (the same image as the client).
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pandas as pd
import pyarrow as pa

from ..geo import h3agg
from . import layout

REGION_LEVELS = ("province", "city")
STORE_KEYS = ["province", "city", "brand", "store_id"]
ENGINES = ("files", "read_parquet")
TASK_BYTES = 32_000_000   # files grouped into Dask tasks of about this many bytes (a big file alone)


# --------------------------------------------------------------------------- the filter
def _epoch(value) -> int | None:
    if value is None:
        return None
    if isinstance(value, str):
        from ..services.windows import parse_time

        return parse_time(value)
    return int(value)


def scan_filter(since=None, until=None, brands=(), retailers=(), categories=(), provinces=(),
                bbox=None) -> list[list[tuple]]:
    """The pyarrow/Dask filter (one AND-term in DNF) for counted scans in ``[since, until)`` (UTC
    epoch seconds or ISO 8601; no zone = UTC) of these brands/retailers/categories/provinces,
    inside ``bbox`` (west, south, east, north).

    The time window also bounds the ``day`` partitions (Beijing days), so a one-hour window
    opens one day's directories and no others.
    """
    since, until = _epoch(since), _epoch(until)
    f: list[tuple] = [("counted", "==", True)]
    if since is not None:
        f += [("day", ">=", layout.beijing_day_of(since)),
              ("scanned_at", ">=", pd.Timestamp(since, unit="s", tz="UTC"))]
    if until is not None:
        f += [("day", "<=", layout.beijing_day_of(until - 1)),
              ("scanned_at", "<", pd.Timestamp(until, unit="s", tz="UTC"))]
    for column, values in (("brand", brands), ("retailer", retailers), ("category", categories),
                           ("province", provinces)):
        if values:
            f.append((column, "in", sorted(set(values))))
    if bbox is not None:
        w, s, e, n = (float(v) for v in bbox)
        f += [("lon", ">=", w), ("lon", "<=", e), ("lat", ">=", s), ("lat", "<=", n)]
    return [f]


def _split_filter(flt) -> tuple[list[tuple], list[tuple]]:
    """(predicates on the partition directories, predicates on the rows) of a one-term filter."""
    (terms,) = flt
    return ([t for t in terms if t[0] in layout.PARTITION_COLUMNS],
            [t for t in terms if t[0] not in layout.PARTITION_COLUMNS])


_OPS = {"==": lambda a, b: a == b, "!=": lambda a, b: a != b, ">=": lambda a, b: a >= b,
        "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, "<": lambda a, b: a < b,
        "in": lambda a, b: a in b, "not in": lambda a, b: a not in b}


def _matches(values: dict, predicates) -> bool:
    for column, op, value in predicates:
        have = values.get(column)
        if have is None:  # a null partition (no province) satisfies only negations
            if op in ("!=", "not in"):
                continue
            return False
        if not _OPS[op](have, value):
            return False
    return True


# --------------------------------------------------------------------------- per-chunk reductions
CELLS_META = pd.DataFrame({"cell": pd.Series([], dtype="uint64"), "count": pd.Series([], dtype="int64")})
STORES_META = pd.DataFrame({"province": pd.Series([], dtype=object), "city": pd.Series([], dtype=object),
                            "brand": pd.Series([], dtype=object), "store_id": pd.Series([], dtype="int64"),
                            "count": pd.Series([], dtype="int64")})


def _as_table(data) -> pa.Table:
    if isinstance(data, pd.DataFrame):
        return pa.Table.from_pandas(data, preserve_index=False)
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    return data


def _codes(column) -> tuple[np.ndarray, np.ndarray]:
    """(int64 codes with -1 for null, labels as an object array) of a string-ish arrow column."""
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if not pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_encode()
    codes = arr.indices.to_numpy(zero_copy_only=False)
    codes = np.where(np.asarray(arr.indices.is_null()), -1, codes).astype(np.int64) if arr.null_count else \
        codes.astype(np.int64)
    return codes, np.asarray(arr.dictionary.to_pylist(), dtype=object)


def cell_counts(data, res: int, dedupe: bool = True) -> pd.DataFrame:
    """Scans per H3 cell of one chunk of rows (an arrow table/batch or a frame with ``lon``, ``lat``).

    With ``dedupe`` (the default) each distinct point is put in its cell once, weighted by how
    often it occurs: exact for any data, and ~10× less H3 work here because a scan row carries
    its store's location (30,000 distinct points however many scans).
    """
    table = _as_table(data)
    if table.num_rows == 0:
        return CELLS_META.copy()
    lon = table.column("lon").to_numpy()
    lat = table.column("lat").to_numpy()
    if dedupe:
        x, ux = pd.factorize(lon)
        y, uy = pd.factorize(lat)
        codes, pairs = pd.factorize(x.astype(np.int64) * len(uy) + y)
        weights = np.bincount(codes, minlength=len(pairs))
        cells = h3agg.cells(ux[pairs // len(uy)], uy[pairs % len(uy)], res)
        counts = pd.Series(weights, index=cells).groupby(level=0, sort=False).sum()
    else:
        counts = pd.Series(h3agg.cells(lon, lat, res)).value_counts(sort=False)
    return pd.DataFrame({"cell": counts.index.to_numpy(np.uint64), "count": counts.to_numpy(np.int64)})


def store_counts(data) -> pd.DataFrame:
    """Scans per store of one chunk of rows, keyed by (province, city, brand, store_id): a store
    that moved between regions keeps one row per region. One hash over packed integer codes."""
    table = _as_table(data)
    if table.num_rows == 0:
        return STORES_META.copy()
    sid = table.column("store_id").to_numpy().astype(np.int64)
    parts = [_codes(table.column(k)) for k in ("province", "city", "brand")]
    radix = [len(labels) + 1 for _, labels in parts]        # code -1 (null) → 0
    if int(sid.max()) * radix[0] * radix[1] * radix[2] >= 2 ** 62:
        raise OverflowError("store ids too large to pack with their region codes")
    key = sid.copy()
    for (codes, _), r in zip(parts, radix):
        key = key * r + (codes + 1)
    codes, uniq = pd.factorize(key)
    counts = np.bincount(codes, minlength=len(uniq)).astype(np.int64)
    out, rest = {}, uniq
    for name, (_, labels), r in zip(("brand", "city", "province"), parts[::-1], radix[::-1]):
        labels_null = np.append(labels, None)            # index -1 → None
        out[name] = labels_null[(rest % r) - 1]
        rest = rest // r
    return pd.DataFrame({"province": out["province"], "city": out["city"], "brand": out["brand"],
                         "store_id": rest.astype(np.int64), "count": counts})


def finish_cells(cells: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Summed partial cells → ``(cells, total)``, largest first then by cell id (as ``h3agg``)."""
    if "cell" not in cells.columns:
        cells = cells.reset_index()
    cells = cells[["cell", "count"]].astype({"cell": "uint64", "count": "int64"})
    cells = cells[cells["count"] > 0]
    cells = cells.sort_values(["count", "cell"], ascending=[False, True], kind="stable").reset_index(drop=True)
    return cells, int(cells["count"].sum())


def regions_from_stores(per_store: pd.DataFrame, level: str = "province") -> pd.DataFrame:
    """Per province (or city): counted scans, stores with any, the busiest brand (ties: the first
    name) and its scans, the share of all scans; busiest first. ``per_store`` as :func:`store_counts`."""
    if level not in REGION_LEVELS:
        raise ValueError("level must be province or city")
    keys = ["province"] if level == "province" else ["province", "city"]
    cols = keys + ["scans", "stores_scanned", "top_brand", "top_brand_scans", "share"]
    per_store = per_store[per_store["count"] > 0].astype({k: object for k in keys + ["brand"]})
    per_store = per_store.dropna(subset=keys)  # as the SQL path: a scan with no region is in none
    if per_store.empty:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in cols})
    out = per_store.groupby(keys).agg(scans=("count", "sum"), stores_scanned=("store_id", "nunique"))
    by_brand = per_store.groupby(keys + ["brand"])["count"].sum().reset_index()
    top = (by_brand.sort_values(["count", "brand"], ascending=[False, True], kind="stable")
           .drop_duplicates(keys).set_index(keys).rename(columns={"brand": "top_brand", "count": "top_brand_scans"}))
    out = out.join(top, how="left")
    out["share"] = (out["scans"] / out["scans"].sum()).round(4)
    out = out.reset_index().sort_values(["scans"] + keys, ascending=[False] + [True] * len(keys), kind="stable")
    out = out.astype({"scans": "int64", "stores_scanned": "int64", "top_brand_scans": "int64"})
    return out[cols].reset_index(drop=True)


def _sum_stores(parts: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(parts).groupby(STORE_KEYS, dropna=False, sort=False)["count"].sum().reset_index()


def _sum_cells(parts: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(parts).groupby("cell", as_index=False, sort=False)["count"].sum()


# --------------------------------------------------------------------------- the lake's files
def _fs_and_root(path, filesystem=None):
    import pyarrow.fs as pafs

    text = str(path)
    if filesystem is not None:
        return filesystem, text
    if "://" not in text:
        return pafs.LocalFileSystem(), str(Path(text).resolve())
    return pafs.FileSystem.from_uri(text)


def lake_files(path, flt=None, filesystem=None) -> list[tuple[str, dict, int]]:
    """``(file, {"day": …, "province": …}, bytes)`` of each data file of the lake whose partition
    directories can hold rows of ``flt`` (hidden and ``_`` files skipped); sorted by path."""
    import pyarrow.fs as pafs

    fs, root = _fs_and_root(path, filesystem)
    if fs.get_file_info(root).type != pafs.FileType.Directory:
        raise FileNotFoundError(f"no scan lake at {path}")
    part_preds = _split_filter(flt)[0] if flt else []
    out = []
    for info in fs.get_file_info(pafs.FileSelector(root, recursive=True)):
        if info.type != pafs.FileType.File or not info.path.endswith(".parquet"):
            continue
        rel = info.path[len(root):].lstrip("/").split("/")
        if any(seg.startswith((".", "_")) for seg in rel):
            continue
        values = {}
        for seg in rel[:-1]:
            key, eq, value = seg.partition("=")
            if eq and key in layout.PARTITION_COLUMNS:
                values[key] = None if value == layout.NULL_PARTITION else unquote(value)
        if _matches(values, part_preds):
            out.append((info.path, values, info.size))
    return sorted(out)


def _task_groups(files, task_bytes: int) -> list[list[tuple[str, dict]]]:
    groups, current, size = [], [], 0
    for path, values, nbytes in files:
        if current and size + nbytes > task_bytes:
            groups.append(current)
            current, size = [], 0
        current.append((path, values))
        size += nbytes
    if current:
        groups.append(current)
    return groups


def read_group(group, columns, row_filter, filesystem=None) -> pa.Table:
    """The rows matching ``row_filter`` of a group of lake files, as one arrow table with the
    partition columns asked for filled in from the directory names (dictionary-encoded)."""
    import pyarrow.parquet as pq

    expr = pq.filters_to_expression([row_filter]) if row_filter else None
    file_cols = [c for c in columns if c not in layout.PARTITION_COLUMNS]
    tables = []
    for path, values in group:
        t = pq.read_table(path, columns=file_cols, filters=expr, filesystem=filesystem, use_threads=False)
        for c in columns:
            if c in layout.PARTITION_COLUMNS:
                value = values.get(c)
                idx = pa.array(np.zeros(t.num_rows, dtype=np.int32), mask=np.full(t.num_rows, value is None))
                t = t.append_column(c, pa.DictionaryArray.from_arrays(idx, pa.array([value or ""], pa.string())))
        tables.append(t.select(list(columns)))
    return pa.concat_tables(tables, promote_options="permissive") if len(tables) > 1 else tables[0]


def _reduce_group(group, kind, row_filter, filesystem, res=None, dedupe=True) -> pd.DataFrame:
    """Read one task's files and reduce them at once: only partial counts leave the worker."""
    if kind == "cells":
        return cell_counts(read_group(group, ["lon", "lat"], row_filter, filesystem), res, dedupe)
    return store_counts(read_group(group, STORE_KEYS, row_filter, filesystem))


# --------------------------------------------------------------------------- Dask
@contextmanager
def dask_client(scheduler: str | None = "local", n_workers: int | None = None, threads_per_worker: int | None = None,
                processes: bool = True, memory_limit="auto"):
    """A ``dask.distributed.Client`` for the duration: ``"local"`` (or None) starts a LocalCluster
    (workers on loopback, dashboard on a free port); ``"tcp://host:8786"`` connects to a running
    scheduler of any cluster."""
    from dask.distributed import Client, LocalCluster

    if scheduler in (None, "", "local"):
        extra = {"host": "127.0.0.1"} if processes else {}
        with LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker, processes=processes,
                          dashboard_address="127.0.0.1:0", memory_limit=memory_limit, **extra) as cluster, \
                Client(cluster) as client:
            yield client
    else:
        with Client(scheduler) as client:
            yield client


def _partials(path, kind, flt, engine, filesystem, task_bytes, res=None, dedupe=True):
    """A Dask DataFrame of partial counts, one partition per task (None when no file can match)."""
    import dask.dataframe as dd

    meta = CELLS_META if kind == "cells" else STORES_META
    if engine == "read_parquet":
        if not lake_files(path, flt, filesystem):
            return None
        columns = ["lon", "lat"] if kind == "cells" else STORE_KEYS
        ddf = dd.read_parquet(str(path), columns=columns, filters=flt, filesystem=filesystem or "fsspec")
        if kind == "cells":
            return ddf.map_partitions(cell_counts, res, dedupe, meta=meta)
        return ddf.map_partitions(store_counts, meta=meta)
    if engine != "files":
        raise ValueError(f"engine must be one of {ENGINES}")
    fs, _ = _fs_and_root(path, filesystem)
    files = lake_files(path, flt, fs)
    if not files:
        return None
    remote_fs = filesystem if filesystem is not None or "://" in str(path) else None
    return dd.from_map(_reduce_group, _task_groups(files, task_bytes), kind=kind, row_filter=_split_filter(flt)[1],
                       filesystem=remote_fs, res=res, dedupe=dedupe, meta=meta, enforce_metadata=False)


def _compute(collection, client):
    if client is not None:
        return client.compute(collection, sync=True)
    return collection.compute()


def _check_res(res: int) -> None:
    if not 0 <= int(res) <= 15:
        raise ValueError("res must be an H3 resolution, 0–15")


def heatmap(path, res: int, since=None, until=None, brands=(), retailers=(), categories=(), provinces=(),
            bbox=None, client=None, engine: str = "files", split_every: int = 8, filesystem=None,
            dedupe: bool = True, task_bytes: int = TASK_BYTES) -> tuple[pd.DataFrame, int]:
    """Counted scans per H3 cell, on Dask: ``(cells, total)`` as ``o2o.services.analytics.heatmap``
    gives for the scans layer (``cell`` uint64 and ``count``, largest first; the counts add up to
    ``total``)."""
    _check_res(res)
    flt = scan_filter(since, until, brands, retailers, categories, provinces, bbox)
    partial = _partials(path, "cells", flt, engine, filesystem, task_bytes, res, dedupe)
    if partial is None:
        return finish_cells(CELLS_META.copy())
    summed = partial.groupby("cell").sum(split_every=split_every, split_out=1)   # tree reduction
    return finish_cells(_compute(summed, client))


def regions(path, level: str = "province", since=None, until=None, brands=(), retailers=(), categories=(),
            provinces=(), bbox=None, client=None, engine: str = "files", split_every: int = 8, filesystem=None,
            task_bytes: int = TASK_BYTES) -> pd.DataFrame:
    """Counted scans per province or city, on Dask (columns as :func:`regions_from_stores`)."""
    if level not in REGION_LEVELS:
        raise ValueError("level must be province or city")
    flt = scan_filter(since, until, brands, retailers, categories, provinces, bbox)
    partial = _partials(path, "stores", flt, engine, filesystem, task_bytes)
    if partial is None:
        return regions_from_stores(STORES_META.copy(), level)
    summed = partial.groupby(STORE_KEYS, dropna=False).sum(split_every=split_every, split_out=1)
    return regions_from_stores(_compute(summed, client).reset_index(), level)


# --------------------------------------------------------------------------- one process
def _batches(path, columns, flt, filesystem=None):
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    fs, root = _fs_and_root(path, filesystem)
    lake_files(root, None, fs)  # a clear error when there is no lake
    partitioning = ds.partitioning(pa.schema([("day", pa.string()), ("province", pa.string())]), flavor="hive")
    dataset = ds.dataset(root, format="parquet", partitioning=partitioning, filesystem=fs)
    return dataset.to_batches(columns=list(columns), filter=pq.filters_to_expression(flt), batch_size=1 << 20)


def heatmap_local(path, res: int, since=None, until=None, brands=(), retailers=(), categories=(), provinces=(),
                  bbox=None, filesystem=None, dedupe: bool = True) -> tuple[pd.DataFrame, int]:
    """:func:`heatmap` in this process: a pyarrow dataset scan (same pruning and filter) streams
    record batches, each reduced at once; memory holds a batch and the partial counts."""
    _check_res(res)
    parts = []
    for batch in _batches(path, ["lon", "lat"], scan_filter(since, until, brands, retailers, categories,
                                                            provinces, bbox), filesystem):
        if batch.num_rows:
            parts.append(cell_counts(batch, res, dedupe))
        if len(parts) >= 64:
            parts = [_sum_cells(parts)]
    return finish_cells(_sum_cells(parts) if parts else CELLS_META.copy())


def regions_local(path, level: str = "province", since=None, until=None, brands=(), retailers=(), categories=(),
                  provinces=(), bbox=None, filesystem=None) -> pd.DataFrame:
    """:func:`regions` in this process, over streamed record batches."""
    if level not in REGION_LEVELS:
        raise ValueError("level must be province or city")
    parts = []
    for batch in _batches(path, STORE_KEYS, scan_filter(since, until, brands, retailers, categories,
                                                        provinces, bbox), filesystem):
        if batch.num_rows:
            parts.append(store_counts(batch))
        if len(parts) >= 64:
            parts = [_sum_stores(parts)]
    return regions_from_stores(_sum_stores(parts) if parts else STORES_META.copy(), level)
