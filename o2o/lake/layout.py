"""The scan lake on disk: one schema, hive partitions by Beijing day and province, GeoParquet files.

Layout (``ROOT`` a local directory, or a bucket prefix once copied to object storage)::

    ROOT/_lake.json                                   what wrote it, rows, highest scan id
    ROOT/day=2026-11-11/province=广东省/part-00000.parquet
    ROOT/day=2026-11-11/province=__HIVE_DEFAULT_PARTITION__/part-00000.parquet   (no province)

* ``day`` is the calendar day of ``scanned_at`` in Beijing time (UTC+8): the festival day the
  contract and the analysts mean, so "the 11th" is one directory, midnight surge included.
* ``province`` is the store's province as the database derives it from the location.
* Both are directory names only (readers that understand hive partitioning add them back as
  columns); the files hold the columns of :data:`SCHEMA`.
* Each file is GeoParquet 1.0 (``geo`` metadata, WKB ``geometry``, EPSG:4326 as PROJJSON), rows
  in time order, zstd-compressed (ids and times delta-encoded, the rest dictionary-encoded), row
  groups of up to :data:`ROW_GROUP_ROWS` rows. ``lon`` and ``lat`` are kept as plain columns
  beside the geometry: aggregations read them (and row-group statistics on them prune a bounding
  box) without decoding WKB.
* ``client_hash`` is deliberately **not** in the lake: it is a keyed hash of a shopper's address
  and browser (pseudonymous personal data), only needed for the 30-minute repeat check, which
  was done when the scan was recorded (``counted``). Nothing the lake serves needs it.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

LAKE_FORMAT = "o2o-scans-lake"
LAKE_VERSION = 1
MANIFEST = "_lake.json"
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"   # pyarrow's (and Hive's) name for a null value
BEIJING_OFFSET_S = 8 * 3600
ROW_GROUP_ROWS = 256 * 1024
MAX_FILE_ROWS = 8 * 1024 * 1024   # ~100 MB: a file is at most one Dask task's worth of rows
COMPRESSION = "zstd"
PARTITION_COLUMNS = ("day", "province")
# Unique, nearly sorted integers: delta-encoded (a third smaller than a dictionary of them).
DELTA_COLUMNS = ("scan_id", "scanned_at")

_DICT = pa.dictionary(pa.int32(), pa.string())


def geo_metadata() -> dict:
    """The GeoParquet ``geo`` metadata of every file (version 1.0.0, WKB points in EPSG:4326)."""
    from pyproj import CRS

    return {
        "version": "1.0.0",
        "primary_column": "geometry",
        "columns": {"geometry": {
            "encoding": "WKB",
            "geometry_types": ["Point"],
            "crs": CRS.from_epsg(4326).to_json_dict(),
        }},
    }


def _schema() -> pa.Schema:
    fields = [
        pa.field("scan_id", pa.int64(), nullable=False),
        pa.field("scanned_at", pa.timestamp("s", tz="UTC"), nullable=False),
        pa.field("store_id", pa.int64(), nullable=False),
        pa.field("retailer_id", pa.int64(), nullable=False),
        pa.field("retailer", _DICT),
        pa.field("brand", _DICT),
        pa.field("category", _DICT),
        pa.field("city", _DICT),
        pa.field("lon", pa.float64(), nullable=False),
        pa.field("lat", pa.float64(), nullable=False),
        pa.field("client_kind", _DICT),
        pa.field("counted", pa.bool_(), nullable=False),
        pa.field("geometry", pa.binary(), nullable=False),
    ]
    return pa.schema(fields)


SCHEMA = _schema()
COLUMNS = tuple(SCHEMA.names)


def schema_with_geo() -> pa.Schema:
    return SCHEMA.with_metadata({b"geo": json.dumps(geo_metadata()).encode()})


# --------------------------------------------------------------------------- values
def beijing_days(epoch_s) -> np.ndarray:
    """Days since 1970-01-01 of the Beijing calendar day of each UTC epoch second."""
    return (np.asarray(epoch_s, dtype=np.int64) + BEIJING_OFFSET_S) // 86400


def day_label(day_number: int) -> str:
    """Days since the epoch → ``YYYY-MM-DD``."""
    return str(np.datetime64(int(day_number), "D"))


def beijing_day_of(epoch_s: int) -> str:
    return day_label(int(beijing_days(epoch_s)))


def wkb_points(lon, lat) -> pa.BinaryArray:
    """WKB Points (little-endian, 21 bytes each) built with numpy, no per-point Python."""
    lon = np.asarray(lon, dtype="<f8")
    lat = np.asarray(lat, dtype="<f8")
    n = len(lon)
    rec = np.empty(n, dtype=np.dtype([("order", "u1"), ("type", "<u4"), ("x", "<f8"), ("y", "<f8")]))
    rec["order"] = 1
    rec["type"] = 1
    rec["x"] = lon
    rec["y"] = lat
    offsets = np.arange(0, 21 * (n + 1), 21, dtype=np.int32)
    return pa.Array.from_buffers(pa.binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(rec.tobytes())])


def dictionary(codes, labels) -> pa.DictionaryArray:
    """A dictionary column from integer codes (-1 = null) and their labels."""
    codes = np.asarray(codes, dtype=np.int32)
    mask = codes < 0
    indices = pa.array(np.where(mask, 0, codes), type=pa.int32(), mask=mask if mask.any() else None)
    return pa.DictionaryArray.from_arrays(indices, pa.array(list(labels), type=pa.string()))


def partition_value(value) -> str:
    """A partition directory's value: null → Hive's default name; ``%`` and ``/`` percent-encoded
    (pyarrow URI-decodes hive values when reading), everything else (Chinese included) kept."""
    if value is None or (isinstance(value, float) and value != value) or value == "":
        return NULL_PARTITION
    return str(value).replace("%", "%25").replace("/", "%2F").replace("\\", "%5C")


def partition_dir(day: str, province) -> str:
    return f"day={day}/province={partition_value(province)}"


# --------------------------------------------------------------------------- writing
class PartitionWriter:
    """Writes tables of :data:`SCHEMA` into ``root/day=…/province=…/part-NNNNN.parquet``.

    Rows are buffered per partition and written as row groups of up to ``row_group_rows``; at
    most ``max_buffered_rows`` rows are held in all (the largest buffer is flushed first) and at
    most ``max_open`` files are open (the least recently used is closed; a later write to its
    partition starts the next ``part-`` file), and a file holds at most ``max_file_rows`` rows.
    Memory stays bounded however large the input.
    """

    def __init__(self, root: Path, row_group_rows: int = ROW_GROUP_ROWS, max_buffered_rows: int = 2_000_000,
                 max_open: int = 128, max_file_rows: int = MAX_FILE_ROWS, compression: str = COMPRESSION,
                 prefix: str = "part-"):
        self.root = Path(root)
        self.row_group_rows = row_group_rows
        self.max_buffered_rows = max_buffered_rows
        self.max_open = max_open
        self.max_file_rows = max_file_rows
        self._file_rows: dict[str, int] = {}
        self.compression = compression
        self.prefix = prefix
        self.schema = schema_with_geo()
        self._buffers: dict[str, list[pa.Table]] = {}
        self._buffered: dict[str, int] = {}
        self._writers: OrderedDict[str, pq.ParquetWriter] = OrderedDict()
        self._next_part: dict[str, int] = {}
        self.files: list[Path] = []
        self.rows = 0

    def write(self, day: str, province, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        key = partition_dir(day, province)
        self._buffers.setdefault(key, []).append(table)
        self._buffered[key] = self._buffered.get(key, 0) + table.num_rows
        self.rows += table.num_rows
        if self._buffered[key] >= self.row_group_rows:
            self._flush(key, whole_groups_only=True)
        while sum(self._buffered.values()) > self.max_buffered_rows:
            self._flush(max(self._buffered, key=self._buffered.get))

    def _writer(self, key: str) -> pq.ParquetWriter:
        writer = self._writers.get(key)
        if writer is not None:
            self._writers.move_to_end(key)
            return writer
        if len(self._writers) >= self.max_open:
            oldest_key, oldest = self._writers.popitem(last=False)
            oldest.close()
            self._file_rows[oldest_key] = 0
        part = self._next_part.get(key, 0)
        self._next_part[key] = part + 1
        path = self.root / key / f"{self.prefix}{part:05d}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = pq.ParquetWriter(path, self.schema, compression=self.compression, write_statistics=True,
                                  use_dictionary=[c for c in COLUMNS if c not in DELTA_COLUMNS],
                                  column_encoding={c: "DELTA_BINARY_PACKED" for c in DELTA_COLUMNS})
        self._writers[key] = writer
        self.files.append(path)
        return writer

    def _flush(self, key: str, whole_groups_only: bool = False) -> None:
        tables = self._buffers.pop(key, [])
        n = self._buffered.pop(key, 0)
        if not n:
            return
        table = pa.concat_tables(tables).combine_chunks() if len(tables) > 1 else tables[0]
        keep = 0
        if whole_groups_only:
            keep = n % self.row_group_rows
        done = 0
        while done < n - keep:  # a file takes at most max_file_rows rows, then the next part starts
            writer = self._writer(key)
            room = self.max_file_rows - self._file_rows.get(key, 0)
            take = min(room, n - keep - done)
            writer.write_table(table.slice(done, take), row_group_size=self.row_group_rows)
            done += take
            self._file_rows[key] = self._file_rows.get(key, 0) + take
            if self._file_rows[key] >= self.max_file_rows:
                self._writers.pop(key).close()
                self._file_rows[key] = 0
        if keep:
            self._buffers[key] = [table.slice(n - keep)]
            self._buffered[key] = keep

    def finish_day(self, day: str) -> None:
        """Flush and close every partition of ``day`` (the caller will write no more rows to it)."""
        prefix = f"day={day}/"
        for key in [k for k in self._buffers if k.startswith(prefix)]:
            self._flush(key)
        for key in [k for k in self._writers if k.startswith(prefix)]:
            self._writers.pop(key).close()
            self._file_rows[key] = 0

    def close(self) -> dict:
        for key in list(self._buffers):
            self._flush(key)
        while self._writers:
            _, writer = self._writers.popitem(last=False)
            writer.close()
        partitions = {p.parent.relative_to(self.root).as_posix() for p in self.files}
        return {"rows": self.rows, "files": len(self.files), "partitions": len(partitions),
                "days": len({k.split("/")[0] for k in partitions}),
                "bytes": sum(p.stat().st_size for p in self.files)}

    def abort(self) -> None:
        while self._writers:
            _, writer = self._writers.popitem(last=False)
            try:
                writer.close()
            except Exception:  # noqa: BLE001 - best effort on the way out of an error
                pass


class Staging:
    """Write a whole lake into a temporary sibling directory, then swap it into place.

    Readers see the old lake or the new one, never a half-written one; a failed run leaves the
    old lake untouched and removes its own temporary directory. Re-running replaces the lake.
    """

    def __init__(self, out_dir):
        self.out = Path(out_dir).resolve()
        self.tmp = self.out.parent / f".{self.out.name}.tmp-{os.getpid()}-{time.time_ns()}"

    def __enter__(self) -> Path:
        if self.out.exists() and not self.out.is_dir():
            raise ValueError(f"{self.out} exists and is not a directory")
        if self.out.is_dir() and any(self.out.iterdir()) and not (self.out / MANIFEST).exists():
            raise ValueError(f"{self.out} is a non-empty directory that is not a scan lake; refusing to replace it")
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir()
        return self.tmp

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return False
        old = None
        if self.out.exists():
            old = self.out.parent / f".{self.out.name}.old-{os.getpid()}-{time.time_ns()}"
            os.replace(self.out, old)
        os.replace(self.tmp, self.out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return False


def write_manifest(root: Path, summary: dict, **extra) -> None:
    data = {"format": LAKE_FORMAT, "version": LAKE_VERSION,
            "partitioning": list(PARTITION_COLUMNS),
            "day": "calendar day of scanned_at in Beijing time (UTC+8)",
            "columns": list(COLUMNS), **summary, **extra}
    tmp = Path(root) / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, Path(root) / MANIFEST)


def read_manifest(root) -> dict | None:
    path = Path(root) / MANIFEST
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))
