"""``flask --app app COMMAND``: thin commands over the same services the web app calls."""

from __future__ import annotations

import sys
from contextlib import contextmanager

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from .seed import DEFAULT_RANDOM_SEED
from .storage import Conflict, StorageFull, Unavailable, database_unavailable, open_repository


def _repo():
    return open_repository(current_app.config["O2O"]["DATABASE_URL"])


@contextmanager
def _storage(migrate: bool = False, conflict: str | None = None):
    """The app's repository for one command (migrated first if asked), closed after; a storage
    failure or a bad value ends the command with one line (``conflict``: what a clash means)."""
    repo = _repo()
    try:
        if migrate:
            repo.migrate()
        yield repo
    except Conflict as exc:
        raise click.ClickException(conflict or str(exc)) from None
    except StorageFull:
        raise click.ClickException("the database's storage is full: nothing was stored") from None
    except Unavailable as exc:
        raise click.ClickException(f"the database is busy or unreachable: {exc}") from None
    except (ValueError, LookupError) as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        repo.close()


@click.command("seed")
@click.option("--stores", "n_stores", type=click.IntRange(0, 5_000_000), default=None,
              help="How many stores (default: O2O_SEED_STORES).")
@click.option("--scans", "n_scans", type=click.IntRange(0, 100_000_000), default=None,
              help="How many demo QR scans (default: O2O_SEED_SCANS).")
@click.option("--random-seed", type=int, default=DEFAULT_RANDOM_SEED, show_default=True,
              help="Same seed, same data.")
@click.option("--replace/--no-replace", default=True, show_default=True,
              help="Replace the stores (and scans) already there; retailers and their keys stay.")
@click.option("--products/--no-products", default=None,
              help="Each brand's products and every store's stock (default: O2O_SEED_PRODUCTS; auto: "
                   "from 5,000 stores up).")
