"""The Flask application factory."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, jsonify
from flask.sessions import SecureCookieSessionInterface

from .. import config as config_mod
from . import errors
from .startup import SERVE, SETUPS, flask_cli_command, prepare_database  # noqa: F401  (re-exported)
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


def create_app(config: dict | None = None, setup: str = SERVE) -> Flask:
    """Build the app: settings, database (migrated, seeded on first start), index, blueprints.

    ``setup`` is what this process needs of the database (:mod:`o2o.web.startup`): ``"serve"``
    (a server, the tests: migrated, seeded if empty, the index loaded), ``"command"`` (a ``flask``
    command: migrated once a server's set-up is done, nothing seeded) or ``"schema"`` (``flask db
    …``: untouched). ``app.py`` decides it from the command line; this function reads no ``sys.argv``.
    """
    if setup not in SETUPS:
        raise ValueError(f"setup must be one of {', '.join(SETUPS)}, not {setup!r}")
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
    app.json.sort_keys = False
    app.json.ensure_ascii = False
    app.session_interface = CachedSerializerSessions()
    if config and config.get("TESTING"):
        app.config["TESTING"] = True

    state = AppState(settings["DATABASE_URL"], settings.get("READ_DATABASE_URL"), settings["DB_BUSY_TIMEOUT_MS"])
    app.extensions["o2o"] = state
    # `flask --app app seed|import|…` must not first seed the demo data on an empty database.
    prepare_database(settings, setup)
    if setup == SERVE:
        state.index_sync.load(state.repo())
        # Don't hand this process's connections to forked gunicorn workers: each opens its own.
        state.close()

    from . import compression
    compression.init(app)  # first of the after_request hooks, so it runs last (after the ETag)
    errors.register(app)
    from . import degrade
    degrade.init(app, state, setup == SERVE)  # change feed; answers from memory and a scan spool in an outage
    from . import observability
    observability.init(app, state)  # request ids, the request log and /metrics: first hook in, last out
    from . import analytics, api, assets, docs, go, i18n, limits, offline, pages, retailer

    i18n.init(app)  # Chinese by default, English on request; compiles stale catalogues

    limits.init(app, settings.get("RATELIMIT_STORAGE"), settings["SCANS_PER_MINUTE"], settings["SIGN_INS_PER_MINUTE"])
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
    from . import demand
    app.register_blueprint(demand.bp)  # searches kept privately; demand for analysts and retailers (issue 17)
    from . import products
    app.register_blueprint(products.bp)  # products and stock (issue 15)
    from . import product_pages
    app.register_blueprint(product_pages.bp)  # /products/{id}
    from . import ogc
    app.register_blueprint(ogc.bp)  # /ogc: OGC API - Features (issue 16)
    from . import seo
    seo.init(app)  # the store directory, /sitemap.xml, /robots.txt, canonical URLs, JSON-LD (issue 16)
    from . import people
    people.init(app)  # /login, /logout, set-up links, the account page, /api/v1/users and /keys
    offline.init(app)  # the web app manifest, the service worker, the offline page
    from . import tiles
    tiles.init(app)  # /tiles/stores/{z}/{x}/{y}.mvt (vector tiles from the index)

    if setup == SERVE:
        # The text-search index is built in a background thread, started by the first request
        # rather than here: building it beside create_app would slow the start-up (the GIL).
        @app.before_request
        def _start_search_build():
            state.search_sync.ensure_started()
            products.catalogue_cache(app).ensure_started()  # the products' search index, likewise

        from . import fastpath
        fastpath.install(app)  # plain nearby searches answered below Flask, byte for byte the same

    @app.get("/healthz")
    def healthz():
        repo = state.repo()
        body = {"status": "ok", "stores": repo.count_stores(), "worker": os.getpid(),
                "memory": {"ready": state.search_sync.ready, "lag_s": round(state.stale_s(), 3)}}
        if repo.storage_full():  # reads go on; every write fails with 507 storage_full
            body.update(status="storage_full", storage="full: writes fail until space is freed")
            return jsonify(body), 503
        return jsonify(body)


    return app
