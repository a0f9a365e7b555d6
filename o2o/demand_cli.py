"""``flask demand …``: shoppers' searches kept privately (issue 17) — purge the old ones, and the
searches' lake (GeoParquet of H3 cells, :mod:`o2o.lake.demand`) for the billion-row case."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from .lake_cli import _lake_error, _time


def _repo():
    from .storage import open_repository

    return open_repository(current_app.config["O2O"]["DATABASE_URL"])


@click.group("demand")
def demand_group():
    """Shoppers' searches (no personal data): retention and the searches' lake."""


@demand_group.command("purge")
@click.option("--days", type=click.IntRange(1, 100_000), default=None,
              help="Keep this many days (default: O2O_DEMAND_RETENTION_DAYS).")
@with_appcontext
def purge_command(days):
    """Delete searches older than the retention setting (the app also does it hourly)."""
    from .services.search_log import purge

    days = days or current_app.config["O2O"]["DEMAND_RETENTION_DAYS"]
    if not days:
        raise click.ClickException("O2O_DEMAND_RETENTION_DAYS is 0 (searches are not kept): give --days")
    repo = _repo()
    try:
        n = purge(repo, days)
    finally:
        repo.close()
    click.echo(f"deleted {n:,} searches older than {days} days")


@demand_group.command("export")
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--batch-size", type=click.IntRange(1000, 5_000_000), default=200_000, show_default=True)
@with_appcontext
def export_command(out_dir, batch_size):
    """Write every search to a GeoParquet lake partitioned by Beijing day (H3 cells, never points)."""
    from .lake.demand import export_searches

    repo = _repo()
    try:
        summary = export_searches(repo, out_dir, batch_size)
    except (OSError, ValueError) as exc:
        raise _lake_error(exc) from None
    finally:
        repo.close()
    click.echo(f"exported {summary['rows']:,} searches into {summary['files']} files → {out_dir}")


@demand_group.command("cells")
@click.argument("lake", type=click.Path(file_okay=False))
@click.option("--res", type=click.IntRange(3, 9), default=7, show_default=True)
@click.option("--since", callback=_time, default=None, help="ISO 8601 (UTC without a zone).")
@click.option("--until", callback=_time, default=None, help="ISO 8601 (UTC without a zone).")
@click.option("--brand", "brands", multiple=True)
@click.option("--category", "categories", multiple=True)
@click.option("--dask/--in-process", "on_dask", default=False, help="On a local Dask cluster, or in this process.")
def cells_command(lake, res, since, until, brands, categories, on_dask):
    """Searches and unmet searches per H3 cell, from the lake, as CSV on stdout."""
    import sys

    from .geo import h3agg
    from .lake import demand as lake_demand

    try:
        if on_dask:
            df = lake_demand.demand_cells_dask(lake, res, since, until, brands, categories)
        else:
            df = lake_demand.demand_cells_local(lake, res, since, until, brands, categories)
    except (OSError, ValueError) as exc:
        raise _lake_error(exc) from None
    sys.stdout.write("h3,searches,unmet\n")
    for h, n, u in zip(h3agg.cell_strings(df["cell"].to_numpy()), df["searches"].tolist(), df["unmet"].tolist()):
        sys.stdout.write(f"{h},{n},{u}\n")


def register(app: Flask) -> None:
    app.cli.add_command(demand_group)
