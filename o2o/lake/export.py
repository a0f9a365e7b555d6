"""Export every scan of the database to the lake, batch by batch (memory bounded, re-runnable)."""

from __future__ import annotations

import os
import shutil
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


def _settled(batches, cutoff: int | None):
    """Batches up to (not including) the first scan recorded at or after ``cutoff`` (epoch s).

    Ids are handed out before commit: a scan still being written can hold an id below one already
    committed. Stopping short of the last few minutes, where such a scan could still be, means a
    later run never has to look below its high-water mark."""
    at = _F["scanned_at"]
    for rows in batches:
        if cutoff is not None:
            fresh = next((i for i, r in enumerate(rows) if r[at] >= cutoff), None)
            if fresh is not None:
                if fresh:
                    yield rows[:fresh]
                return
        yield rows


def _write(repo, root: Path, batches, progress, row_group_rows, prefix="part-") -> dict:
    names = {r["id"]: r["name"] for r in repo.list_retailers()}
    max_id = 0
    writer = layout.PartitionWriter(root, row_group_rows=row_group_rows, prefix=prefix)
    try:
        for rows in batches:
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
    summary["new_files"] = [p.relative_to(root).as_posix() for p in writer.files]
    return summary


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


SETTLE_S = 300  # no /go transaction lives this long


def export_scans(repo: StoreRepository, out_dir, batch_size: int = 100_000,
                 progress: Callable[[int], None] | None = None,
                 row_group_rows: int = layout.ROW_GROUP_ROWS, incremental: bool = False,
                 settle_s: int | None = SETTLE_S, now: float | None = None) -> dict:
    """Write every scan (counted or not) of ``repo`` to a partitioned GeoParquet lake at ``out_dir``.

    Reads ``repo.scan_batches(batch_size)`` one batch at a time: memory holds one batch plus the
    writer's bounded buffers, never the table.

    * Full (the default): the lake is built in a temporary sibling directory and swapped in at the
      end, so a re-run replaces it and a failed run leaves the old one.
    * ``incremental=True`` on an existing lake: only scans with ids above the manifest's
      ``max_scan_id`` are written, as new ``part-s<first id>-NNNNN.parquet`` files moved into
      their partitions (each rename atomic), then the manifest is updated. Scans are never
      changed once written, so appending by id is exact; without a lake it is a full export.

    Scans of the last ``settle_s`` seconds are left for the next run (see :func:`_settled`);
    ``settle_s=None`` exports everything there is.

    Returns ``{"rows", "files", "partitions", "days", "bytes", "max_scan_id", "seconds"}`` of
    what this run wrote (``rows`` 0 when an incremental run found nothing new).
    """
    t0 = time.perf_counter()
    cutoff = None if settle_s is None else int((time.time() if now is None else now) - settle_s)
    out = Path(out_dir)
    manifest = layout.read_manifest(out) if incremental else None
    if manifest is None:
        with layout.Staging(out) as tmp:
            summary = _write(repo, Path(tmp), _settled(repo.scan_batches(batch_size), cutoff), progress,
                             row_group_rows)
            summary.pop("new_files")
            summary["seconds"] = round(time.perf_counter() - t0, 3)
            layout.write_manifest(tmp, {**summary, "exports": [{"at": _now(), "rows": summary["rows"],
                                                                "max_scan_id": summary["max_scan_id"]}]},
                                  source="export", written_at=_now(),
                                  client_hash="omitted (privacy; not needed for aggregation)")
        return summary

    after = int(manifest.get("max_scan_id", 0))
    staging = out.parent / f".{out.name}.inc-{os.getpid()}-{time.time_ns()}"
    staging.mkdir()
    try:
        summary = _write(repo, staging, _settled(repo.scan_batches(batch_size, after_id=after), cutoff),
                         progress, row_group_rows,
                         prefix=f"part-s{after + 1:012d}-")
        for rel in summary.pop("new_files"):
            target = out / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / rel, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    summary["max_scan_id"] = max(after, summary["max_scan_id"])
    summary["seconds"] = round(time.perf_counter() - t0, 3)
    if summary["rows"]:
        files = [p for p in out.glob("day=*/province=*/*.parquet")]
        total = {"rows": manifest["rows"] + summary["rows"], "files": len(files),
                 "partitions": len({p.parent for p in files}), "days": len({p.parent.parent for p in files}),
                 "bytes": sum(p.stat().st_size for p in files), "max_scan_id": summary["max_scan_id"]}
        exports = manifest.get("exports", []) + [{"at": _now(), "rows": summary["rows"],
                                                  "max_scan_id": summary["max_scan_id"]}]
        extra = {k: v for k, v in manifest.items() if k not in total and k not in (
            "format", "version", "partitioning", "day", "columns", "exports", "written_at", "seconds")}
        layout.write_manifest(out, {**total, "exports": exports}, **{**extra, "written_at": _now()})
    return summary
