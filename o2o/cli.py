"""``flask --app app COMMAND``: thin commands over the same services the web app calls."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from .seed.stores import DEFAULT_RANDOM_SEED
from .storage import open_repository


def _repo():
    return open_repository(current_app.config["O2O"]["DATABASE_URL"])


@click.command("seed")
@click.option("--stores", "n_stores", type=click.IntRange(0, 5_000_000), default=None,
              help="How many stores (default: O2O_SEED_STORES).")
@click.option("--scans", "n_scans", type=click.IntRange(0, 100_000_000), default=None,
              help="How many demo QR scans (default: O2O_SEED_SCANS).")
@click.option("--random-seed", type=int, default=DEFAULT_RANDOM_SEED, show_default=True,
              help="Same seed, same data.")
@click.option("--replace/--no-replace", default=True, show_default=True,
              help="Replace the stores (and scans) already there; retailers and their keys stay.")
@with_appcontext
def seed_command(n_stores, n_scans, random_seed, replace):
    """Generate the deterministic demo stores (and scans)."""
    from .services.seeding import seed

    cfg = current_app.config["O2O"]
    n_stores = cfg["SEED_STORES"] if n_stores is None else n_stores
    n_scans = cfg["SEED_SCANS"] if n_scans is None else n_scans
    repo = _repo()
    try:
        repo.migrate()
        if repo.count_stores():
            if not replace:
                raise click.ClickException("the database already has stores (use --replace)")
            repo.delete_all_stores()
        result = seed(repo, n_stores, n_scans, random_seed)
    finally:
        repo.close()
    click.echo(f"seeded {result['stores']} stores of {result['retailers']} retailers "
               f"(random seed {random_seed})")


@click.command("export")
@click.option("--format", "fmt", type=click.Choice(["geojson", "csv"]), required=True)
@click.option("--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="File to write (default: standard output).")
@with_appcontext
def export_command(fmt, output):
    """Export every store, open and closed, with every field."""
    from .services.export import export

    repo = _repo()
    try:
        if output:
            with open(output, "w", encoding="utf-8", newline="") as out:
                n = export(repo, fmt, out)
            click.echo(f"exported {n} stores to {output}", err=True)
        else:
            export(repo, fmt, sys.stdout)
    finally:
        repo.close()


COMMANDS = (seed_command, export_command)


def register_commands(app: Flask) -> None:
    for command in COMMANDS:
        app.cli.add_command(command)
