"""Export every scan of the database to the lake, batch by batch (memory bounded, re-runnable)."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa

from ..storage.base import SCAN_FIELDS, StoreRepository
from . import layout

_F = {name: i for i, name in enumerate(SCAN_FIELDS)}


def batch_table(rows: list[tuple], retailer_names: dict[int, str]) -> tuple[pa.Table, np.ndarray, np.ndarray, list]:
    """Rows in SCAN_FIELDS order → (table of the lake schema, day numbers, province codes, provinces).

    ``client_hash`` is dropped here: the lake never holds it (see :mod:`.layout`).
    """
    cols = list(zip(*rows))
    col = lambda name: cols[_F[name]]  # noqa: E731
    scanned_at = np.asarray(col("scanned_at"), dtype=np.int64)
    lon = np.asarray(col("lon"), dtype=np.float64)
    lat = np.asarray(col("lat"), dtype=np.float64)
    retailer_id = np.asarray(col("retailer_id"), dtype=np.int64)

    def dict_column(values):
        codes, labels = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
        return layout.dictionary(codes, [str(x) for x in labels])

    rid_codes, rid_labels = pd.factorize(retailer_id)
    retailer = layout.dictionary(rid_codes, [retailer_names.get(int(r), None) or str(int(r)) for r in rid_labels])
    arrays = {
        "scan_id": pa.array(np.asarray(col("id"), dtype=np.int64)),
        "scanned_at": pa.array(scanned_at, type=pa.timestamp("s", tz="UTC")),
        "store_id": pa.array(np.asarray(col("store_id"), dtype=np.int64)),
        "retailer_id": pa.array(retailer_id),
        "retailer": retailer,
        "brand": dict_column(col("brand")),
        "category": dict_column(col("category")),
        "city": dict_column(col("city")),
        "lon": pa.array(lon),
        "lat": pa.array(lat),
        "client_kind": dict_column(col("client_kind")),
        "counted": pa.array(np.asarray(col("counted"), dtype=np.int64) == 1),
        "geometry": layout.wkb_points(lon, lat),
    }
    table = pa.table([arrays[c] for c in layout.COLUMNS], schema=layout.SCHEMA)
    prov_codes, provinces = pd.factorize(pd.Series(col("province"), dtype=object), use_na_sentinel=True)
    return table, layout.beijing_days(scanned_at), prov_codes, list(provinces)


def write_partitioned(writer: layout.PartitionWriter, table: pa.Table, days: np.ndarray, prov_codes: np.ndarray,
                      provinces: list, order_within=None) -> None:
    """Split a table by (day, province) and hand each piece to the writer, rows in time order."""
    if table.num_rows == 0:
        return
    d0 = int(days.min())
    n_prov = len(provinces) + 1
    key = (days - d0) * n_prov + (prov_codes + 1)          # province -1 (null) → slot 0
    within = np.asarray(order_within if order_within is not None else
                        table.column("scanned_at").cast(pa.int64()).to_numpy())
    order = np.lexsort((within, key))
    sorted_key = key[order]
    bounds = np.flatnonzero(np.diff(sorted_key)) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [len(order)]])
    taken = table.take(pa.array(order))
    for s, e in zip(starts.tolist(), ends.tolist()):
        k = int(sorted_key[s])
        day = layout.day_label(d0 + k // n_prov)
        slot = k % n_prov
        province = None if slot == 0 else provinces[slot - 1]
        writer.write(day, province, taken.slice(s, e - s))


def export_scans(repo: StoreRepository, out_dir, batch_size: int = 500_000,
                 progress: Callable[[int], None] | None = None,
                 row_group_rows: int = layout.ROW_GROUP_ROWS) -> dict:
    """Write every scan (counted or not) of ``repo`` to a partitioned GeoParquet lake at ``out_dir``.

    Reads ``repo.scan_batches(batch_size)`` one batch at a time: memory holds one batch plus the
    writer's bounded buffers, never the table. The lake is built in a temporary sibling directory
    and swapped in at the end, so a re-run replaces it and a failed run leaves the old one.
    Returns ``{"rows", "files", "partitions", "days", "bytes", "max_scan_id", "seconds"}``.
    """
    t0 = time.perf_counter()
    names = {r["id"]: r["name"] for r in repo.list_retailers()}
    max_id = 0
    with layout.Staging(out_dir) as tmp:
        writer = layout.PartitionWriter(Path(tmp), row_group_rows=row_group_rows)
        try:
            for rows in repo.scan_batches(batch_size):
                if not rows:
                    continue
                table, days, prov_codes, provinces = batch_table(rows, names)
                max_id = max(max_id, int(np.max(table.column("scan_id").to_numpy())))
                write_partitioned(writer, table, days, prov_codes, provinces)
                if progress:
                    progress(len(rows))
            summary = writer.close()
        except BaseException:
            writer.abort()
            raise
        summary["max_scan_id"] = max_id
        summary["seconds"] = round(time.perf_counter() - t0, 3)
        layout.write_manifest(tmp, summary, source="export",
                              written_at=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                              client_hash="omitted (privacy; not needed for aggregation)")
    return summary
