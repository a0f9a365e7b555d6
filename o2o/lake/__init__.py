"""The scan lake: every QR scan as partitioned GeoParquet, aggregated on Dask or in one process.

* :func:`export_scans` — the database's scans to ``DIR/day=YYYY-MM-DD/province=…/part-NNNNN.parquet``
  (Beijing days; ``client_hash`` left out), batch by batch, replacing the lake atomically.
* :func:`generate_lake` — millions of festival-shaped generated scans straight to the same layout.
* :func:`heatmap`, :func:`regions` — on Dask (a ``Client`` of a LocalCluster or of any cluster);
  :func:`heatmap_local`, :func:`regions_local` — the same answers in this process.

See :mod:`.layout` for the files and ``docs/deploy.md`` ("Scans beyond one machine") for running it at scale.
Nothing here is imported by the web app; pandas, pyarrow and Dask load on first use.
"""

from __future__ import annotations

__all__ = ["export_scans", "generate_lake", "heatmap", "regions", "heatmap_local", "regions_local",
           "dask_client", "scan_filter", "lake_files"]


def __getattr__(name):
    if name == "export_scans":
        from .export import export_scans

        return export_scans
    if name == "generate_lake":
        from .generate import generate_lake

        return generate_lake
    if name in ("heatmap", "regions", "heatmap_local", "regions_local", "dask_client", "scan_filter", "lake_files"):
        from . import query

        return getattr(query, name)
    raise AttributeError(name)
