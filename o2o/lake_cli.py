"""``flask --app app scans …``: the scan lake from the command line (see :mod:`o2o.lake`).

    scans export --to DIR [--incremental]      every scan of the database → partitioned GeoParquet
    scans generate DIR --count N               N generated festival scans → the same layout
    scans heatmap DIR --res 7 [filters]        counted scans per H3 cell (CSV, or GeoJSON with --output x.geojson)
    scans regions DIR --level province         counted scans per province or city

``--scheduler local`` (the default) runs on a LocalCluster started for the command,
``--scheduler tcp://host:8786`` on a running Dask cluster (the lake must be at the same path or
URI there), ``--scheduler none`` in this process without Dask. Heavy imports wait for the command.
"""

from __future__ import annotations

import csv
import json
import sys

import click
from flask import Flask, current_app
from flask.cli import with_appcontext


def _repo():
    from .storage import open_repository

    return open_repository(current_app.config["O2O"]["DATABASE_URL"])


def _time(ctx, param, value):
    if value is None:
        return None
    from .services.windows import parse_time

    try:
        return parse_time(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 date or date-time", ctx, param) from None


def _bbox(ctx, param, value):
    if value is None:
        return None
    try:
        w, s, e, n = (float(v) for v in value.split(","))
    except ValueError:
        raise click.BadParameter("expected minLon,minLat,maxLon,maxLat", ctx, param) from None
    if not (-180 <= w <= e <= 180 and -90 <= s <= n <= 90):
        raise click.BadParameter("longitudes -180..180, latitudes -90..90, min before max", ctx, param)
    return (w, s, e, n)


def _scheduler(ctx, param, value):
    value = (value or "local").strip()
    if value in ("local", "none") or "://" in value:
        return value
    raise click.BadParameter("local, none, or a scheduler address such as tcp://scheduler:8786", ctx, param)


def _filters(f):
    """The filter and execution options shared by heatmap and regions."""
    options = [
        click.option("--since", callback=_time, help="ISO 8601, inclusive (UTC when no zone is given)."),
        click.option("--until", callback=_time, help="ISO 8601, exclusive."),
        click.option("--brand", "brands", multiple=True, help="Only these brands (repeatable)."),
        click.option("--retailer", "retailers", multiple=True, help="Only these retailers (repeatable)."),
        click.option("--category", "categories", multiple=True, help="Only these categories (repeatable)."),
        click.option("--province", "provinces", multiple=True, help="Only these provinces (repeatable)."),
        click.option("--bbox", callback=_bbox, help="minLon,minLat,maxLon,maxLat (WGS-84)."),
        click.option("--scheduler", envvar="O2O_DASK_SCHEDULER", default="local", show_default=True,
                     callback=_scheduler, help="local (a LocalCluster), tcp://host:8786, or none (one process)."),
        click.option("--workers", type=click.IntRange(1, 256), default=None,
                     help="LocalCluster worker processes (default: one per core)."),
        click.option("--threads", type=click.IntRange(1, 256), default=None, help="Threads per LocalCluster worker."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _run(scheduler, workers, threads, on_dask, in_process):
    from .lake import query

    if scheduler == "none":
        return in_process()
    if scheduler == "local":
        with query.dask_client("local", n_workers=workers, threads_per_worker=threads) as client:
            return on_dask(client)
    with query.dask_client(scheduler) as client:
        return on_dask(client)


def _lake_error(exc: Exception) -> click.ClickException:
    return click.ClickException(str(exc))


@click.group("scans")
def scans_group():
    """The scan lake: export scans to partitioned GeoParquet and aggregate them on Dask."""


@scans_group.command("export")
@click.option("--to", "out_dir", type=click.Path(file_okay=False), required=True,
              help="Lake directory (replaced as a whole when the export finishes).")
@click.option("--batch-size", type=click.IntRange(1000, 10_000_000), default=100_000, show_default=True,
              help="Scans read from the database at a time (memory: about 350 bytes each).")
@click.option("--incremental", is_flag=True,
              help="Only add the scans newer than the lake's last export (new files; nothing rewritten).")
@with_appcontext
def export_command(out_dir, batch_size, incremental):
    """Write every scan (counted or not; no client hash) as GeoParquet by Beijing day and province."""
    from tqdm import tqdm

    from .lake import layout
    from .lake.export import export_scans

    repo = _repo()
    try:
        repo.migrate()
        total = repo.count_scans()
        manifest = layout.read_manifest(out_dir) if incremental else None
        if manifest:
            total = max(0, total - int(manifest.get("rows", 0)))
        with tqdm(total=total, desc="exporting scans", unit="scan", unit_scale=True, file=sys.stderr) as bar:
            try:
                summary = export_scans(repo, out_dir, batch_size=batch_size, progress=bar.update,
                                       incremental=incremental)
            except ValueError as exc:
                raise _lake_error(exc) from None
    finally:
        repo.close()
    what = "added" if manifest else "exported"
    click.echo(f"{what} {summary['rows']:,} scans to {out_dir}: {summary['files']} files in "
               f"{summary['partitions']} partitions over {summary['days']} days, "
               f"{summary['bytes'] / 1e6:.1f} MB, in {summary['seconds']:.1f} s")


@scans_group.command("generate")
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--count", type=click.IntRange(0, 10_000_000_000), required=True, help="How many scans.")
@click.option("--stores", "n_stores", type=click.IntRange(1, 5_000_000), default=30_000, show_default=True,
              help="How many demo stores they are spread over.")
@click.option("--random-seed", type=int, default=None, help="Same seed, same scans (default: the demo seed).")
def generate_command(out_dir, count, n_stores, random_seed):
    """Write COUNT generated festival scans straight to a lake at OUT_DIR (no database)."""
    from tqdm import tqdm

    from .lake.generate import generate_lake
    from .seed import DEFAULT_RANDOM_SEED

    seed = DEFAULT_RANDOM_SEED if random_seed is None else random_seed
    with tqdm(total=count, desc="generating scans", unit="scan", unit_scale=True, file=sys.stderr) as bar:
        try:
            summary = generate_lake(out_dir, count, random_seed=seed, n_stores=n_stores, progress=bar.update)
        except ValueError as exc:
            raise _lake_error(exc) from None
    click.echo(f"generated {summary['rows']:,} scans to {out_dir}: {summary['files']} files in "
               f"{summary['partitions']} partitions, {summary['bytes'] / 1e6:.1f} MB, in {summary['seconds']:.1f} s")


def _write_csv(rows, columns, out):
    from .services.export import spreadsheet_safe

    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([spreadsheet_safe(row.get(c)) for c in columns])


def _query_lake(name: str, lake: str, what, scheduler, workers, threads, **filters):
    """One of the lake's queries (``heatmap`` or ``regions``) on Dask, or in this process."""
    from .lake import query

    on_dask, local = getattr(query, name), getattr(query, f"{name}_local")
    try:
        return _run(scheduler, workers, threads, lambda client: on_dask(lake, what, client=client, **filters),
                    lambda: local(lake, what, **filters))
    except FileNotFoundError as exc:
        raise _lake_error(exc) from None


@scans_group.command("heatmap")
@click.argument("lake", type=str)
@click.option("--res", type=click.IntRange(0, 15), default=7, show_default=True, help="H3 resolution.")
@_filters
@click.option("--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="FILE.geojson (hexagon polygons) or FILE.csv; default: CSV on standard output.")
def heatmap_command(lake, res, since, until, brands, retailers, categories, provinces, bbox, scheduler,
                    workers, threads, output):
    """Counted scans per H3 cell of the lake at LAKE (a directory or an object-store URI)."""
    from .geo import h3agg

    cells, total = _query_lake("heatmap", lake, res, scheduler, workers, threads, since=since, until=until,
                               brands=brands, retailers=retailers, categories=categories, provinces=provinces,
                               bbox=bbox)
    if output and output.lower().endswith((".geojson", ".json")):
        with open(output, "w", encoding="utf-8") as fh:
            json.dump(h3agg.heatmap_collection(cells, total, layer="scans", res=res), fh, ensure_ascii=False)
    else:
        rows = h3agg.heatmap_rows(cells)
        if output:
            with open(output, "w", encoding="utf-8", newline="") as fh:
                _write_csv(rows, ["h3", "count"], fh)
        else:
            _write_csv(rows, ["h3", "count"], sys.stdout)
    click.echo(f"{total:,} counted scans in {len(cells):,} cells at resolution {res}"
               + (f" → {output}" if output else ""), err=True)


@scans_group.command("regions")
@click.argument("lake", type=str)
@click.option("--level", type=click.Choice(["province", "city"]), default="province", show_default=True)
@_filters
@click.option("--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="FILE.csv or FILE.json; default: CSV on standard output.")
def regions_command(lake, level, since, until, brands, retailers, categories, provinces, bbox, scheduler,
                    workers, threads, output):
    """Counted scans per province or city of the lake at LAKE, busiest first."""
    df = _query_lake("regions", lake, level, scheduler, workers, threads, since=since, until=until,
                     brands=brands, retailers=retailers, categories=categories, provinces=provinces, bbox=bbox)
    rows = [{k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()} for r in df.to_dict("records")]
    columns = list(df.columns)
    if output and output.lower().endswith(".json"):
        with open(output, "w", encoding="utf-8") as fh:
            json.dump({"level": level, "rows": rows}, fh, ensure_ascii=False, indent=1)
    elif output:
        with open(output, "w", encoding="utf-8", newline="") as fh:
            _write_csv(rows, columns, fh)
    else:
        _write_csv(rows, columns, sys.stdout)
    click.echo(f"{sum(r['scans'] for r in rows):,} counted scans in {len(rows)} {level} rows"
               + (f" → {output}" if output else ""), err=True)


def register(app: Flask) -> None:
    """Add the ``scans`` command group to the app's command line."""
    app.cli.add_command(scans_group)
