"""What a process needs of the database before it starts, and the start-up lock it waits on.

Three kinds of process build the app: a server (gunicorn's workers, ``flask run``, the tests),
a ``flask`` command, and a command that looks at the schema itself (``flask db …``,
``migrate-data``). :func:`setup_for` tells them apart from the command line, in ``app.py``,
so that :func:`o2o.web.create_app` never reads ``sys.argv``; it is told (``setup=``).

Servers starting together migrate and seed once: one holds the start-up lock (a lock file
beside a SQLite database, an advisory lock on PostgreSQL) while the others wait. A command run
in a second terminal while a fresh server seeds 30,000 stores waits for the same lock, and says
so on standard error, instead of failing or hanging without a word.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from contextlib import ExitStack, contextmanager

from ..storage import open_repository

SERVE, COMMAND, SCHEMA = "serve", "command", "schema"
SETUPS = (SERVE, COMMAND, SCHEMA)
# Commands that look at or change the schema themselves: the app must not migrate it first.
SCHEMA_COMMANDS = ("db", "migrate-data")
WAITING = "the app is still setting up (another process holds the start-up lock: migrating or seeding the " \
          "database); waiting for it to finish…"
NOTICE_AFTER_S = 0.5  # a lock taken at once says nothing

log = logging.getLogger("o2o.startup")


def flask_cli_command(argv: list[str] | None = None) -> str | None:
    """The sub-command when this process is the ``flask`` command line, else None.

    >>> flask_cli_command(["/usr/bin/flask", "--app", "app", "seed", "--stores", "5"])
    'seed'
    >>> flask_cli_command(["gunicorn", "app:app"]) is None
    True
    """
    argv = sys.argv if argv is None else argv
    if not argv or os.path.basename(argv[0]) not in ("flask", "__main__.py"):
        return None
    if os.path.basename(argv[0]) == "__main__.py" and "flask" not in argv[0]:
        return None
    skip = False
    for arg in argv[1:]:
        if skip:
            skip = False
        elif arg in ("--app", "-A", "--env-file", "-e"):
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def setup_for(argv: list[str] | None = None) -> str:
    """The set-up this process needs, from its command line (``sys.argv`` unless given).

    >>> setup_for(["gunicorn", "app:app"]), setup_for(["flask", "--app", "app", "run"])
    ('serve', 'serve')
    >>> setup_for(["flask", "--app", "app", "retailer", "list"]), setup_for(["flask", "db", "version"])
    ('command', 'schema')
    """
    command = flask_cli_command(argv)
    if command in (None, "run"):
        return SERVE
    return SCHEMA if command in SCHEMA_COMMANDS else COMMAND


@contextmanager
def _notice_while_waiting(notice, after_s: float = NOTICE_AFTER_S):
    """Call ``notice()`` once if the body has not finished ``after_s`` seconds after it started."""
    timer = threading.Timer(after_s, notice)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def _tell(message: str, to_terminal: bool) -> None:
    if to_terminal:  # a command's user reads standard error
        print(message, file=sys.stderr, flush=True)
    else:
        log.warning(message)


def prepare_database(settings: dict, setup: str = SERVE) -> None:
    """Migrate the schema and, for a server on an empty database, seed the demo data, once across
    processes (under the start-up lock). A ``flask`` command only migrates, after waiting for a
    server's set-up, and says that it waits."""
    if setup == SCHEMA:
        return
    command = setup == COMMAND
    repo = open_repository(settings["DATABASE_URL"])
    try:
        waited = threading.Event()

        def notice():
            waited.set()
            _tell(WAITING, command)

        with ExitStack() as held:
            with _notice_while_waiting(notice):
                held.enter_context(repo.startup_lock())
            if waited.is_set():
                _tell("the app has finished setting up; going on", command)
            repo.migrate()
            if not command and settings["SEED_STORES"] > 0 and repo.count_stores() == 0:
                from ..services.seeding import seed

                seed(repo, settings["SEED_STORES"], settings["SEED_SCANS"], settings["RANDOM_SEED"],
                     products=settings.get("SEED_PRODUCTS"))
                from ..services.demand import seed_searches

                # half as many as the demo scans, at most O2O_SEED_SEARCHES (a test's small seed has none)
                seed_searches(repo, min(settings.get("SEED_SEARCHES", 0), settings["SEED_SCANS"] // 2),
                              settings["RANDOM_SEED"])
    finally:
        repo.close()
