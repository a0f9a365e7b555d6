"""Moving a whole database from one backend to another (SQLite → PostGIS, or back), losing nothing.

Every table is copied in id order, in pages, with ids kept, inside one transaction on the target;
then the target is read back in the same transaction and each table's row count and SHA-256 over
its canonical rows must equal the source's, or the whole copy is rolled back. The revision marks
come along, so app servers pointed at the new database keep their indexes' bookkeeping.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Callable

from ..storage import open_repository
from ..storage.base import TABLES


class MigrationError(Exception):
    pass


@dataclass
class TableCopy:
    table: str
    rows: int
    checksum: str
    verified: bool = False


def _digest(rows, h) -> None:
    for row in rows:
        h.update(repr(row).encode("utf-8"))
        h.update(b"\n")


def table_checksums(repo, batch_size: int = 50_000) -> dict[str, tuple[int, str]]:
    """(rows, sha256) of every table, over canonical rows in id order."""
    out = {}
    for table in TABLES:
        h, n = hashlib.sha256(), 0
        for batch in repo.dump_table(table, batch_size):
            _digest(batch, h)
            n += len(batch)
        out[table] = (n, h.hexdigest())
    return out


def migrate_data(source_url: str, target_url: str, batch_size: int = 50_000,
                 progress: Callable[[str, int], None] | None = None) -> list[TableCopy]:
    """Copy everything from ``source_url`` into the empty database at ``target_url``; verify it."""
    if source_url == target_url:
        raise MigrationError("--from and --to name the same database")
    source, target = open_repository(source_url), open_repository(target_url)
    try:
        if source.schema_version() != source.latest_version():
            source.migrate()  # an older embedded database is upgraded first, as the app would
        target.migrate()
        if target.list_retailers() or target.count_stores() or target.count_scans():
            raise MigrationError("the target database is not empty: migrate into a new database")
        marks = source.sync_marks()
        scans_before = source.count_scans()
        copies: list[TableCopy] = []
        with target.transaction():
            for table in TABLES:
                h, n = hashlib.sha256(), 0
                for batch in source.dump_table(table, batch_size):
                    target.load_table(table, batch)
                    _digest(batch, h)
                    n += len(batch)
                    if progress:
                        progress(table, len(batch))
                copies.append(TableCopy(table, n, h.hexdigest()))
            target.finish_load(*marks)
            # Signed-out sessions too, or a cookie signed out before the move would work again.
            for sid, expires_at in source.ended_sessions():
                target.end_session(sid, expires_at)
            if source.sync_marks() != marks or source.count_scans() != scans_before:
                raise MigrationError("the source changed while it was copied (stop writes and run again)")
            # Read the copy back before committing: any difference rolls all of it back.
            copied = table_checksums(target, batch_size)
            for c in copies:
                if copied[c.table] != (c.rows, c.checksum):
                    raise MigrationError(
                        f"{c.table}: the copy differs from the source ({copied[c.table][0]} rows, "
                        f"sha256 {copied[c.table][1][:12]}… against {c.rows} rows, {c.checksum[:12]}…)")
                c.verified = True
        return copies
    finally:
        source.close()
        target.close()
