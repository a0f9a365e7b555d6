"""Works offline: the web app manifest, the service worker, and the page shown offline.

``/manifest.webmanifest`` makes the finder installable (its name in the page's language, the
festival's red, icons drawn by ``scripts/make_icons.py``). ``/sw.js`` is the service worker:
the hand-written ``static/js/sw.js`` preceded by its settings (``self.O2O_SW``): the asset
version that names its caches, the versioned app shell to precache (:func:`assets.shell_assets`),
the offline basemap, the cache bounds.

Why hand-written rather than Workbox: Workbox comes either as ``workbox-sw``, which loads its
modules from Google's CDN at run time (nothing may load from the internet here), or as
``workbox-build``/``-webpack-plugin``, a bundler step this app does not have, to assemble five
modules (core, routing, strategies, precaching, expiration) plus a plugin to stamp each cached
answer with its time. ``sw.js`` is 11 KB with its comments (3.3 KB brotli) and holds only what the
app needs, with no build step. The habits are Workbox's: a versioned precache
installed atomically, cache-first for content-hashed files and the basemap, network-first
with a cached fallback for pages and API answers, expiry by count, old caches deleted on
activation.

``/sw.js`` is never cached for long (``no-cache`` + ``ETag``): the browser must see a new
version at once. Its body names the version, so a new shell is a new worker.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from flask import Blueprint, Response, render_template, request, url_for
from flask_babel import gettext as _

from . import assets, i18n

ROOT = Path(__file__).resolve().parent.parent.parent
WORKER_SOURCE = ROOT / "static" / "js" / "sw.js"
THEME_COLOUR = "#d7282b"             # the top bar's red (--red in static/css/app.css)
SCHEMA = 1                           # bump when what sw.js stores changes shape
# Entries kept per cache: pages (store and brand pages, the finder, My 11.11), the store pages'
# QR codes, API answers, basemap outlines fetched for a view (cities and districts by bbox).
LIMITS = {"pages": 60, "qr": 50, "api": 30, "outlines": 60, "tiles": 300}
# One bar in a mall basement: a connection that neither answers nor fails. After this long, a page
# or an API answer already kept is shown (marked with its time) while the network goes on and
# refreshes the copy for next time; with nothing kept, the worker keeps waiting for the network.
NETWORK_TIMEOUT_MS = {"pages": 3000, "api": 4000}
ICONS = (                            # (file under static/icons, size, purpose)
    ("icon-192.png", 192, "any"),
    ("icon-512.png", 512, "any"),
    ("maskable-512.png", 512, "maskable"),
)

bp = Blueprint("offline", __name__)


def asset_version() -> str:
    """The version that names the worker's caches (the shell's one hash)."""
    return assets.asset_version()


def versioned_patterns() -> list[str]:
    """Regular expressions (JavaScript syntax) of content-hashed URLs: :func:`assets.asset_url`'s
    three forms, ``/static/x.HASH.ext``, ``/vendor/pkg/HASH/…`` and ``…?v=HASH``."""
    h = f"[0-9a-f]{{{assets.HASH_CHARS}}}"
    return [rf"^/static/.+\.{h}\.[^./?]+$", rf"^/vendor/[^/]+/{h}/", rf"[?&]v={h}$"]


def worker_settings() -> dict:
    """What ``sw.js`` is told: its caches' version, what to precache, the bounds."""
    return {
        "version": asset_version(),
        "schema": SCHEMA,
        "shell": assets.shell_assets(),
        "pages": [url_for("pages.home"), url_for("offline.offline_page")],
        "offline": url_for("offline.offline_page"),
        "basemap": [url_for("pages.outlines", level="provinces")],
        "versioned": versioned_patterns(),
        "limits": LIMITS,
        "timeouts": NETWORK_TIMEOUT_MS,
    }


def worker_script() -> bytes:
    settings = json.dumps(worker_settings(), separators=(",", ":"))
    return (f"self.O2O_SW = {settings};\n").encode() + WORKER_SOURCE.read_bytes()


@bp.get("/sw.js")
def service_worker():
    """The service worker, for the whole site (``Service-Worker-Allowed: /``), revalidated each
    time the browser checks for an update."""
    body = worker_script()
    response = Response(body, content_type="application/javascript; charset=utf-8")
    response.headers["Service-Worker-Allowed"] = "/"
    # A worker runs under its script's policy: the app's default for scripts ("default-src 'none'")
    # would forbid the worker's own fetches.
    response.headers["Content-Security-Policy"] = "default-src 'self'; base-uri 'none'"
    response.cache_control.no_cache = True
    response.set_etag(hashlib.blake2b(body, digest_size=12).hexdigest())
    return response.make_conditional(request)


def manifest() -> dict:
    """The web app manifest in the current language."""
    lang = i18n.current_lang()
    return {
        "id": "/",
        "name": _("o2o 11.11 store finder"),
        "short_name": _("11.11 stores"),
        "description": _("The stores of the 11.11 festival near you: on a map, offline too."),
        "lang": i18n.HTML_LANG[lang],
        "dir": "ltr",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "theme_color": THEME_COLOUR,
        "background_color": THEME_COLOUR,
        "categories": ["shopping", "navigation"],
        "icons": [{"src": assets.asset_url(f"icons/{name}"), "sizes": f"{size}x{size}",
                   "type": "image/png", "purpose": purpose} for name, size, purpose in ICONS],
    }


@bp.get("/manifest.webmanifest")
def web_manifest():
    """The manifest (``application/manifest+json``). Browsers fetch it without cookies, so the
    pages link it with their language: ``/manifest.webmanifest?lang=zh``."""
    body = json.dumps(manifest(), ensure_ascii=False, indent=1).encode()
    response = Response(body, content_type="application/manifest+json; charset=utf-8")
    response.cache_control.no_cache = True
    response.vary.update(("Accept-Language", "Cookie"))
    response.set_etag(hashlib.blake2b(body, digest_size=12).hexdigest())
    return response.make_conditional(request)


@bp.get("/offline")
def offline_page():
    """What the service worker shows for a page never seen, when there is no network."""
    return render_template("offline.html")


def init(app) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals["theme_colour"] = THEME_COLOUR