@with_appcontext
def seed_command(n_stores, n_scans, random_seed, replace, products):
    """Generate the deterministic demo stores (and scans)."""
    from .services.seeding import seed

    cfg = current_app.config["O2O"]
    n_stores = cfg["SEED_STORES"] if n_stores is None else n_stores
    n_scans = cfg["SEED_SCANS"] if n_scans is None else n_scans
    with _storage(migrate=True) as repo:
        if repo.count_stores():
            if not replace:
                raise click.ClickException("the database already has stores (use --replace)")
            repo.delete_all_stores()
        result = seed(repo, n_stores, n_scans, random_seed,
                      products=cfg.get("SEED_PRODUCTS") if products is None else products)
        from .services.demand import seed_searches

        n_searches = seed_searches(repo, min(cfg.get("SEED_SEARCHES", 0), n_scans // 2), random_seed)
        if n_searches:
            click.echo(f"seeded {n_searches} demo searches")
    click.echo(f"seeded {result['stores']} stores of {result['retailers']} retailers and "
               f"{result['scans']} scans (random seed {random_seed})"
               + (f"; {result['products']} products, {result['stock']} stock lines" if result["products"] else ""))


@click.command("export")
@click.option("--format", "fmt", type=click.Choice(["geojson", "csv"]), required=True)
@click.option("--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="File to write (default: standard output).")
@click.option("--what", type=click.Choice(["stores", "products", "inventory"]), default="stores", show_default=True,
              help="Stores, products, or every stock line (products and inventory: csv only).")
@with_appcontext
def export_command(fmt, output, what):
    """Export every store, open and closed, with every field (or every product, or every stock line)."""
    from .services.export import export

    if what != "stores" and fmt != "csv":
        raise click.BadParameter(f"{what} are exported as csv only", param_hint="--format")
    repo = _repo()
    try:
        if output:
            with open(output, "w", encoding="utf-8", newline="") as out:
                n = export(repo, fmt, out, what)
            click.echo(f"exported {n} {'stock lines' if what == 'inventory' else what} to {output}", err=True)
        else:
            export(repo, fmt, sys.stdout, what)
    finally:
        repo.close()


@click.group("retailer")
def retailer_group():
    """Retailers: create them and manage their API keys."""


@retailer_group.command("create")
@click.argument("name")
@click.option("--domain", "domains", multiple=True, required=True,
              help="A host the retailer's online links may point to (repeatable).")
@with_appcontext
def retailer_create(name, domains):
    """Create a retailer; prints its id and its API key (once: only a hash is kept)."""
    from .services import accounts

    with _storage(migrate=True, conflict=f"a retailer named {name!r} already exists") as repo:
        retailer_id, key = accounts.create_retailer(repo, name, list(domains))
    click.echo(f"retailer id: {retailer_id}")
    click.echo(f"domains: {', '.join(accounts.normalise_domain(d) for d in domains)}")
    click.echo("API key (shown once; keep it safe):")
    click.echo(key)


@retailer_group.command("list")
@with_appcontext
def retailer_list():
    """List retailers: id, name, domains, whether a key is active."""
    with _storage() as repo:
        for r in repo.list_retailers():
            state = "key active" if r["key_hash"] else ("revoked" if r["revoked_at"] else "no key")
            click.echo(f"{r['id']}\t{r['name']}\t{','.join(r['domains'])}\t{state}")


@click.group("analyst")
def analyst_group():
    """Analysts: create them and manage their API keys."""


@analyst_group.command("create")
@click.argument("name")
@with_appcontext
def analyst_create(name):
    """Create an analyst; prints its API key (once: only a hash is kept)."""
    from .services import accounts

    with _storage(migrate=True) as repo:
        analyst_id, key = accounts.create_analyst(repo, name)
    click.echo(f"analyst id: {analyst_id}")
    click.echo("API key (shown once; keep it safe):")
    click.echo(key)


def _key_commands(group: click.Group, kind: str, who: str) -> None:
    """``rotate-key`` and ``revoke`` of a group: retailers (``kind`` r) or analysts (a)."""

    @group.command("rotate-key", help=f"Give {who} a new key; the old one stops working at once.")
    @click.argument("principal_id", metavar="ID", type=int)
    @with_appcontext
    def rotate(principal_id):
        _rotate(kind, principal_id)

    @group.command("revoke", help=f"Revoke {who}'s key (it can sign in again only after rotate-key).")
    @click.argument("principal_id", metavar="ID", type=int)
    @with_appcontext
    def revoke(principal_id):
        _revoke(kind, principal_id)


_key_commands(retailer_group, "r", "a retailer")
_key_commands(analyst_group, "a", "an analyst")


def _rotate(kind, principal_id):
    from .services import accounts

    with _storage() as repo:
        key = accounts.rotate_key(repo, kind, principal_id)
    click.echo("new API key (shown once; the old key no longer works):")
    click.echo(key)


def _revoke(kind, principal_id):
    from .services import accounts

    with _storage() as repo:
        accounts.revoke_key(repo, kind, principal_id)
    click.echo(f"revoked the key of {accounts.KINDS[kind][:-1]} {principal_id}")


@click.group("user")
def user_group():
    """Staff accounts: people of a retailer or of the analysts, with a role."""


@user_group.command("create")
@click.argument("email")
@click.option("--retailer", "retailer_id", type=int, default=None, help="The retailer this person works for.")
@click.option("--analyst", "analyst_id", type=int, is_flag=False, flag_value=0, default=None,
              help="An analyst (optionally the analysts' organisation id; alone: the only one, made if none).")
@click.option("--role", type=click.Choice(["owner", "editor", "viewer"]), required=True,
              help="owner: also manages people and keys; editor: manages stores and imports; viewer: reads.")
@with_appcontext
def user_create(email, retailer_id, analyst_id, role):
    """Invite a person: prints a one-time set-up path (valid 72 hours), last and alone on its line."""
    from .services import accounts, people

    if (retailer_id is None) == (analyst_id is None):
        raise click.UsageError("give exactly one of --retailer ID or --analyst")
    with _storage(migrate=True) as repo:
        if retailer_id is not None:
            if repo.get_retailer(retailer_id) is None:
                raise click.ClickException(f"no retailer with id {retailer_id}")
            org = people.Organisation("retailer", retailer_id)
        else:
            org = people.Organisation("analyst", _analyst_org(repo, analyst_id, accounts))
        try:
            user_id, path = people.invite(repo, email, org, role)
        except people.PeopleError as exc:
            raise click.ClickException(_people_message(exc)) from None
    click.echo(f"user id: {user_id} ({email.strip().lower()}, {role} of {org.kind} {org.id})")
    click.echo("one-time set-up link (valid 72 hours; append it to the site's address):")
    click.echo(path)


def _analyst_org(repo, analyst_id: int, accounts) -> int:
    if analyst_id:
        if repo.principal_by_id("analysts", analyst_id) is None:
            raise click.ClickException(f"no analysts' organisation with id {analyst_id}")
        return analyst_id
    found = repo.list_analysts()
    if len(found) > 1:
        raise click.ClickException("there are several analysts' organisations: give --analyst ID ("
                                   + ", ".join(f"{a['id']} {a['name']}" for a in found) + ")")
    if found:
        return found[0]["id"]
    analyst_id, _ = accounts.create_analyst(repo, "Analysts")
    return analyst_id


def _people_message(exc) -> str:
    return {"bad_email": "that is not an e-mail address",
            "email_taken": "that e-mail already has an account",
            "bad_role": "that role is not one of " + ", ".join(exc.details.get("roles", ()))}.get(exc.code, exc.code)


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--retailer", "retailer_id", type=int, required=True, help="The retailer whose stores these are.")
@click.option("--atomic", is_flag=True, help="Store every row or none.")
@click.option("--crs", default=None, help="Coordinate system of rows without a crs column (wgs84, gcj02, bd09).")
@click.option("--allow-duplicates", is_flag=True, help="Skip the 20 m same-brand duplicate check.")
@with_appcontext
def import_command(file, retailer_id, atomic, crs, allow_duplicates):
    """Import stores from a CSV (UTF-8, UTF-8 BOM, GBK) or GeoJSON file; prints a per-row report."""
    from tqdm import tqdm

    from .regions import load_regions
    from .services import accounts, importer
    from .services.index_sync import IndexSync

    with _storage(migrate=True) as repo:
        row = repo.get_retailer(retailer_id)
        if row is None:
            raise click.ClickException(f"no retailer with id {retailer_id}")
        if crs:
            try:
                from .geo.crs import normalise_crs

                normalise_crs(crs)
            except ValueError as exc:
                raise click.BadParameter(str(exc), param_hint="--crs") from None
        principal = accounts.Principal("retailer", row["id"], row["name"], tuple(row["domains"]),
                                       actor="flask import")
        with open(file, "rb") as fh:
            data = fh.read()
        parsed = importer.parse(data, file)  # a file that cannot be read: one line
        rows = parsed.rows
        click.echo(f"{file}: {len(rows)} rows of {parsed.format.upper()}"
                   + (f" ({parsed.encoding})" if parsed.encoding else ""), err=True)
        for header in parsed.unknown_columns:
            click.echo(f"column not understood, not stored: {header}", err=True)
        sync = IndexSync()
        sync.load(repo)
        bar = lambda it: tqdm(it, total=len(rows), desc="checking rows", unit="row", file=sys.stderr)
        report = importer.import_rows(repo, load_regions(), sync.index, principal, rows, atomic=atomic,
                                      default_crs=crs, allow_duplicates=allow_duplicates, progress=bar)
        report.format, report.encoding = parsed.format, parsed.encoding
        report.columns, report.unknown_columns = parsed.columns, parsed.unknown_columns
    result = report.to_dict()
    for rejected in result["rejected"]:
        where = f"row {rejected['row']}" + (f" (line {rejected['line']})" if rejected.get("line") else "")
        code = f" [{rejected['external_id']}]" if rejected.get("external_id") else ""
        click.echo(f"rejected {where}{code}: " + "; ".join(rejected["errors"]))
    click.echo(result["message"])
    if not result["stored"]:
        sys.exit(1)


@click.group("db")
def db_group():
    """The database schema: see its version, upgrade it."""


@contextmanager
def _schema_db():
    """``(url, repository)`` of the configured database, for the schema commands; a database out of
    reach ends the command with one line naming it (without its password)."""
    url = current_app.config["O2O"]["DATABASE_URL"]
    repo = _open_or_fail(url)
    try:
        yield url, repo
    except Exception as exc:
        if database_unavailable(exc):
            raise click.ClickException(f"{_safe_url(url)}: {exc.__cause__ or exc}") from None
        raise
    finally:
        repo.close()


@db_group.command("upgrade")
@with_appcontext
def db_upgrade():
    """Create the schema on a new database, or upgrade an older one, to the latest version."""
    with _schema_db() as (url, repo), repo.startup_lock():
        before = repo.schema_version()
        after = repo.migrate()
    word = "already at" if before == after else f"upgraded from {before} to"
    click.echo(f"{_safe_url(url)}: schema {word} version {after}")


@db_group.command("version")
@with_appcontext
def db_version():
    """Print the schema version of the database and the latest this code knows."""
    with _schema_db() as (url, repo):
        click.echo(f"{_safe_url(url)}: schema version {repo.schema_version()} (latest {repo.latest_version()})")


def _open_or_fail(url: str):
    try:
        return open_repository(url)
    except ValueError as exc:
        raise click.ClickException(str(exc))


def _safe_url(url: str) -> str:
    """A database URL without its password, for printing."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


@click.command("migrate-data")
@click.option("--from", "source", default=None, metavar="URL",
              help="Database to copy from (default: O2O_DATABASE_URL).")
@click.option("--to", "target", required=True, metavar="URL", help="Empty database to copy into.")
@click.option("--batch-size", type=click.IntRange(100, 1_000_000), default=50_000, show_default=True)
@with_appcontext
def migrate_data_command(source, target, batch_size):
    """Move a whole database to another backend (e.g. sqlite:///… → postgresql://…), verified."""
    from tqdm import tqdm

    from .services.migration import MigrationError, migrate_data

    source = source or current_app.config["O2O"]["DATABASE_URL"]
    bars: dict[str, tqdm] = {}

    def progress(table, n):
        if table not in bars:
            bars[table] = tqdm(desc=table, unit=" rows", file=sys.stderr, leave=False)
        bars[table].update(n)

    try:
        copies = migrate_data(source, target, batch_size, progress)
    except MigrationError as exc:
        raise click.ClickException(f"nothing was copied: {exc}")
    except Exception as exc:
        if isinstance(exc, ValueError) or database_unavailable(exc):
            raise click.ClickException(f"nothing was copied: {exc}")
        raise
    finally:
        for bar in bars.values():
            bar.close()
    click.echo(f"copied {_safe_url(source)} -> {_safe_url(target)}")
    for c in copies:
        click.echo(f"  {c.table:<14} {c.rows:>10} rows  sha256 {c.checksum[:16]}  "
                   f"{'verified' if c.verified else 'NOT VERIFIED'}")


COMMANDS = (seed_command, export_command, retailer_group, analyst_group, user_group, import_command, db_group,
            migrate_data_command)


def register_commands(app: Flask) -> None:
    for command in COMMANDS:
        app.cli.add_command(command)
    from .lake_cli import register as register_lake

    register_lake(app)  # `scans …`: the scan lake
    from .demand_cli import register as register_demand

    register_demand(app)  # `demand …`: purge old searches, the searches' lake
