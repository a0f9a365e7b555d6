"""The Flask application factory."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from flask import Flask, jsonify
from flask.sessions import SecureCookieSessionInterface

from .. import config as config_mod
from ..storage import open_repository
from . import errors
from .state import AppState

ROOT = Path(__file__).resolve().parent.parent.parent


class CachedSerializerSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the signing serializer built once instead of on
    every request (measured: ~12 µs of each API request went to rebuilding it)."""

    _cached: tuple | None = None

    def get_signing_serializer(self, app):
        key = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        if self._cached is None or self._cached[0] != key:
            self._cached = (key, super().get_signing_serializer(app))
        return self._cached[1]


# Commands that look at or change the schema themselves: the app must not migrate it first.
SCHEMA_COMMANDS = ("db", "migrate-data")


def create_app(config: dict | None = None) -> Flask:
    """Build the app: settings, database (migrated, seeded on first start), index, blueprints."""
    settings = config_mod.load(config)
    app = Flask(
        "o2o",
        root_path=str(ROOT),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
    )
    app.config["O2O"] = settings
    app.config["SECRET_KEY"] = settings["SECRET_KEY"] or config_mod.secret_key(app.instance_path)
    app.config["MAX_CONTENT_LENGTH"] = settings["MAX_UPLOAD_MB"] * 1024 * 1024
    app.config["JSON_SORT_KEYS"] = False
    app.json.sort_keys = False
    app.json.ensure_ascii = False
    app.session_interface = CachedSerializerSessions()
    if config and config.get("TESTING"):
        app.config["TESTING"] = True

    state = AppState(settings["DATABASE_URL"], settings.get("READ_DATABASE_URL"), settings["DB_BUSY_TIMEOUT_MS"])
    app.extensions["o2o"] = state
    command = flask_cli_command()
    if command not in SCHEMA_COMMANDS:
        # `flask --app app seed|import|…` must not first seed the demo data on an empty database.
        prepare_database(settings, seed_if_empty=command in (None, "run"))
        state.index_sync.load(state.repo())
        # Don't hand this process's connections to forked gunicorn workers: each opens its own.
        state.close()

    from . import compression
    compression.init(app)  # first of the after_request hooks, so it runs last (after the ETag)
    errors.register(app)
    from . import analytics, api, assets, docs, go, i18n, limits, pages, retailer

    i18n.init(app)  # Chinese by default, English on request; compiles stale catalogues

    limits.init(app, settings.get("RATELIMIT_STORAGE"), settings["SCANS_PER_MINUTE"])
    from . import security
    security.init(app)  # Content-Security-Policy and the other security headers
    from . import caching
    caching.init(app)  # ETag and 304 on the public API's GETs
    app.config["PERMANENT_SESSION_LIFETIME"] = 12 * 3600
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["WTF_CSRF_TIME_LIMIT"] = None  # valid for the session's life

    app.register_blueprint(api.bp)
    assets.init(app)  # static/ and /vendor/ under content-hashed URLs, precompressed
    app.register_blueprint(pages.bp)
    app.register_blueprint(docs.bp)
    app.register_blueprint(retailer.bp)
    app.register_blueprint(go.bp)
    app.register_blueprint(analytics.bp)

    if command in (None, "run"):
        # The text-search index is built in a background thread, started by the first request
        # rather than here: building it beside create_app would slow the start-up (the GIL).
        @app.before_request
        def _start_search_build():
            state.search_sync.ensure_started()

    @app.get("/healthz")
    def healthz():
        repo = state.repo()
        return jsonify({"status": "ok", "stores": repo.count_stores(), "worker": os.getpid()})


    return app


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


def prepare_database(settings: dict, seed_if_empty: bool = True) -> None:
    """Migrate the schema and, on an empty database, seed the demo data, once across workers.

    Several gunicorn workers may start at once; a lock file beside the database makes one of
    them seed while the others wait, then find the stores there.
    """
    repo = open_repository(settings["DATABASE_URL"])
    try:
        with repo.startup_lock():
            repo.migrate()
            if seed_if_empty and settings["SEED_STORES"] > 0 and repo.count_stores() == 0:
                from ..services.seeding import seed

                seed(repo, settings["SEED_STORES"], settings["SEED_SCANS"], settings["RANDOM_SEED"])
    finally:
        repo.close()
